/**
 * Natural loops and their nesting forest.
 *
 * A back edge is an edge p → h whose target dominates its source; the natural loop of h is
 * h plus every block that reaches a latch p without passing through h (all back edges into
 * one header make one loop). Loops are discovered innermost first by visiting headers in
 * reverse dominator-tree preorder and walking predecessors backwards from the latches;
 * when the walk meets a block of an already discovered loop it jumps to that loop's
 * outermost header and records the nesting (the scheme of LLVM's LoopInfo and of Havlak
 * 1997 restricted to reducible loops). Cost: O(blocks + edges), plus O(blocks × depth) to
 * list each loop's blocks.
 *
 * Irreducible control flow: a retreating edge whose target does not dominate its source is
 * not a back edge, so it forms no loop (the cycle is simply not reported). Unreachable
 * blocks belong to no loop.
 */
import type { BasicBlock, Function } from "../core.js";
import type { DominatorTree } from "./dominators.js";

/** A natural loop. */
export class Loop {
  /** Every block of the loop (nested loops included), header first, then in reverse postorder. */
  readonly blocks: BasicBlock[] = [];
  /** Sources of the back edges into the header, in predecessor order (no duplicates). */
  readonly latches: BasicBlock[] = [];
  /** Directly nested loops, in reverse postorder of their headers. */
  readonly children: Loop[] = [];
  /** The innermost enclosing loop. */
  parent: Loop | undefined;
  /** Nesting depth: 1 for an outermost loop. */
  depth = 1;
  /** Blocks outside the loop that a loop block branches to, in discovery order (no duplicates). */
  readonly exits: BasicBlock[] = [];

  constructor(
    /** The loop header: dominates every block of the loop. */
    public readonly header: BasicBlock,
  ) {}

  /** Is `bb` in this loop (or a nested one)? O(blocks of the loop). */
  contains(bb: BasicBlock): boolean {
    return this.blocks.includes(bb);
  }
}

/**
 * The natural loops of a function and their nesting, from its dominator tree (see the
 * example of {@link DominatorTree}).
 */
export class LoopInfo {
  /** Block id → index in `loops` of the innermost loop containing it, or -1. */
  private readonly innermost: Int32Array;

  private constructor(
    /** Every loop, outer loops before the loops nested in them (headers in reverse postorder). */
    public readonly loops: Loop[],
    innermost: Int32Array,
  ) {
    this.innermost = innermost;
  }

  /** Finds the natural loops of `fn` given its (fresh) dominator tree. */
  static compute(fn: Function, dt: DominatorTree): LoopInfo {
    const bound = fn.blockIdBound;
    const loopOf: (Loop | undefined)[] = new Array(bound).fill(undefined);
    const found: Loop[] = [];
    const reachablePreds = (bb: BasicBlock): BasicBlock[] => bb.preds.filter((p) => dt.isReachable(p));

    const preorder = dt.preorder();
    for (let k = preorder.length - 1; k >= 0; k--) {
      const header = preorder[k]!;
      const loop = new Loop(header);
      for (const p of reachablePreds(header)) if (dt.dominates(header, p) && !loop.latches.includes(p)) loop.latches.push(p);
      if (loop.latches.length === 0) continue;
      found.push(loop);
      loopOf[header.id] = loop;
      const work = [...loop.latches];
      while (work.length > 0) {
        const bb = work.pop()!;
        const inner = loopOf[bb.id];
        if (inner === undefined) {
          loopOf[bb.id] = loop;
          work.push(...reachablePreds(bb));
          continue;
        }
        let outer = inner;
        while (outer.parent) outer = outer.parent;
        if (outer === loop) continue;
        outer.parent = loop;
        work.push(...reachablePreds(outer.header));
      }
    }

    // Order loops outer first (headers in RPO), fill block lists, children, depth, exits.
    const rpo = dt.reversePostOrder();
    const rpoNumber = new Int32Array(bound).fill(-1);
    rpo.forEach((bb, i) => (rpoNumber[bb.id] = i));
    found.sort((a, b) => rpoNumber[a.header.id]! - rpoNumber[b.header.id]!);
    const index = new Map<Loop, number>();
    found.forEach((l, i) => index.set(l, i));
    for (const l of found) {
      if (l.parent) {
        l.parent.children.push(l);
        l.depth = l.parent.depth + 1;
      }
    }
    for (const bb of rpo) for (let l = loopOf[bb.id]; l; l = l.parent) l.blocks.push(bb);
    for (const l of found) {
      const members = new Set(l.blocks);
      const exits = new Set<BasicBlock>();
      for (const bb of l.blocks) for (const s of bb.succs) if (!members.has(s) && !exits.has(s)) exits.add(s);
      l.exits.push(...exits);
    }
    const innermost = new Int32Array(bound).fill(-1);
    for (let id = 0; id < bound; id++) {
      const l = loopOf[id];
      if (l) innermost[id] = index.get(l)!;
    }
    return new LoopInfo(found, innermost);
  }

  /** The innermost loop containing `bb`, if any. */
  loopFor(bb: BasicBlock): Loop | undefined {
    const i = bb.id < this.innermost.length ? this.innermost[bb.id]! : -1;
    return i >= 0 ? this.loops[i] : undefined;
  }

  /** Loop nesting depth of `bb` (0 outside every loop). */
  depth(bb: BasicBlock): number {
    return this.loopFor(bb)?.depth ?? 0;
  }

  /** The outermost loops. */
  topLevel(): Loop[] {
    return this.loops.filter((l) => !l.parent);
  }
}
