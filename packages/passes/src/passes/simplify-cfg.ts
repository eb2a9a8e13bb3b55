/**
 * `simplify-cfg`: control-flow cleanups, iterated to a fixed point.
 *
 * 1. Fold branches: `condbr k, T, F` with constant k, and `condbr c, X, X`, become `br`.
 * 2. Remove blocks unreachable from the entry.
 * 3. Remove trivial phis: all incoming values equal (ignoring the phi itself), or a phi
 *    in a block with one predecessor.
 * 4. Merge a block into its predecessor when that predecessor ends with `br` to it and is
 *    its only predecessor.
 * 5. Remove forwarding blocks (only `br C`, no phis): predecessors jump straight to C, and
 *    C's phis get the forwarded value for each of them. Skipped when a predecessor already
 *    reaches C and C has phis (one block cannot send two values to one phi).
 * 6. Thread jumps over constant branches: a block B made of phis, pure instructions used
 *    only inside B, and a `condbr`, whose condition is a constant when evaluated with the
 *    phi values coming from predecessor P: P jumps directly to the known target
 *    (skipped when the target would receive two edges from P and has phis).
 * 7. Share returns: blocks made only of `ret v` for the same v (a constant, the same
 *    value, or nothing) become one — the last of them in layout order, which the block
 *    before it usually reaches by falling through; the others' predecessors jump there.
 *    One `r0 = K; exit` pair per distinct return instead of one per `return` in the
 *    source (clang's shared return block); a predecessor that fell through into a
 *    removed copy pays one jump for the two instructions saved. The uses of v in the
 *    copies were dominated by v's definition, so is the shared block (every way into it
 *    comes from a predecessor of a copy, which v's definition dominates).
 *
 * Changes the CFG: preserves nothing when it changed something. Cost: O(blocks +
 * instructions) per round; rounds are bounded by the number of blocks removed.
 */
import {
  foldConditionalBranch,
  incomingValueOfEdge,
  redirectBranch,
  removeUnreachableBlocks,
  typeToString,
  type BasicBlock,
  type Function,
  type Instruction,
  type Value,
} from "@luabpf/ir";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { isFoldable, evaluate } from "../util/fold.js";
import { constValue } from "../util/ir.js";

function foldBranches(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of fn.blocks) {
    const t = bb.terminator;
    if (t?.opcode !== "condbr") continue;
    const k = constValue(t.operands[0]!);
    if (k !== undefined) foldConditionalBranch(bb, k !== 0n);
    else if (t.targets[0] === t.targets[1]) {
      // condbr c, X, X: a jump; phis of X whose two pairs differ become selects on c.
      const c = t.operands[0]!;
      for (const phi of t.targets[0]!.phis()) {
        const [vt, vf] = [incomingValueOfEdge(phi, bb, 0), incomingValueOfEdge(phi, bb, 1)];
        if (vt === vf) continue;
        const sel = fn.createInstruction("select", phi.type, phi.type, [c, vt, vf]);
        sel.insertBefore(t);
        phi.setOperand(phi.incomingIndex(bb), sel);
        ctx.stat("selects-formed");
      }
      foldConditionalBranch(bb, true);
    } else continue;
    ctx.stat("branches-folded");
    changed = true;
  }
  return changed;
}

/** The value a trivial phi equals, or undefined. */
function trivialPhiValue(phi: Instruction): Value | undefined {
  let same: Value | undefined;
  for (const v of phi.operands) {
    if (v === phi || v === same) continue;
    if (same !== undefined) return undefined;
    same = v;
  }
  return same;
}

function removeTrivialPhis(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  let again = true;
  while (again) {
    again = false;
    for (const bb of fn.blocks) {
      for (const phi of bb.phis()) {
        const v = trivialPhiValue(phi);
        if (v === undefined) continue;
        phi.replaceAllUsesWith(v);
        phi.erase();
        ctx.stat("phis-removed");
        changed = again = true;
      }
    }
  }
  return changed;
}

/** Merges `succ` into `bb` when `bb` ends in `br succ` and is its only predecessor. */
function mergeBlocks(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn) continue;
    for (;;) {
      const t = bb.terminator;
      if (t?.opcode !== "br") break;
      const succ = t.targets[0]!;
      if (succ === bb || succ === fn.entry || succ.preds.length !== 1) break;
      for (const phi of succ.phis()) {
        phi.replaceAllUsesWith(phi.operands[0]!);
        phi.erase();
      }
      t.erase();
      const newSuccs = new Set(succ.succs);
      for (const inst of succ.instructions()) inst.moveToEnd(bb);
      for (const s of newSuccs) for (const phi of s.phis()) for (let k = 0; k < phi.incoming.length; k++) if (phi.incoming[k] === succ) phi.incoming[k] = bb;
      fn.removeBlock(succ);
      ctx.stat("blocks-merged");
      changed = true;
    }
  }
  return changed;
}

function removeForwardingBlocks(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn || bb === fn.entry || bb.first !== bb.last || bb.first?.opcode !== "br") continue;
    const target = bb.first.targets[0]!;
    if (target === bb) continue;
    const hasPhis = target.first?.isPhi ?? false;
    if (hasPhis && bb.preds.some((p) => target.preds.includes(p))) continue;
    if (hasPhis && new Set(bb.preds).size !== bb.preds.length) continue;
    for (const p of [...new Set(bb.preds)]) {
      const slots = p.terminator!.targets;
      for (let s = 0; s < slots.length; s++) {
        if (slots[s] !== bb) continue;
        redirectBranch(p, bb, target, (phi) => phi.incomingValue(bb), s);
      }
    }
    fn.removeBlock(bb);
    ctx.stat("forwarding-blocks-removed");
    changed = true;
  }
  return changed;
}

/** The condition of `bb`'s condbr evaluated with the phi values from `pred`, if constant. */
function conditionFrom(bb: BasicBlock, pred: BasicBlock): bigint | undefined {
  const known = new Map<Value, bigint>();
  for (let i = bb.first; i; i = i.next) {
    if (i.isPhi) {
      const k = constValue(i.incomingValue(pred));
      if (k !== undefined) known.set(i, k);
      continue;
    }
    if (i.opcode === "condbr") {
      const c = i.operands[0]!;
      return constValue(c) ?? known.get(c);
    }
    if (!isFoldable(i.opcode)) return undefined;
    const args: bigint[] = [];
    for (const v of i.operands) {
      const k = constValue(v) ?? known.get(v);
      if (k === undefined) break;
      args.push(k);
    }
    if (args.length === i.operands.length) known.set(i, evaluate(i.opcode, i.typeParam, i.type, args));
  }
  return undefined;
}

function threadJumps(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn || bb === fn.entry || bb.terminator?.opcode !== "condbr") continue;
    // Every instruction of bb must be pure (or the condbr) and used only inside bb.
    let ok = true;
    for (let i = bb.first; i && ok; i = i.next) {
      if (i.opcode === "condbr") continue;
      if (!isFoldable(i.opcode) && !i.isPhi) ok = false;
      else if (i.uses.some((u) => u.user.block !== bb || (u.user.isPhi && u.user.block === bb))) ok = false;
    }
    if (!ok) continue;
    for (const p of [...new Set(bb.preds)]) {
      if (p === bb || bb.preds.filter((x) => x === p).length !== 1) continue;
      const k = conditionFrom(bb, p);
      if (k === undefined) continue;
      const target = bb.terminator!.targets[k !== 0n ? 0 : 1]!;
      if (target === bb) continue;
      if (target.first?.isPhi && target.preds.includes(p)) continue;
      redirectBranch(p, bb, target, (phi) => phi.incomingValue(bb));
      ctx.stat("jumps-threaded");
      changed = true;
    }
  }
  return changed;
}

/** The key of a block made only of a `ret` (see step 7), or undefined. */
function returnKey(bb: BasicBlock): string | undefined {
  const t = bb.first;
  if (t !== bb.last || t?.opcode !== "ret") return undefined;
  const v = t.operands[0];
  if (v === undefined) return "void";
  const k = constValue(v);
  return k !== undefined ? `${typeToString(v.type)} ${k}` : `%${v.id}`;
}

function shareReturns(fn: Function, ctx: FunctionPassContext): boolean {
  const last = new Map<string, BasicBlock>();
  for (const bb of fn.blocks) {
    const key = returnKey(bb);
    if (key !== undefined) last.set(key, bb);
  }
  let changed = false;
  for (const bb of [...fn.blocks]) {
    const key = returnKey(bb);
    const shared = key === undefined ? undefined : last.get(key);
    if (!shared || shared === bb || bb === fn.entry) continue;
    for (const p of [...new Set(bb.preds)]) {
      const term = p.terminator!;
      for (let slot = 0; slot < term.targets.length; slot++) if (term.targets[slot] === bb) redirectBranch(p, bb, shared, undefined, slot);
    }
    ctx.stat("returns-shared");
    changed = true;
  }
  return changed;
}

export const simplifyCfg = defineFunctionPass({
  name: "simplify-cfg",
  description: "fold constant branches, remove unreachable/forwarding blocks and trivial phis, merge straight-line blocks, thread jumps, share return blocks",
  run(fn, ctx) {
    let changed = false;
    for (let round = 0; round < 1000; round++) {
      let c = foldBranches(fn, ctx);
      const removed = removeUnreachableBlocks(fn);
      if (removed) ctx.stat("blocks-unreachable", removed);
      c = removeTrivialPhis(fn, ctx) || removed > 0 || c;
      c = mergeBlocks(fn, ctx) || c;
      c = removeForwardingBlocks(fn, ctx) || c;
      c = threadJumps(fn, ctx) || c;
      c = shareReturns(fn, ctx) || c;
      if (!c) break;
      changed = true;
    }
    return changed;
  },
});
