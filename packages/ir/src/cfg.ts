/**
 * CFG edit helpers that keep predecessor lists and phi incoming pairs in agreement:
 * split an edge, split a block, split a block's predecessors (LLVM's
 * `SplitBlockPredecessors`, the tool for preheaders, single latches and dedicated exits),
 * redirect a branch, fold a conditional branch, remove a block or every unreachable block.
 *
 * Predecessor lists follow the terminators automatically (see core.ts); what these helpers
 * add is the phi bookkeeping, which needs knowledge of intent.
 */
import type { Loop, LoopInfo } from "./analysis/loops.js";
import { BasicBlock, Function, Instruction, type Value } from "./core.js";
import { assert, InternalError } from "./errors.js";
import { voidType } from "./types.js";

function terminatorOf(bb: BasicBlock): Instruction {
  const t = bb.terminator;
  if (!t) throw new InternalError(`@bb${bb.id} has no terminator`);
  return t;
}

/**
 * The index of the `n`-th incoming pair from `from` in `phi`. When a terminator has
 * several edges to the same block, the n-th pair from it belongs to its n-th such edge.
 */
function nthIncoming(phi: Instruction, from: BasicBlock, n: number): number {
  for (let i = 0; i < phi.incoming.length; i++) if (phi.incoming[i] === from && n-- === 0) return i;
  return -1;
}

/**
 * The value phi `phi` receives along the `n`-th edge from `from` (0: the first such edge;
 * for `condbr c, X, X`, 0 is the true edge and 1 the false edge).
 */
export function incomingValueOfEdge(phi: Instruction, from: BasicBlock, n: number): Value {
  const i = nthIncoming(phi, from, n);
  if (i < 0) throw new InternalError(`phi %${phi.id} has no incoming pair ${n} from @bb${from.id}`);
  return phi.operands[i]!;
}

/** Which of `term`'s edges to `target` slot `slot` is (0 for the first such edge). */
function edgeOccurrence(term: Instruction, slot: number): number {
  let n = 0;
  for (let k = 0; k < slot; k++) if (term.targets[k] === term.targets[slot]) n++;
  return n;
}

/** Replaces, in every phi of `bb`, the `occurrence`-th incoming block `from` (default the first) by `to`. */
export function replacePhiIncomingBlock(bb: BasicBlock, from: BasicBlock, to: BasicBlock, occurrence = 0): void {
  for (const phi of bb.phis()) {
    const i = nthIncoming(phi, from, occurrence);
    if (i >= 0) phi.incoming[i] = to;
  }
}

/**
 * Splits the edge `from → to` by inserting a new block that jumps to `to`. With several
 * edges between the two blocks, `edgeIndex` picks the terminator target slot (default: the
 * first that goes to `to`). Returns the new block, placed after `from` in layout order.
 * Phis in `to` receive the edge's value from the new block instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Builder, Module, i64, splitEdge, verifyModule } from "@luabpf/ir";
 *
 * // f(x) = x != 0 ? 1 : 2, where entry → join is a critical edge into a phi.
 * const m = new Module();
 * const fn = m.addFunction("f", [i64], i64);
 * const [entry, other, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
 * const b = new Builder(fn).atEnd(entry);
 * b.condBr(b.compare("ne", fn.params[0]!, b.const(0)), join, other);
 * b.atEnd(other).br(join);
 * b.atEnd(join);
 * const phi = b.phi(i64);
 * phi.addIncoming(b.const(1), entry);
 * phi.addIncoming(b.const(2), other);
 * b.ret(phi);
 *
 * const mid = splitEdge(entry, join);
 * assert.ok(join.preds.includes(mid) && !join.preds.includes(entry));
 * assert.equal(phi.incomingValue(mid), fn.constant(i64, 1n));
 * assert.deepEqual(verifyModule(m), []);
 * ```
 */
export function splitEdge(from: BasicBlock, to: BasicBlock, edgeIndex?: number): BasicBlock {
  const term = terminatorOf(from);
  const slot = edgeIndex ?? term.targets.indexOf(to);
  assert(slot >= 0 && term.targets[slot] === to, () => `splitEdge: no edge @bb${from.id} -> @bb${to.id}`);
  const fn = from.parent!;
  const mid = fn.createBlock({ after: from });
  const br = fn.createInstruction("br", voidType, voidType);
  br.initTargets([to]);
  br.loc = term.loc; // the new jump continues the branch it splits
  mid.append(br);
  const occurrence = edgeOccurrence(term, slot);
  term.setTarget(slot, mid);
  replacePhiIncomingBlock(to, from, mid, occurrence);
  return mid;
}

/**
 * Splits `inst`'s block before `inst`: `inst` and everything after it move to a new block
 * placed right after, and the old block ends with `br new`. Phis in the successors now
 * receive their values from the new block. `inst` must not be a phi.
 */
export function splitBlock(inst: Instruction): BasicBlock {
  const bb = inst.block;
  assert(bb, "splitBlock: instruction not in a block");
  assert(!inst.isPhi, "splitBlock: cannot split at a phi");
  const fn = bb.parent!;
  const tail = fn.createBlock({ after: bb });
  const oldSuccs = [...new Set(bb.succs)];
  for (let i: Instruction | undefined = inst; i; ) {
    const next: Instruction | undefined = i.next;
    i.moveToEnd(tail);
    i = next;
  }
  for (const s of oldSuccs) {
    for (const phi of s.phis()) for (let k = 0; k < phi.incoming.length; k++) if (phi.incoming[k] === bb) phi.incoming[k] = tail;
  }
  const br = fn.createInstruction("br", voidType, voidType);
  br.initTargets([tail]);
  bb.append(br);
  return tail;
}

/**
 * Moves the edges from `preds` into `bb` onto a new block that jumps to `bb`: every edge
 * from a listed block (both edges of a `condbr` whose targets are both `bb`) now enters the
 * new block. In each phi of `bb`, the pairs from the listed blocks leave: when they carry
 * one value it flows in from the new block directly; otherwise a new phi in the new block
 * merges them (pairs in their original order, so the k-th pair still belongs to the k-th
 * edge) and flows in. The new block is placed right before `bb` in layout order.
 *
 * Every listed block must be a predecessor of `bb`. Returns the new block. Cost:
 * O(phis × pairs + edges). Dominators and loops are stale afterwards, except that the
 * caller may record the new block with {@link LoopInfo.addBlock}.
 */
export function splitPredecessors(bb: BasicBlock, preds: readonly BasicBlock[]): BasicBlock {
  const fn = bb.parent;
  assert(fn, "splitPredecessors: block is not in a function");
  const moving = new Set(preds);
  assert(moving.size > 0, "splitPredecessors: no predecessors given");
  for (const p of moving) assert(bb.preds.includes(p), () => `splitPredecessors: @bb${p.id} is not a predecessor of @bb${bb.id}`);
  const at = fn.blocks.indexOf(bb);
  const mid = at > 0 ? fn.createBlock({ after: fn.blocks[at - 1]! }) : fn.createBlock();
  if (at === 0) {
    // A new block cannot go before the entry; keep the entry first and put it right after.
    fn.blocks.splice(fn.blocks.indexOf(mid), 1);
    fn.blocks.splice(1, 0, mid);
  }
  for (const phi of bb.phis()) {
    const values: Value[] = [];
    const from: BasicBlock[] = [];
    for (let k = phi.incoming.length - 1; k >= 0; k--) {
      if (!moving.has(phi.incoming[k]!)) continue;
      values.unshift(phi.operands[k]!);
      from.unshift(phi.incoming[k]!);
      phi.removeOperand(k);
    }
    let merged: Value = values[0]!;
    if (values.some((v) => v !== merged)) {
      const np = fn.createInstruction("phi", phi.type, phi.typeParam);
      np.loc = phi.loc;
      values.forEach((v, k) => np.addIncoming(v, from[k]!));
      mid.append(np);
      merged = np;
    }
    phi.addIncoming(merged, mid);
  }
  for (const p of moving) {
    const term = terminatorOf(p);
    for (let slot = 0; slot < term.targets.length; slot++) if (term.targets[slot] === bb) term.setTarget(slot, mid);
  }
  const br = fn.createInstruction("br", voidType, voidType);
  br.initTargets([bb]);
  // The new jump stands for the branches it takes over (so it has their source line).
  br.loc = terminatorOf([...moving][0]!).loc;
  mid.append(br);
  return mid;
}

/**
 * Gives `loop` a preheader if it has none: the header's predecessors outside the loop are
 * split off onto one new block ({@link splitPredecessors}). With `info`, the new block is
 * recorded in the loops around `loop`. Returns the preheader (the existing one if any).
 * Requires a reachable header with at least one predecessor outside the loop.
 */
export function insertPreheader(loop: Loop, info?: LoopInfo): BasicBlock {
  const existing = loop.preheader();
  if (existing) return existing;
  const entering = loop.entering();
  assert(entering.length > 0, () => `insertPreheader: loop at @bb${loop.header.id} has no entering block`);
  const ph = splitPredecessors(loop.header, entering);
  info?.addBlock(ph, loop.parent);
  return ph;
}

/**
 * Makes the edge `from → oldTarget` go to `newTarget`. Phis of `oldTarget` lose their pair
 * from `from`; phis of `newTarget` gain one, whose value `incoming(phi)` supplies (required
 * when `newTarget` has phis).
 */
export function redirectBranch(
  from: BasicBlock,
  oldTarget: BasicBlock,
  newTarget: BasicBlock,
  incoming?: (phi: Instruction) => Value,
  edgeIndex?: number,
): void {
  const term = terminatorOf(from);
  const slot = edgeIndex ?? term.targets.indexOf(oldTarget);
  assert(slot >= 0 && term.targets[slot] === oldTarget, () => `redirectBranch: no edge @bb${from.id} -> @bb${oldTarget.id}`);
  const occurrence = edgeOccurrence(term, slot);
  for (const phi of oldTarget.phis()) phi.removeOperand(nthIncoming(phi, from, occurrence));
  for (const phi of newTarget.phis()) {
    if (!incoming) throw new InternalError(`redirectBranch: @bb${newTarget.id} has phis and no incoming values were given`);
    phi.addIncoming(incoming(phi), from);
  }
  term.setTarget(slot, newTarget);
}

/**
 * Replaces the conditional branch ending `bb` by an unconditional one to the side
 * `taken` (true: first target). The other target loses its phi pair from `bb` (unless
 * both targets are the same block, in which case one of the two pairs goes).
 */
export function foldConditionalBranch(bb: BasicBlock, taken: boolean): void {
  const term = terminatorOf(bb);
  assert(term.opcode === "condbr", "foldConditionalBranch: block does not end in condbr");
  const keep = term.targets[taken ? 0 : 1]!;
  const drop = term.targets[taken ? 1 : 0]!;
  // With both edges into one block, drop the pair of the edge that goes (the second pair
  // belongs to the false edge).
  const occurrence = keep === drop && taken ? 1 : 0;
  for (const phi of drop.phis()) phi.removeOperand(nthIncoming(phi, bb, occurrence));
  term.erase();
  const br = bb.parent!.createInstruction("br", voidType, voidType);
  br.initTargets([keep]);
  br.loc = term.loc;
  bb.append(br);
}

/**
 * Removes `bb`, which must have no predecessors (see {@link removeUnreachableBlocks} for
 * a group of blocks that refer to each other).
 */
export function removeBlock(bb: BasicBlock): void {
  const fn = bb.parent;
  assert(fn, "removeBlock: block is not in a function");
  fn.removeBlock(bb);
}

/** The blocks reachable from the entry, in depth-first preorder. */
export function reachableBlocks(fn: Function): Set<BasicBlock> {
  const seen = new Set<BasicBlock>();
  const stack = [fn.entry];
  while (stack.length > 0) {
    const bb = stack.pop()!;
    if (seen.has(bb)) continue;
    seen.add(bb);
    for (let i = bb.succs.length - 1; i >= 0; i--) stack.push(bb.succs[i]!);
  }
  return seen;
}

/** Marks by block id (1: reachable from the entry) — a byte per block id instead of a set of every block. */
function reachableMarks(fn: Function): Uint8Array {
  const marks = new Uint8Array(fn.blockIdBound);
  const stack = [fn.entry];
  marks[fn.entry.id] = 1;
  while (stack.length > 0) {
    const t = stack.pop()!.terminator;
    if (t === undefined) continue;
    const targets = t.targets;
    for (let k = 0; k < targets.length; k++) {
      const s = targets[k]!;
      if (marks[s.id] === 0) (marks[s.id] = 1), stack.push(s);
    }
  }
  return marks;
}

/**
 * Removes every block not reachable from the entry, with their edges into reachable
 * blocks (phi pairs included). Values defined in dead blocks may be used only by dead
 * blocks. Returns the number of blocks removed.
 */
export function removeUnreachableBlocks(fn: Function): number {
  const live = reachableMarks(fn);
  const blocks = fn.blocks;
  const dead = blocks.filter((b) => live[b.id] === 0);
  if (dead.length === 0) return 0;
  for (const bb of dead) {
    for (const s of new Set(bb.succs)) {
      if (live[s.id] === 0) continue;
      for (const phi of s.phis()) while (phi.incomingIndex(bb) >= 0) phi.removeIncoming(bb);
    }
    for (const i of bb.instructions()) i.dropOperands();
  }
  for (const bb of dead) {
    const term = bb.terminator;
    if (term) term.unlink();
  }
  for (const bb of dead) {
    for (const i of bb.instructions().reverse()) {
      if (i.hasUses) {
        const u = i.uses[0]!;
        throw new InternalError(`removeUnreachableBlocks: %${i.id} in dead @bb${bb.id} is used by %${u.user.id} in a live block`);
      }
      i.unlink();
    }
  }
  const kept = blocks.filter((b) => live[b.id] === 1);
  blocks.length = 0;
  for (const bb of kept) blocks.push(bb); // not push(...kept): huge functions overflow the stack
  for (const bb of dead) bb.parent = undefined;
  return dead.length;
}
