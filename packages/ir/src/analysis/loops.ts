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
 * Membership is O(1): the loop forest is numbered by a depth-first walk (pre/post numbers),
 * and `loop.contains(bb)` tests whether the innermost loop of `bb` lies in `loop`'s
 * subtree — the interval test the dominator tree uses.
 *
 * The vocabulary is LLVM's: the *preheader* is the header's only predecessor outside the
 * loop, and it branches only to the header (hoisted code goes there); *exiting* blocks are
 * loop blocks with a successor outside; *exit* blocks are those outside successors; exits
 * are *dedicated* when every predecessor of each exit block is in the loop. A loop in
 * *simplified form* has a preheader, one latch and dedicated exits (see `insertPreheader`
 * and `splitPredecessors` in cfg.ts, and the `loop-simplify` pass).
 *
 * Irreducible control flow: a retreating edge whose target does not dominate its source is
 * not a back edge, so it forms no loop (the cycle is simply not reported). Unreachable
 * blocks belong to no loop.
 *
 * LoopInfo is a snapshot of the CFG. A pass that adds blocks can keep it current with
 * {@link LoopInfo.addBlock} (LLVM's `addBasicBlockToLoop`); any other CFG edit makes it stale.
 */
import type { BasicBlock, Function, Value } from "../core.js";
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
  /**
   * Blocks outside the loop that a loop block branches to, in discovery order (no
   * duplicates), as computed with the loop; {@link exitBlocks} reads the current CFG.
   */
  readonly exits: BasicBlock[] = [];
  /** @internal Pre/post numbers in the loop forest (for O(1) `contains`). */
  pre = -1;
  /** @internal */
  post = -1;
  /** @internal The LoopInfo this loop belongs to. */
  info: LoopInfo | undefined;

  constructor(
    /** The loop header: dominates every block of the loop. */
    public readonly header: BasicBlock,
  ) {}

  /** Is `bb` in this loop (or a nested one)? O(1). */
  contains(bb: BasicBlock): boolean {
    const inner = this.info?.loopFor(bb);
    return inner !== undefined && this.pre <= inner.pre && inner.post <= this.post;
  }

  /** Does this loop contain `other` (reflexive)? O(1). */
  containsLoop(other: Loop): boolean {
    return this.pre <= other.pre && other.post <= this.post;
  }

  /**
   * Is `v` invariant in this loop, i.e. not defined by an instruction in one of its
   * blocks? (Constants, parameters and values defined outside are.) O(1).
   */
  isInvariant(v: Value): boolean {
    if (v.kind !== "instruction") return true;
    const bb = (v as { block?: BasicBlock }).block;
    return bb === undefined || !this.contains(bb);
  }

  /** The predecessors of the header outside the loop, in predecessor order (no duplicates). */
  entering(): BasicBlock[] {
    const out: BasicBlock[] = [];
    for (const p of this.header.preds) if (!this.contains(p) && !out.includes(p)) out.push(p);
    return out;
  }

  /**
   * The preheader: the header's only predecessor outside the loop, when that block has the
   * header as its only successor (so code placed at its end runs exactly once before every
   * entry into the loop). Read from the current CFG.
   */
  preheader(): BasicBlock | undefined {
    const entering = this.entering();
    if (entering.length !== 1) return undefined;
    const p = entering[0]!;
    return p.succs.every((s) => s === this.header) ? p : undefined;
  }

  /** The only latch, if there is exactly one back edge source. */
  latch(): BasicBlock | undefined {
    const latches = this.header.preds.filter((p) => this.contains(p));
    return latches.length > 0 && latches.every((p) => p === latches[0]) ? latches[0] : undefined;
  }

  /** Loop blocks with a successor outside the loop, in block order. Read from the current CFG. */
  exitingBlocks(): BasicBlock[] {
    return this.blocks.filter((bb) => bb.succs.some((s) => !this.contains(s)));
  }

  /** Blocks outside the loop that a loop block branches to (no duplicates), from the current CFG. */
  exitBlocks(): BasicBlock[] {
    const out: BasicBlock[] = [];
    for (const bb of this.blocks) for (const s of bb.succs) if (!this.contains(s) && !out.includes(s)) out.push(s);
    return out;
  }

  /** Are all exits dedicated (every predecessor of every exit block is in the loop)? */
  hasDedicatedExits(): boolean {
    return this.exitBlocks().every((e) => e.preds.every((p) => this.contains(p)));
  }

  /** Preheader, one latch and dedicated exits (LLVM's loop-simplify form). */
  isSimplified(): boolean {
    return this.preheader() !== undefined && this.latch() !== undefined && this.hasDedicatedExits();
  }
}

/**
 * The natural loops of a function and their nesting, from its dominator tree (see the
 * example of {@link DominatorTree}).
 */
export class LoopInfo {
  /** Block id → index in `loops` of the innermost loop containing it, or -1. Grows with {@link addBlock}. */
  private innermost: Int32Array;

  private constructor(
    /** Every loop, outer loops before the loops nested in them (headers in reverse postorder). */
    public readonly loops: Loop[],
    innermost: Int32Array,
  ) {
    this.innermost = innermost;
    // Number the forest: pre/post in a depth-first walk, children in order.
    let counter = 0;
    const stack: { loop: Loop; next: number }[] = [];
    for (const root of loops.filter((l) => !l.parent)) {
      root.pre = counter++;
      stack.push({ loop: root, next: 0 });
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (top.next < top.loop.children.length) {
          const c = top.loop.children[top.next++]!;
          c.pre = counter++;
          stack.push({ loop: c, next: 0 });
        } else {
          top.loop.post = counter++;
          stack.pop();
        }
      }
    }
    for (const l of loops) l.info = this;
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
      // A loop object only for a header with a back edge (most blocks have none).
      let loop: Loop | undefined;
      for (const p of header.preds) {
        if (!dt.isReachable(p) || !dt.dominates(header, p)) continue;
        loop ??= new Loop(header);
        if (!loop.latches.includes(p)) loop.latches.push(p);
      }
      if (loop === undefined) continue;
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
    const innermost = new Int32Array(bound).fill(-1);
    for (let id = 0; id < bound; id++) {
      const l = loopOf[id];
      if (l) innermost[id] = index.get(l)!;
    }
    const info = new LoopInfo(found, innermost);
    for (const l of found) l.exits.push(...l.exitBlocks());
    return info;
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

  /** Every loop, inner loops before the loops that contain them (the order to transform them in). */
  innermostFirst(): Loop[] {
    return [...this.loops].sort((a, b) => a.post - b.post);
  }

  /**
   * Records a block a pass just created as a member of `loop` and of every loop around it
   * (or of no loop, when `loop` is undefined), keeping the snapshot current. The block is
   * appended to each loop's block list.
   */
  addBlock(bb: BasicBlock, loop: Loop | undefined): void {
    if (bb.id >= this.innermost.length) {
      const grown = new Int32Array(Math.max(bb.id + 1, this.innermost.length * 2)).fill(-1);
      grown.set(this.innermost);
      this.innermost = grown;
    }
    this.innermost[bb.id] = loop ? this.loops.indexOf(loop) : -1;
    for (let l = loop; l; l = l.parent) l.blocks.push(bb);
  }
}
