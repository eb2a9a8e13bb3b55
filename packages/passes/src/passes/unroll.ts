/**
 * `unroll`: full unrolling of loops with a small constant trip count (clang unrolls
 * ip-checksum's two-round carry fold `for _ = 1, 2` the same way).
 *
 * A loop qualifies when it has one entering block, one latch and one exiting edge, leaving
 * from the header or the latch (a block every iteration runs), and its exit condition is
 * decided by constants: the header's phis start from the values the entering block sends,
 * the loop's foldable instructions are evaluated on them (util/fold.ts, the interpreter's
 * arithmetic), and the next iteration starts from the latch's values. When the exit is
 * taken in iteration N (N ≤ `max-trip`) and the N - 1 extra copies of the loop add at most
 * `budget` instructions, the loop becomes straight-line code:
 *
 * - copies 0 .. N-2 of the loop's blocks are made in front of it; in copy k the header's
 *   phis are the values entering it (the entering block's for k = 0, copy k-1's latch
 *   values after), the exiting branch goes on (the exit is not taken before iteration N),
 *   and the back edge enters copy k+1's header;
 * - the original blocks are the last iteration: the header's phis become the values
 *   copy N-2's latch sends (or the entering values when N = 1) and the exiting branch
 *   leaves. Uses after the loop read the last iteration's values, which are the original
 *   instructions, so they need no rewriting.
 *
 * Loops with a second exit (a `break`, a `return`), an `alloca` (a copy would be a slot of
 * its own) or a nested loop are left alone. A loop whose entering block belongs to a loop
 * unrolled in the same round (one loop straight after another) is unrolled in the next
 * round, on the same loop information unless a loop unrolled so far was nested (see `run`).
 *
 * The copies' counters are then constants for sccp, and simplify-cfg merges the blocks.
 * Each iteration loses its compare, branch and counter update; the verifier walks the same
 * instructions once instead of once per iteration plus the loop's checks.
 * Cost: O(N × loop size) per unrolled loop.
 */
import { removeUnreachableBlocks, type BasicBlock, type Function, type Instruction, type Loop, type Value } from "@luabpf/ir";
import { blockOrderAnalysis, loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { evaluate, isFoldable } from "../util/fold.js";
import { constValue } from "../util/ir.js";
import { censusAnalysis } from "../analysis/census.js";

/** Instructions of a loop that cost code (phis and jumps do not). */
function loopCost(blocks: readonly BasicBlock[]): number {
  let n = 0;
  for (const bb of blocks) for (let i = bb.first; i; i = i.next) if (!i.isPhi && i.opcode !== "br" && i.opcode !== "condbr") n++;
  return n;
}

interface Shape {
  header: BasicBlock;
  latch: BasicBlock;
  entering: BasicBlock;
  exiting: BasicBlock;
  /** The exiting branch's target slot that stays in the loop. */
  stay: number;
  /** The loop's blocks in an order where each block's dominators inside the loop come first. */
  order: BasicBlock[];
}

/** The loop's shape, if it is one this pass can unroll. */
function shapeOf(loop: Loop, rpoIndex: (bb: BasicBlock) => number): Shape | undefined {
  if (loop.children.length > 0) return undefined;
  const header = loop.header;
  const latch = loop.latch();
  const entering = loop.entering();
  if (!latch || entering.length !== 1 || header.preds.filter((p) => p === entering[0]).length !== 1) return undefined;
  if (header.preds.filter((p) => p === latch).length !== 1) return undefined;
  let exiting: BasicBlock | undefined;
  let stay = -1;
  for (const bb of loop.blocks) {
    const t = bb.terminator;
    if (!t) return undefined;
    if (t.opcode === "ret") return undefined;
    // A copied alloca would be a stack slot of its own, where the loop reuses one.
    for (let i = bb.first; i; i = i.next) if (i.opcode === "alloca") return undefined;
    const out = t.targets.map((s, k) => (loop.contains(s) ? -1 : k)).filter((k) => k >= 0);
    if (out.length === 0) continue;
    if (exiting || out.length !== 1 || t.opcode !== "condbr" || t.targets[0] === t.targets[1]) return undefined;
    exiting = bb;
    stay = 1 - out[0]!;
  }
  if (!exiting || (exiting !== header && exiting !== latch)) return undefined;
  const order = [...loop.blocks].sort((a, b) => rpoIndex(a) - rpoIndex(b));
  if (order[0] !== header) return undefined;
  return { header, latch, entering: entering[0]!, exiting, stay, order };
}

/** The iteration in which the exit is taken (1-based), if constants decide it within `max`. */
function tripCount(s: Shape, max: number): number | undefined {
  let start = new Map<Instruction, bigint>();
  for (const phi of s.header.phis()) {
    const k = constValue(phi.incomingValue(s.entering));
    if (k !== undefined) start.set(phi, k);
  }
  const cond = s.exiting.terminator!.operands[0]!;
  for (let n = 1; n <= max; n++) {
    const known = new Map<Value, bigint>(start);
    const valueOf = (v: Value): bigint | undefined => constValue(v) ?? known.get(v);
    for (const bb of s.order) {
      for (let i = bb.first; i; i = i.next) {
        if (i.isPhi || !isFoldable(i.opcode)) continue;
        const args = i.operands.map(valueOf);
        if (args.every((a) => a !== undefined)) known.set(i, evaluate(i.opcode, i.typeParam, i.type, args as bigint[]));
      }
    }
    const c = valueOf(cond);
    if (c === undefined) return undefined;
    const staysIn = (c !== 0n) === (s.stay === 0);
    if (!staysIn) return n;
    const next = new Map<Instruction, bigint>();
    for (const phi of s.header.phis()) {
      const k = valueOf(phi.incomingValue(s.latch));
      if (k !== undefined) next.set(phi, k);
    }
    start = next;
  }
  return undefined;
}

/** Copies the loop's blocks once, in front of the header: one iteration entered with `phiValues`. */
function copyIteration(fn: Function, s: Shape, phiValues: Map<Instruction, Value>, next: BasicBlock, placeAfter: BasicBlock): { blocks: Map<BasicBlock, BasicBlock>; values: Map<Value, Value>; last: BasicBlock } {
  const blocks = new Map<BasicBlock, BasicBlock>();
  const values = new Map<Value, Value>(phiValues);
  // Placed after `placeAfter` (createBlock's `after` costs nothing until the block list is read).
  let after = placeAfter;
  for (const bb of s.order) {
    const copy = fn.createBlock({ after });
    blocks.set(bb, copy);
    after = copy;
  }
  const map = (v: Value): Value => values.get(v) ?? v;
  const phis: [Instruction, Instruction][] = [];
  for (const bb of s.order) {
    const copy = blocks.get(bb)!;
    for (let inst = bb.first; inst; inst = inst.next) {
      if (bb === s.header && inst.isPhi) continue;
      if (bb === s.exiting && inst === bb.terminator) {
        const br = fn.createInstruction("br", inst.type, inst.typeParam);
        const target = inst.targets[s.stay]!;
        br.targets.push(target === s.header ? next : blocks.get(target)!);
        if (inst.loc) br.loc = inst.loc;
        copy.append(br);
        continue;
      }
      const clone = fn.cloneInstruction(inst, inst.isPhi ? [] : inst.operands.map(map));
      for (const t of inst.targets) clone.targets.push(t === s.header ? next : blocks.get(t)!);
      copy.append(clone);
      if (inst.isPhi) phis.push([inst, clone]);
      values.set(inst, clone);
    }
  }
  for (const [orig, clone] of phis) orig.operands.forEach((v, k) => clone.addIncoming(map(v), blocks.get(orig.incoming[k]!)!));
  return { blocks, values, last: after };
}

function unrollLoop(fn: Function, s: Shape, trips: number, before: BasicBlock): void {
  const phis = [...s.header.phis()];
  // Iteration 0 starts from the entering values; each copy's latch values start the next.
  let start = new Map<Instruction, Value>(phis.map((p) => [p, p.incomingValue(s.entering)]));
  let enter = s.entering;
  let enterSlot = s.entering.terminator!.targets.indexOf(s.header);
  let lastLatch: BasicBlock | undefined;
  const copies: { blocks: Map<BasicBlock, BasicBlock>; values: Map<Value, Value>; last: BasicBlock }[] = [];
  let placeAfter = before;
  for (let k = 0; k < trips - 1; k++) {
    const copy = copyIteration(fn, s, start, s.header, placeAfter);
    placeAfter = copy.last;
    copies.push(copy);
    start = new Map(phis.map((p) => [p, copy.values.get(p.incomingValue(s.latch)) ?? p.incomingValue(s.latch)]));
  }
  // Chain the copies: the entering edge into copy 0, copy k's back edge into copy k+1.
  for (let k = 0; k < copies.length; k++) {
    const head = copies[k]!.blocks.get(s.header)!;
    const term = enter.terminator!;
    term.setTarget(enterSlot, head);
    lastLatch = copies[k]!.blocks.get(s.latch)!;
    enter = lastLatch;
    enterSlot = lastLatch.terminator!.targets.indexOf(s.header);
  }
  // The original blocks run the last iteration: the header is entered once, from `enter`.
  if (lastLatch) {
    for (const p of phis) {
      p.removeIncoming(s.entering);
      const i = p.incomingIndex(s.latch);
      p.setOperand(i, start.get(p)!);
      p.incoming[i] = lastLatch;
    }
  }
  // The exiting branch leaves; the back edge goes (its phi pairs were just replaced).
  const t = s.exiting.terminator!;
  const leave = t.targets[1 - s.stay]!;
  const stayTarget = t.targets[s.stay]!;
  for (const phi of stayTarget.phis()) if (stayTarget !== s.header) phi.removeIncoming(s.exiting);
  t.erase();
  const br = fn.createInstruction("br", t.type, t.typeParam);
  br.targets.push(leave);
  br.loc = t.loc;
  s.exiting.append(br);
  if (!lastLatch) for (const p of phis) {
    const v = p.incomingValue(s.entering);
    p.replaceAllUsesWith(v);
    p.erase();
  }
}

/** Block id → the block before it in the block list (undefined for the first). */
function blockBefore(fn: Function): BasicBlock[] {
  const blocks = fn.blocks;
  const before = new Array<BasicBlock>(fn.blockIdBound);
  for (let k = 1; k < blocks.length; k++) before[blocks[k]!.id] = blocks[k - 1]!;
  return before;
}

const OPTIONS = {
  "max-trip": { type: "integer", min: 1, default: 4, description: "unroll only loops that exit within this many iterations" },
  budget: { type: "integer", min: 0, default: 8, description: "instructions the extra copies may add" },
} as const;

/** The pass's rounds (see `unroll`); `freshRounds`: every round reads fresh loops (the reference the tests hold the shared rounds to). */
function runUnroll(fn: Function, ctx: FunctionPassContext, options: { "max-trip": number; budget: number }, freshRounds: boolean): boolean {
  let changed = false;
  // A round unrolls every loop it can, in the loop information's order; a loop whose
  // entering block a loop unrolled in the same round holds (one loop straight after
  // another) waits for the next round. Rounds share one loop information while every loop
  // they unrolled had no enclosing loop: such an unrolling turns a single-entry,
  // single-exit region into straight code in place, so no other loop's blocks, shape or
  // trip count changes, nor the order of their headers (a depth-first search leaves the
  // region through the same edge), and the next round would find the loops this one
  // rejected rejected again and the waiting ones in the same order. After a nested loop is
  // unrolled (its enclosing loops change; one may become innermost) the next round reads
  // fresh loops. Each round but the last unrolls a loop.
  for (let again = true; again; ) {
    again = false;
    const info = ctx.analyses.get(loopInfoAnalysis);
    const { rpoIndex } = ctx.analyses.get(blockOrderAnalysis);
    // Copies go in front of the header: after the block before it (the block list is read
    // once per loop information; blocks unrolling makes unreachable stay in it until the
    // loop information is dropped, so a copy placed after one lands where it would after
    // their removal).
    let before: BasicBlock[] | undefined;
    let unrolled = false;
    let nested = false;
    for (let round: readonly Loop[] = info.loops; round.length > 0 && !again; ) {
      const touched = new Set<BasicBlock>();
      const waiting: Loop[] = [];
      for (const loop of round) {
        if (loop.contains(fn.entry)) continue;
        const s = shapeOf(loop, (bb) => rpoIndex[bb.id] ?? -1);
        if (!s) continue;
        if (touched.has(s.entering)) {
          waiting.push(loop);
          continue;
        }
        const n = tripCount(s, options["max-trip"]);
        if (n === undefined || (n - 1) * loopCost(s.order) > options.budget) continue;
        before ??= blockBefore(fn);
        unrollLoop(fn, s, n, before[s.header.id]!);
        for (const bb of s.order) touched.add(bb);
        ctx.stat("loops-unrolled");
        unrolled = true;
        if (loop.parent || freshRounds) nested = true;
      }
      if (nested && waiting.length > 0) again = true;
      round = waiting;
    }
    if (!unrolled) break;
    removeUnreachableBlocks(fn);
    ctx.analyses.invalidate();
    changed = true;
  }
  return changed;
}

const applies = (fn: Function, ctx: FunctionPassContext): boolean => ctx.analyses.get(censusAnalysis).count("condbr") > 0 && ctx.analyses.get(blockOrderAnalysis).cyclic;

export const unroll = defineFunctionPass({
  name: "unroll",
  description: "fully unroll innermost loops whose constant trip count is small (straight-line copies, no counter)",
  options: OPTIONS,
  // A loop (a cycle) is left only through a condbr.
  applies,
  run: (fn, ctx, options) => runUnroll(fn, ctx, options, false),
});

/** @internal `unroll` reading fresh loops in every round, as it did before rounds shared them (tests only). */
export const unrollFreshRounds = defineFunctionPass({
  name: "unroll",
  description: "unroll, every round on fresh loop information (tests only)",
  options: OPTIONS,
  applies,
  run: (fn, ctx, options) => runUnroll(fn, ctx, options, true),
});
