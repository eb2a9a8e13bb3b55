/**
 * The dominator tree, computed with the iterative algorithm of Cooper, Harvey and Kennedy,
 * "A Simple, Fast Dominance Algorithm" (2001).
 *
 * Blocks are numbered in reverse postorder; `idom` is found by iterating
 * `idom(b) = intersect over processed predecessors p of p` to a fixed point, where
 * `intersect` walks two fingers up the partially built tree comparing RPO numbers. On
 * reducible CFGs this converges in two passes; cost is O(passes × edges × depth), in
 * practice near linear.
 *
 * After the fixed point the tree is numbered by an iterative DFS (pre and post numbers),
 * so that `dominates(a, b)` is the O(1) interval test `pre[a] <= pre[b] && post[b] <= post[a]`.
 *
 * Predecessors are derived from the terminators (successor lists), not from `bb.preds`, so
 * that the verifier can use this analysis on IR whose predecessor lists are broken.
 *
 * Unreachable blocks are not in the tree: `idom` is undefined for them, and following the
 * definition ("every path from the entry to b goes through a"), every block vacuously
 * dominates an unreachable block while an unreachable block dominates no reachable one.
 *
 * The tree is a snapshot of the CFG: any edit to terminators or to the block list makes it
 * stale (moving non-terminator instructions does not).
 */
import type { BasicBlock, Function, Instruction } from "../core.js";
import { reversePostOrder } from "./order.js";

const NONE = -1;

/** A function's reverse postorder and its index by block id, as {@link DominatorTree.compute} may reuse them. */
export interface BlockOrderInput {
  readonly rpo: readonly BasicBlock[];
  readonly rpoIndex: Int32Array;
}
const NO_CHILDREN: readonly BasicBlock[] = Object.freeze([]);

/**
 * The dominator tree of a function (Cooper, Harvey, Kennedy 2001), with O(1) dominance
 * queries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Builder, DominatorTree, LoopInfo, Module, i64, ptrType } from "@luabpf/ir";
 *
 * // i = 0; do i += 1 while (i < 10); return i
 * const m = new Module();
 * const fn = m.addFunction("count", [ptrType("ctx")], i64);
 * const [entry, loop, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
 * const b = new Builder(fn).atEnd(entry);
 * b.br(loop);
 * b.atEnd(loop);
 * const i = b.phi(i64);
 * const next = b.add(i, b.const(1));
 * i.addIncoming(b.const(0), entry);
 * i.addIncoming(next, loop);
 * b.condBr(b.compare("ult", next, b.const(10)), loop, exit);
 * b.atEnd(exit).ret(next);
 * const dt = DominatorTree.compute(fn);
 * assert.equal(dt.idom(exit), loop);
 * assert.ok(dt.dominates(entry, exit) && !dt.dominates(exit, loop));
 * const loops = LoopInfo.compute(fn, dt);
 * assert.equal(loops.depth(loop), 1);
 * assert.deepEqual(loops.loopFor(loop)?.latches, [loop]);
 * ```
 */
export class DominatorTree {
  /** Reachable blocks in reverse postorder (never modified: it may be the caller's `order.rpo`). */
  private readonly rpo: readonly BasicBlock[];
  /** Block id → RPO number, or -1 when unreachable (never modified: it may be the caller's). */
  private readonly rpoIndex: Int32Array;
  /** RPO number → RPO number of the immediate dominator (the entry maps to itself). */
  private readonly idoms: Int32Array;
  /** RPO number → start of its children in `childList` (n + 1 entries; children in RPO order). */
  private readonly childStart: Int32Array;
  /** The children of every node, as RPO numbers, grouped by parent. */
  private readonly childList: Int32Array;
  /** Block id → DFS pre/post numbers in the tree (-1 when unreachable). */
  private readonly pre: Int32Array;
  private readonly post: Int32Array;
  /** RPO number → the children as blocks, once asked for. */
  private childCache: (BasicBlock[] | undefined)[] | undefined;
  /** The tree's preorder, as RPO numbers. */
  private readonly preorderRpo: Int32Array;

  private constructor(
    /** The function this tree was computed for. */
    public readonly fn: Function,
    order: BlockOrderInput | undefined,
  ) {
    const bound = fn.blockIdBound;
    let rpo: readonly BasicBlock[];
    let rpoIndex: Int32Array;
    if (order !== undefined && order.rpoIndex.length === bound) {
      rpo = order.rpo;
      rpoIndex = order.rpoIndex;
    } else {
      rpo = reversePostOrder(fn);
      rpoIndex = new Int32Array(bound).fill(NONE);
      for (let i = 0; i < rpo.length; i++) rpoIndex[rpo[i]!.id] = i;
    }
    this.rpo = rpo;
    const n = rpo.length;
    this.rpoIndex = rpoIndex;

    // Predecessors in RPO numbers, recomputed from the terminators, in flat arrays (a list
    // per block would be an object per block): the edges in source order, then grouped by
    // target (each target's sources in increasing RPO number, as the lists were).
    let edges = new Int32Array(4 * n + 2);
    let m = 0;
    const predStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const succs = rpo[i]!.succs;
      for (let k = 0; k < succs.length; k++) {
        const s = succs[k]!;
        const j = s.parent === fn ? (rpoIndex[s.id] ?? NONE) : NONE;
        if (j === NONE) continue;
        if (m + 2 > edges.length) {
          const grown = new Int32Array(edges.length * 2);
          grown.set(edges);
          edges = grown;
        }
        edges[m++] = i;
        edges[m++] = j;
        predStart[j + 1]!++;
      }
    }
    for (let j = 0; j < n; j++) predStart[j + 1]! += predStart[j]!;
    const predList = new Int32Array(m >> 1);
    const fill = predStart.slice(0, n);
    for (let e = 0; e < m; e += 2) predList[fill[edges[e + 1]!]!++] = edges[e]!;

    const idoms = new Int32Array(n).fill(NONE);
    if (n > 0) idoms[0] = 0;
    for (let changed = n > 1; changed; ) {
      changed = false;
      for (let b = 1; b < n; b++) {
        let newIdom = NONE;
        for (let e = predStart[b]!, end = predStart[b + 1]!; e < end; e++) {
          let p = predList[e]!;
          if (idoms[p] === NONE) continue;
          if (newIdom !== NONE) {
            // Intersect: walk two fingers up the tree built so far.
            let q = newIdom;
            while (p !== q) {
              while (p > q) p = idoms[p]!;
              while (q > p) q = idoms[q]!;
            }
          }
          newIdom = p;
        }
        if (idoms[b] !== newIdom) {
          idoms[b] = newIdom;
          changed = true;
        }
      }
    }
    this.idoms = idoms;

    // Children grouped by parent, in RPO order (b increasing).
    const childStart = new Int32Array(n + 1);
    for (let b = 1; b < n; b++) childStart[idoms[b]! + 1]!++;
    for (let b = 0; b < n; b++) childStart[b + 1]! += childStart[b]!;
    const childList = new Int32Array(Math.max(n - 1, 0));
    const next = childStart.slice(0, n);
    for (let b = 1; b < n; b++) childList[next[idoms[b]!]!++] = b;
    this.childStart = childStart;
    this.childList = childList;

    // Iterative DFS over the tree for pre/post numbers (`next` reused: the next child to visit).
    this.pre = new Int32Array(bound).fill(NONE);
    this.post = new Int32Array(bound).fill(NONE);
    this.preorderRpo = new Int32Array(n);
    if (n > 0) {
      let counter = 0;
      let visited = 0;
      next.set(childStart.subarray(0, n));
      const stack = new Int32Array(n);
      let top = 0;
      stack[0] = 0;
      this.pre[rpo[0]!.id] = counter++;
      this.preorderRpo[visited++] = 0;
      while (top >= 0) {
        const b = stack[top]!;
        const k = next[b]!;
        if (k < childStart[b + 1]!) {
          next[b] = k + 1;
          const c = childList[k]!;
          this.pre[rpo[c]!.id] = counter++;
          this.preorderRpo[visited++] = c;
          stack[++top] = c;
        } else {
          this.post[rpo[b]!.id] = counter++;
          top--;
        }
      }
    }
  }

  /**
   * Computes the dominator tree of `fn`. O(edges × passes). `order`, when given, is `fn`'s
   * reverse postorder as {@link reversePostOrder} computes it now, with its block id → index
   * map (-1 for unreachable blocks; `fn.blockIdBound` long): the tree then reuses both
   * instead of computing them again (the passes' block-order analysis holds them).
   */
  static compute(fn: Function, order?: BlockOrderInput): DominatorTree {
    return new DominatorTree(fn, order);
  }

  private rpoOf(bb: BasicBlock): number {
    return bb.parent === this.fn && bb.id < this.rpoIndex.length ? this.rpoIndex[bb.id]! : NONE;
  }

  /** Is `bb` reachable from the entry (when the tree was computed)? */
  isReachable(bb: BasicBlock): boolean {
    return this.rpoOf(bb) !== NONE;
  }

  /** The immediate dominator; undefined for the entry and for unreachable blocks. */
  idom(bb: BasicBlock): BasicBlock | undefined {
    const i = this.rpoOf(bb);
    return i > 0 ? this.rpo[this.idoms[i]!] : undefined;
  }

  /** Does `a` dominate `b`? Reflexive. O(1). See the file note for unreachable blocks. */
  dominates(a: BasicBlock, b: BasicBlock): boolean {
    if (a === b) return true;
    if (!this.isReachable(b)) return true;
    if (!this.isReachable(a)) return false;
    return this.pre[a.id]! <= this.pre[b.id]! && this.post[b.id]! <= this.post[a.id]!;
  }

  /** Does `a` dominate `b` with `a !== b`? */
  strictlyDominates(a: BasicBlock, b: BasicBlock): boolean {
    return a !== b && this.dominates(a, b);
  }

  /** The blocks `bb` immediately dominates, in reverse postorder. */
  children(bb: BasicBlock): readonly BasicBlock[] {
    const b = this.rpoOf(bb);
    if (b === NONE) return NO_CHILDREN;
    const start = this.childStart[b]!;
    const end = this.childStart[b + 1]!;
    if (start === end) return NO_CHILDREN;
    // Made on first request and kept (walks ask for most nodes' children once, some often).
    const cache = (this.childCache ??= new Array<BasicBlock[] | undefined>(this.rpo.length));
    let out = cache[b];
    if (out === undefined) {
      out = new Array<BasicBlock>(end - start);
      for (let k = start; k < end; k++) out[k - start] = this.rpo[this.childList[k]!]!;
      cache[b] = out;
    }
    return out;
  }

  /** The reachable blocks in a depth-first preorder of the tree (the entry first). */
  preorder(): BasicBlock[] {
    const out = new Array<BasicBlock>(this.preorderRpo.length);
    for (let k = 0; k < out.length; k++) out[k] = this.rpo[this.preorderRpo[k]!]!;
    return out;
  }

  /** The reachable blocks in reverse postorder of the CFG, as used to build the tree. */
  reversePostOrder(): BasicBlock[] {
    return [...this.rpo];
  }

  /**
   * Does the definition `def` dominate the instruction `use` (is `def` executed before `use`
   * on every path to it)? Strict: an instruction does not dominate itself. In the same
   * block this walks the instruction list from `def`, O(distance).
   */
  instructionDominates(def: Instruction, use: Instruction): boolean {
    const db = def.block;
    const ub = use.block;
    if (!db || !ub || def === use) return false;
    if (db !== ub) return this.strictlyDominates(db, ub);
    for (let i = def.next; i; i = i.next) if (i === use) return true;
    return false;
  }

  /** Are both trees the same (same reachable blocks, same immediate dominators)? */
  equals(other: DominatorTree): boolean {
    if (this.rpo.length !== other.rpo.length) return false;
    for (const bb of this.rpo) {
      if (!other.isReachable(bb)) return false;
      if (this.idom(bb) !== other.idom(bb)) return false;
    }
    return true;
  }
}
