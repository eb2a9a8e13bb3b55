/**
 * `if-convert`: if-conversion of two-way branches into `select`s, for code size (LLVM's
 * SimplifyCFG `FoldTwoEntryPHINode` / `SpeculativelyExecuteBB`, and its return merging).
 *
 *   returns   `condbr c, T, F` where T and F are reached only from this branch and only
 *             return (`ret a`, `ret b`) becomes `ret (select c, a, b)`: one shared `exit`,
 *             `r0 = b; if c r0 = a` instead of a jump and two `r0 = K; exit` pairs
 *             (5 slots → 4 with the compare fused; what clang emits for `c ? A : B`)
 *   joins     a diamond (`condbr c, T, F`, T and F only jump to J) or a triangle
 *             (`condbr c, T, J`, T only jumps to J) becomes `br J`, each phi of J whose
 *             two arms differ getting `select c, a, b` from B — when at most `phis` phis
 *             differ: the backend lowers a select to a move (which often coalesces away)
 *             and a conditional move `if (c) dst = x` (a jump over one move), so one
 *             select costs no more than the branch and phi copies it replaces
 *
 *   tags      a phi of two constants at a join J whose idom B branches on c, each edge
 *             into J coming from one side of that branch (`phi [3, T-side], [0, F-side]`:
 *             the front end's "is this a value or nil" tag), used only by compares with
 *             constants: each compare becomes what it is on each side — a constant, c
 *             itself, or c inverted — so the tag and its copies disappear and the later
 *             test repeats B's (the backend recomputes a compare at each branch on it)
 *
 * An arm may hold up to `speculate` instructions besides its jump or return, when they
 * are speculatable (pure, or loads that cannot trap: ir `isSpeculatable`); they move
 * above the branch and then run on both paths (fewer slots, one or two more processed
 * instructions on the other path). Arms with a phi, a second predecessor, or a
 * non-speculatable instruction are left alone.
 *
 * Changes the CFG (removes the arm blocks). Cost: O(blocks + instructions).
 */
import {
  incomingValueOfEdge,
  INVERTED_COMPARE,
  isConstant,
  isInstruction,
  isSpeculatable,
  type BasicBlock,
  type CompareOpcode,
  type DominatorTree,
  type Function,
  type Instruction,
  type Value,
} from "@luabpf/ir";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { evaluate } from "../util/fold.js";
import { eraseDeadTree } from "../util/ir.js";
import { censusAnalysis } from "../analysis/census.js";

/** The instructions of arm `bb` before its terminator, if it is a convertible arm of `from`. */
function armBody(bb: BasicBlock, from: BasicBlock, limit: number): Instruction[] | undefined {
  if (bb.preds.length !== 1 || bb.preds[0] !== from) return undefined;
  const body: Instruction[] = [];
  for (let i = bb.first; i && i !== bb.terminator; i = i.next) {
    if (i.opcode === "phi" || !isSpeculatable(i) || body.length >= limit) return undefined;
    body.push(i);
  }
  return body;
}

/** The single target of arm `bb` when it ends in `br`. */
function jumpTarget(bb: BasicBlock): BasicBlock | undefined {
  const t = bb.terminator;
  return t?.opcode === "br" ? t.targets[0] : undefined;
}

/** Builds `select c, a, b` before `pos` (or returns a when both arms agree). */
function selectBefore(fn: Function, pos: Instruction, c: Value, a: Value, b: Value): Value {
  if (a === b) return a;
  const sel = fn.createInstruction("select", a.type, a.type, [c, a, b]);
  sel.loc = pos.loc;
  sel.insertBefore(pos);
  return sel;
}

/** Moves the arms' instructions above B's branch. */
function hoist(body: readonly Instruction[], term: Instruction): void {
  for (const i of body) i.moveBefore(term);
}

/** Replaces B's terminator by `inst`, appended to B. */
function replaceTerminator(bb: BasicBlock, inst: Instruction): void {
  const term = bb.terminator!;
  inst.loc = term.loc;
  term.erase();
  bb.append(inst);
}

export const ifConvert = defineFunctionPass({
  name: "if-convert",
  description: "if-conversion: branches whose two arms only return, or only pass values to a join, become selects (one shared exit, a conditional move instead of jumps)",
  options: {
    speculate: { type: "integer", min: 0, default: 1, description: "speculatable instructions an arm may hold (they then run on both paths)" },
    phis: { type: "integer", min: 0, default: 1, description: "phis of a join that may become selects" },
  },
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("condbr") > 0,
  run(fn, ctx, { speculate, phis }) {
    let changed = false;
    for (let again = true; again; ) {
      again = false;
      for (const bb of fn.blocks) {
        if (bb.parent !== fn) continue; // removed in this round
        if (convert(fn, bb, ctx, speculate, phis)) changed = again = true;
      }
    }
    // The tags rewrite reads dominators of the CFG as the conversions left it.
    if (changed) ctx.analyses.invalidate();
    if (foldTags(fn, ctx)) changed = true;
    return changed;
  },
});

/** Converts the branch ending `bb` if it is a convertible shape; says whether it did. */
function convert(fn: Function, bb: BasicBlock, ctx: FunctionPassContext, speculate: number, phis: number): boolean {
    {
      const term = bb.terminator;
      if (term?.opcode !== "condbr") return false;
      const [t, f] = [term.targets[0]!, term.targets[1]!];
      if (t === f || t === bb || f === bb) return false;
      const c = term.operands[0]!;
      const tBody = armBody(t, bb, speculate);
      const fBody = armBody(f, bb, speculate);

      // Both arms return: one shared exit.
      const tRet = t.terminator;
      const fRet = f.terminator;
      if (tBody && fBody && tRet?.opcode === "ret" && fRet?.opcode === "ret" && tRet.operands.length === 1 && fRet.operands.length === 1) {
        hoist(tBody, term);
        hoist(fBody, term);
        const v = selectBefore(fn, term, c, tRet.operands[0]!, fRet.operands[0]!);
        replaceTerminator(bb, fn.createInstruction("ret", tRet.type, tRet.typeParam, [v]));
        fn.removeBlock(t);
        fn.removeBlock(f);
        ctx.stat("returns-merged");
        return true;
      }

      // A diamond or a triangle into J.
      let join: BasicBlock | undefined;
      let arms: { bb: BasicBlock; body: Instruction[] }[];
      if (tBody && fBody && jumpTarget(t) !== undefined && jumpTarget(t) === jumpTarget(f)) {
        join = jumpTarget(t)!;
        arms = [{ bb: t, body: tBody }, { bb: f, body: fBody }];
      } else if (tBody && jumpTarget(t) === f) {
        join = f;
        arms = [{ bb: t, body: tBody }];
      } else if (fBody && jumpTarget(f) === t) {
        join = t;
        arms = [{ bb: f, body: fBody }];
      } else return false;
      if (join === bb || arms.some((a) => a.bb === join)) return false;
      // The value each phi of J receives along the true and the false side.
      const from = (side: BasicBlock, phi: Instruction): Value => incomingValueOfEdge(phi, side === join ? bb : side, 0);
      const pairs = join.phis().map((phi) => ({ phi, a: from(t, phi), b: from(f, phi) }));
      if (pairs.filter((p) => p.a !== p.b).length > phis) return false;
      for (const arm of arms) hoist(arm.body, term);
      const values = pairs.map((p) => selectBefore(fn, term, c, p.a, p.b));
      for (const { phi } of pairs) {
        for (const arm of arms) phi.removeIncoming(arm.bb);
        if (phi.incomingIndex(bb) >= 0) phi.removeIncoming(bb);
      }
      const br = fn.createInstruction("br", term.type, term.typeParam);
      br.targets.push(join);
      replaceTerminator(bb, br);
      pairs.forEach(({ phi }, k) => phi.addIncoming(values[k]!, bb));
      for (const arm of arms) {
        arm.bb.terminator!.erase();
        fn.removeBlock(arm.bb);
      }
      ctx.stat("joins-converted");
      return true;
    }
}

/**
 * Which side of `b`'s branch (`condbr c, T, F`) the edge `p → j` comes from: true, false,
 * or undefined when it could come from either.
 */
function sideOf(b: BasicBlock, p: BasicBlock, j: BasicBlock, dt: DominatorTree): boolean | undefined {
  const [t, f] = b.terminator!.targets as [BasicBlock, BasicBlock];
  if (p === b) return t === j ? true : f === j ? false : undefined;
  const within = (arm: BasicBlock): boolean => arm !== j && arm.preds.length === 1 && dt.dominates(arm, p);
  if (within(t)) return true;
  if (within(f)) return false;
  return undefined;
}

/** The "tags" rewrite (see the file comment). */
function foldTags(fn: Function, ctx: FunctionPassContext): boolean {
  let dt: DominatorTree | undefined;
  let changed = false;
  for (const j of fn.blocks) {
    if (j.preds.length !== 2 || j.preds[0] === j.preds[1] || !j.first?.isPhi) continue;
    const tree = (dt ??= ctx.analyses.get(dominatorTreeAnalysis));
    const b = tree.idom(j);
    const term = b?.terminator;
    if (!b || term?.opcode !== "condbr" || term.targets[0] === term.targets[1]) continue;
    const c = term.operands[0]!;
    const sides = j.preds.map((p) => sideOf(b, p, j, tree));
    if (sides[0] === undefined || sides[1] === undefined || sides[0] === sides[1]) continue;
    for (const phi of j.phis()) {
      const [k0, k1] = [phi.operands[0]!, phi.operands[1]!];
      if (!isConstant(k0) || !isConstant(k1) || phi.type.kind !== "int") continue;
      const onTrue = sides[phi.incoming[0] === j.preds[0] ? 0 : 1] ? k0 : k1;
      const onFalse = onTrue === k0 ? k1 : k0;
      const uses = [...phi.uses];
      if (uses.length === 0) continue;
      const plans = uses.map((u) => {
        const cmp = u.user;
        if (cmp.info.shape !== "compare" || cmp.typeParam !== phi.type) return undefined;
        const other = cmp.operands[1 - u.index]!;
        if (!isConstant(other) || cmp.operands[0] === cmp.operands[1]) return undefined;
        const at = (k: Value): bigint => {
          const args = u.index === 0 ? [(k as typeof other).value, other.value] : [other.value, (k as typeof other).value];
          return evaluate(cmp.opcode as CompareOpcode, cmp.typeParam, cmp.type, args);
        };
        const [vt, vf] = [at(onTrue), at(onFalse)];
        if (vt === vf) return { cmp, value: fn.constant(cmp.type, vt) as Value };
        if (!isInstruction(c) || c.info.shape !== "compare" || c.type !== cmp.type) return undefined;
        return { cmp, value: vt !== 0n ? (c as Value) : undefined, invert: vt === 0n };
      });
      if (plans.some((x) => x === undefined)) continue;
      for (const plan of plans) {
        let v = plan!.value;
        if (!v) {
          const cond = c as Instruction;
          const inv = fn.createInstruction(INVERTED_COMPARE[cond.opcode as CompareOpcode], cond.type, cond.typeParam, [...cond.operands]);
          inv.loc = plan!.cmp.loc;
          inv.insertBefore(plan!.cmp);
          v = inv;
        }
        plan!.cmp.replaceAllUsesWith(v);
        eraseDeadTree(plan!.cmp);
      }
      ctx.stat("tags-folded");
      changed = true;
    }
  }
  return changed;
}
