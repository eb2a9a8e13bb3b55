/**
 * `range-simplify`: rewrites what the value ranges (analysis/value-ranges.ts) prove —
 * the facts the eBPF verifier itself tracks (zero-extended 32-bit context loads, masks,
 * compares), used the way LLVM's CorrelatedValuePropagation and InstCombine's known-bits
 * folds use them:
 *
 *   constant    a pure value (or phi) whose range is one value becomes that constant
 *   branch      `condbr` on a condition the ranges decide becomes `br`; blocks no path
 *               reaches are removed (a superset of SCCP's folding)
 *   compare     signed compares of operands known non-negative become unsigned;
 *               `xor (cmp a, b), 1` becomes the inverted compare;
 *               `cmp (x + c), k` (single use of the add, no wrap in the compare's
 *               signedness) becomes `cmp x, k - c` — `skb.len - 100 < 0` is `len < 100`
 *   mask        `and x, m` keeping every bit x may have, `or x, m` setting only bits x
 *               has, `urem x, y` with x < y, `zext (trunc x)` of a value that fits: x
 *   sign        `sext`, `sdiv`, `srem`, `ashr` of non-negative operands become `zext`,
 *               `udiv`, `urem`, `lshr` (cheaper in eBPF, and foldable by strength-reduce)
 *   sign bit    `lshr (sub y, x), 63` with x and y non-negative is `ult y, x` (the difference
 *               cannot overflow), when only shifts that scale a boolean use it (instcombine
 *               then makes each a select: util/ir.ts booleanScale; math.log2's steps)
 *   select      `select c, a, b` with c decided becomes its arm
 *   thread      a block made of phis (used inside it or by its targets), pure instructions used only inside it and a
 *               `condbr` whose condition the ranges decide for the values arriving from a
 *               predecessor P: P jumps straight to the decided target (jump threading with
 *               ranges; simplify-cfg threads only on constants)
 *
 * Every operand's range is taken in the block of the instruction rewritten (narrowed by the
 * branches dominating it), so a rewrite holds wherever the instruction runs. Preserves the
 * CFG analyses when no branch changed. Cost: the analysis, plus O(instructions).
 */
import {
  bitsOf,
  INVERTED_COMPARE,
  foldConditionalBranch,
  isConstant,
  isInstruction,
  redirectBranch,
  removeUnreachableBlocks,
  SWAPPED_COMPARE,
  type BasicBlock,
  type CompareOpcode,
  type Function,
  type Instruction,
  type DominatorTree,
  type Opcode,
  type Use,
  type Value,
} from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis, dominatorTreeAnalysis } from "../analysis/cfg.js";
import { transferRange, valueRangesAnalysis, type ValueRanges } from "../analysis/value-ranges.js";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { isFoldable } from "../util/fold.js";
import { booleanScale, eraseDeadTree, usedOnlyIn } from "../util/ir.js";
import { constantOf, refineByCompare, constantRange, type Range } from "../util/range-lattice.js";

const UNSIGNED_OF: Partial<Record<CompareOpcode, CompareOpcode>> = { slt: "ult", sle: "ule", sgt: "ugt", sge: "uge" };
const UNSIGNED = new Set<CompareOpcode>(["ult", "ule", "ugt", "uge"]);
/** The opcodes of {@link simplify}'s rules after the compares (the ones that read their operands' ranges). */
const RANGE_RULES = new Set<Opcode>(["and", "or", "xor", "urem", "lshr", "zext", "select", "sext", "ashr", "sdiv", "srem"]);
const ones = (bits: number): bigint => (1n << BigInt(bits)) - 1n;

/** Replaces `inst` by a new instruction `op T operands` placed before it. */
function rebuild(fn: Function, inst: Instruction, op: Opcode, operands: Value[], typeParam = inst.typeParam): Instruction {
  const repl = fn.createInstruction(op, inst.type, typeParam, operands);
  repl.loc = inst.loc;
  repl.insertBefore(inst);
  inst.replaceAllUsesWith(repl);
  eraseDeadTree(inst);
  return repl;
}

/** Does `r` exclude zero (never zero), include only zero, or neither? */
function zeroness(r: Range): "nonzero" | "zero" | undefined {
  if (constantOf(r) === 0n) return "zero";
  return refineByCompare(r, "eq", constantRange(r.bits, 0n), true) === undefined ? "nonzero" : undefined;
}

/**
 * `cmp (x + c), k` as `cmp x, k - c` when that is exact: always for eq/ne (adding c is a
 * bijection), for unsigned compares when x + c does not wrap around 0 or 2^N for any x in
 * its range, for signed ones when it does not overflow; and k - c must be a value of the type.
 */
function foldOffsetCompare(fn: Function, cmp: Instruction, ranges: ValueRanges, ctx: FunctionPassContext): Instruction | undefined {
  let op = cmp.opcode as CompareOpcode;
  let [a, b] = [cmp.operands[0]!, cmp.operands[1]!];
  if (isConstant(a) && !isConstant(b)) {
    [a, b] = [b, a];
    op = SWAPPED_COMPARE[op];
  }
  if (!isConstant(b) || !isInstruction(a) || a.useCount !== 1) return undefined;
  if (a.opcode !== "add" && a.opcode !== "sub") return undefined;
  const [x, cv] = [a.operands[0]!, a.operands[1]!];
  if (!isConstant(cv) || isConstant(x)) return undefined;
  const bits = bitsOf(a.type);
  const c = a.opcode === "add" ? BigInt.asIntN(bits, cv.value) : -BigInt.asIntN(bits, cv.value);
  const rx = ranges.rangeAt(x, cmp.block!);
  if (!rx) return undefined;
  let k: bigint;
  if (op === "eq" || op === "ne") k = b.value - c;
  else if (UNSIGNED.has(op)) {
    const ku = BigInt.asUintN(bits, b.value) - c;
    if (rx.umin + c < 0n || rx.umax + c > ones(bits) || ku < 0n || ku > ones(bits)) return undefined;
    k = ku;
  } else {
    const ks = BigInt.asIntN(bits, b.value) - c;
    const [lo, hi] = [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
    if (rx.smin + c < lo || rx.smax + c > hi || ks < lo || ks > hi) return undefined;
    k = ks;
  }
  ctx.stat("compares-offset-folded");
  return rebuild(fn, cmp, op, [x, fn.constant(b.type, k)]);
}

/** One rewrite of `inst`: false (none), true (done), or the new instruction to look at again. */
function simplify(fn: Function, inst: Instruction, ranges: ValueRanges, ctx: FunctionPassContext): boolean | Instruction {
  const bb = inst.block!;
  const op = inst.opcode;
  const at = (v: Value) => ranges.rangeAt(v, bb);
  const replace = (v: Value, stat: string): boolean => {
    inst.replaceAllUsesWith(v);
    eraseDeadTree(inst);
    ctx.stat(stat);
    return true;
  };

  const info = inst.info; // (a lookup by opcode name: read once)
  // A value the ranges pin down.
  if (bitsOf(inst.type) && inst.type.kind === "int" && (info.pure || inst.isPhi) && !info.sideEffects) {
    const r = ranges.rangeOf(inst);
    const k = r && constantOf(r);
    if (k !== undefined) return replace(fn.constant(inst.type, k), "constants-folded");
  }

  if (info.shape === "compare" && inst.typeParam.kind === "int") {
    const folded = foldOffsetCompare(fn, inst, ranges, ctx);
    if (folded) return folded;
    const unsigned = UNSIGNED_OF[op as CompareOpcode];
    if (!unsigned) return false;
    const [ra, rb] = [at(inst.operands[0]!), at(inst.operands[1]!)];
    if (ra && rb && ra.smin >= 0n && rb.smin >= 0n) {
      ctx.stat("compares-unsigned");
      return rebuild(fn, inst, unsigned, [...inst.operands]);
    }
    return false;
  }
  // Only the rules below that read an operand's range ask for it (each is narrowed by the
  // dominating branches: not free).
  if (!RANGE_RULES.has(op)) return false;
  const [a, b] = [inst.operands[0], inst.operands[1]];
  const ra = a && at(a);
  const rb = b && at(b);
  switch (op) {
    case "and": {
      const m = rb && constantOf(rb);
      if (ra && m !== undefined && ((ra.value | ra.mask) & ~BigInt.asUintN(ra.bits, m)) === 0n) return replace(a!, "masks-removed");
      return false;
    }
    case "or": {
      const m = rb && constantOf(rb);
      if (ra && m !== undefined && (BigInt.asUintN(ra.bits, m) & ~ra.value) === 0n) return replace(a!, "masks-removed");
      return false;
    }
    case "xor": {
      // `xor (cmp a, b), 1` (a negated condition) is the inverted compare.
      if (isInstruction(a!) && a.info.shape === "compare" && a.useCount === 1 && rb && constantOf(rb) === 1n) {
        ctx.stat("compares-inverted");
        const cmp = a;
        const repl = fn.createInstruction(INVERTED_COMPARE[cmp.opcode as CompareOpcode], inst.type, cmp.typeParam, [...cmp.operands]);
        repl.loc = inst.loc;
        repl.insertBefore(inst);
        return replace(repl, "compares-inverted");
      }
      return false;
    }
    case "urem":
      if (ra && rb && rb.umin > 0n && ra.umax < rb.umin) return replace(a!, "remainders-removed");
      break;
    case "lshr": {
      // The sign of a difference that cannot overflow is an unsigned compare (both are
      // non-negative), worth it only where the 0/1 is scaled into a select.
      if (!isInstruction(a!, "sub") || a.useCount !== 1 || !rb || constantOf(rb) !== 63n || bitsOf(inst.type) !== 64) return false;
      if (!inst.uses.every((u) => u.index === 0 && booleanScale(u.user) !== undefined)) return false;
      const [y, x] = [a.operands[0]!, a.operands[1]!];
      const [ry, rx] = [at(y), at(x)];
      if (!ry || !rx || ry.smin < 0n || rx.smin < 0n) return false;
      ctx.stat("sign-bits-compared");
      return rebuild(fn, inst, isConstant(y) ? "ugt" : "ult", isConstant(y) ? [x, y] : [y, x]);
    }
    case "zext": {
      // zext (trunc x to N) back to x's type, when x fits in N bits.
      if (isInstruction(a!, "trunc") && a.operands[0]!.type === inst.type) {
        const rx = at(a.operands[0]!);
        if (rx && rx.umax <= ones(bitsOf(a.type))) return replace(a.operands[0]!, "extensions-removed");
      }
      return false;
    }
    case "select": {
      const z = ra && zeroness(ra);
      if (z) return replace(inst.operands[z === "nonzero" ? 1 : 2]!, "selects-folded");
      return false;
    }
  }
  if (ra && ra.smin >= 0n) {
    const nonNegB = !rb || rb.smin >= 0n;
    const unsignedOp = op === "sext" ? "zext" : op === "ashr" ? "lshr" : nonNegB && op === "sdiv" ? "udiv" : nonNegB && op === "srem" ? "urem" : undefined;
    if (unsignedOp) {
      ctx.stat("signed-to-unsigned");
      return rebuild(fn, inst, unsignedOp, [...inst.operands]);
    }
  }
  return false;
}

/**
 * Jump threading with ranges: for a block of phis, pure instructions used only inside it
 * and a condbr, evaluates the condition with the ranges arriving from each predecessor;
 * where that decides it, the predecessor jumps straight to the target. The block's phis may
 * be used outside it in the region of a target whose only predecessor is the block: the
 * target then gets a phi merging the block's phi with the values the threaded
 * predecessors send, and the region uses that (a small SSA update).
 */
function threadJumps(fn: Function, ranges: ValueRanges, dt: DominatorTree, ctx: FunctionPassContext): boolean {
  // Decide on the unchanged CFG (the ranges' dominance facts refer to it), then redirect.
  const plans: { bb: BasicBlock; sides: [BasicBlock[], BasicBlock[]]; single: boolean[] }[] = [];
  for (const bb of fn.blocks) {
    if (bb === fn.entry || bb.terminator?.opcode !== "condbr" || !ranges.isExecutable(bb)) continue;
    const targets = bb.terminator.targets;
    if (targets[0] === targets[1] || targets.includes(bb)) continue;
    let ok = true;
    for (let i = bb.first; i && ok; i = i.next) {
      if (i.opcode === "condbr") continue;
      // A phi may be used in the block (not by phis), where a target alone dominates the use
      // (it gets a merge phi), or by a phi of a target along the edge from this block (the
      // threaded edge brings the predecessor's value instead).
      if (i.isPhi)
        ok = i.uses.every((u) =>
          u.user.block === bb
            ? !u.user.isPhi
            : (u.user.isPhi && targets.includes(u.user.block!) && u.user.incoming[u.index] === bb) ||
              targets.some((t) => t.preds.length === 1 && dt.dominates(t, useBlock(u))),
        );
      else ok = isFoldable(i.opcode) && usedOnlyIn(i, bb);
    }
    if (!ok) continue;
    // Into a loop header only from outside the loop, and only to a block the header alone
    // enters (it becomes the header): a second way into a loop would make it irreducible.
    const header = bb.preds.some((q) => dt.dominates(bb, q));
    const sides: [BasicBlock[], BasicBlock[]] = [[], []];
    for (const p of [...new Set(bb.preds)]) {
      if (p === bb || bb.preds.filter((x) => x === p).length !== 1 || !ranges.isExecutable(p)) continue;
      const decided = conditionFrom(bb, p, ranges);
      if (decided === undefined) continue;
      const target = targets[decided ? 0 : 1]!;
      if (target.first?.isPhi && target.preds.includes(p)) continue;
      if (header && (dt.dominates(bb, p) || target.preds.length !== 1)) continue;
      sides[decided ? 0 : 1].push(p);
    }
    if (sides[0].length + sides[1].length > 0) plans.push({ bb, sides, single: targets.map((t) => t.preds.length === 1) });
  }
  // Every plan was decided on the CFG before any redirection, and applying one changes what
  // another may rest on: a block whose predecessors jump past it no longer dominates the
  // targets they now reach (nor their regions, where a plan places merges), a target gains
  // merge phis (phis the plan of that block never saw), a predecessor's branch now goes
  // elsewhere. A plan that meets an applied one that way is left to the pass's next run.
  const bypassed = new Set<BasicBlock>();
  const merged = new Set<BasicBlock>();
  const redirected = new Set<BasicBlock>();
  let applied = false;
  for (const { bb, sides, single } of plans) {
    if (merged.has(bb) || redirected.has(bb) || bb.terminator!.targets.some((t) => bypassed.has(t))) continue;
    if (sides.some((preds) => preds.some((p) => redirected.has(p)))) continue;
    bypassed.add(bb);
    for (const preds of sides) for (const p of preds) redirected.add(p);
    applied = true;
    const phis = bb.phis();
    sides.forEach((preds, side) => {
      if (preds.length === 0) return;
      const target = bb.terminator!.targets[side]!;
      const sent = preds.map((p) => new Map(phis.map((phi) => [phi as Value, phi.incomingValue(p)])));
      const through = (v: Value, k: number): Value => sent[k]!.get(v) ?? v;
      // The target's own phis (it has no edge from these predecessors yet).
      preds.forEach((p, k) => {
        redirectBranch(p, bb, target, (phi) => through(phi.incomingValue(bb), k));
        ctx.stat("jumps-threaded");
      });
      // Uses of the block's phis in the target's region now see a merge of both ways in. Only
      // a target the block alone entered has such a region (the plan's condition): another
      // target may dominate the block (a loop header), and its "region" would take in the other
      // side's uses and merges, which read the phi on the edge from the block.
      if (!single[side]) return;
      for (const phi of phis) {
        const outside = phi.uses.filter((u) => u.user.block !== bb && useBlock(u) !== bb && dt.dominates(target, useBlock(u)));
        if (outside.length === 0) continue;
        const merge = fn.createInstruction("phi", phi.type, phi.type);
        for (const from of target.preds) {
          const k = preds.indexOf(from);
          merge.addIncoming(k >= 0 ? through(phi, k) : phi, from);
        }
        target.prepend(merge);
        merged.add(target);
        for (const u of outside) if (u.user !== merge) u.user.setOperand(u.index, merge);
      }
    });
  }
  return applied;
}

/** The block a use reads its value in (a phi reads it at the end of the incoming block). */
function useBlock(u: Use): BasicBlock {
  return u.user.isPhi ? u.user.incoming[u.index]! : u.user.block!;
}

/** `bb`'s branch condition decided with the ranges arriving from predecessor `p`, if it is. */
function conditionFrom(bb: BasicBlock, p: BasicBlock, ranges: ValueRanges): boolean | undefined {
  const known = new Map<Value, Range>();
  const onEdge = ranges.rangesOnEdge(p, bb);
  const rangeFrom = (v: Value): Range | undefined => known.get(v) ?? onEdge(v);
  for (let i = bb.first; i; i = i.next) {
    if (i.isPhi) {
      const r = onEdge(i.incomingValue(p));
      if (r) known.set(i, r);
      continue;
    }
    if (i.opcode === "condbr") {
      const r = rangeFrom(i.operands[0]!);
      const z = r && zeroness(r);
      return z === undefined ? undefined : z === "nonzero";
    }
    const ops: Range[] = [];
    for (const o of i.operands) {
      const r = rangeFrom(o);
      if (!r) break;
      ops.push(r);
    }
    if (ops.length !== i.operands.length) continue;
    const r = transferRange(i, ops);
    if (r) known.set(i, r);
  }
  return undefined;
}

export const rangeSimplify = defineFunctionPass({
  name: "range-simplify",
  description: "simplify with value ranges and known bits (as the verifier tracks them): fold decided values and branches, drop masks and extensions, unsigned compares, thread jumps",
  run(fn, ctx) {
    const ranges = ctx.analyses.get(valueRangesAnalysis);
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const order = ctx.analyses.get(blockOrderAnalysis).rpo;
    let changed = false;
    let cfgChanged = false;
    let executable = 0;
    for (const bb of order) {
      if (!ranges.isExecutable(bb)) continue;
      executable++;
      for (const i of bb.instructions()) {
        let cur: Instruction | undefined = i;
        for (let round = 0; cur?.block && cur.type.kind !== "void" && round < 4; round++) {
          const r = simplify(fn, cur, ranges, ctx);
          if (r === false) break;
          changed = true;
          cur = r === true ? undefined : r;
        }
      }
      const term = bb.terminator;
      if (term?.opcode === "condbr" && term.targets[0] !== term.targets[1]) {
        const [t, f] = [ranges.isEdgeExecutable(bb, 0), ranges.isEdgeExecutable(bb, 1)];
        if (t !== f) {
          foldConditionalBranch(bb, t);
          ctx.stat("branches-folded");
          changed = cfgChanged = true;
        }
      }
    }
    // Folding removed edges only: every execution of the function is one of before, so the
    // ranges still hold and threading may use them. (Every block executable and no branch
    // folded: every block is reachable, and nothing is to be removed before threading.)
    let removed = cfgChanged || executable !== fn.blocks.length ? removeUnreachableBlocks(fn) : 0;
    if (threadJumps(fn, ranges, dt, ctx)) {
      changed = cfgChanged = true;
      removed += removeUnreachableBlocks(fn);
    }
    if (removed > 0) {
      ctx.stat("blocks-unreachable", removed);
      changed = cfgChanged = true;
    }
    return !changed ? false : cfgChanged ? Preserved.none() : Preserved.cfg();
  },
});
