/**
 * The post-dominator tree: `a` post-dominates `b` when every path from `b` to a function
 * exit goes through `a`. Computed, like the dominator tree, with the iterative algorithm of
 * Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001), run on the
 * reverse CFG from a virtual exit node whose predecessors (in the reverse graph: whose
 * successors) are the exit blocks — blocks ending in `ret` or `unreachable`. The tree's
 * roots are those exit blocks: `ipdom` of an exit block is undefined, like `idom` of the
 * entry.
 *
 * Blocks from which no exit is reachable (an infinite loop; in eBPF the verifier would
 * reject such a program) are not in the tree: `reachesExit` is false for them, they
 * post-dominate nothing and, vacuously, every block post-dominates them. Unreachable
 * blocks that do reach an exit are in the tree (post-dominance looks forward).
 *
 * Uses: control dependence (b is control dependent on the edge p → s when b
 * post-dominates s but not p), "does this block run whenever that one does" (a dominates
 * b and b post-dominates a), sinking. Cost: O(passes × edges), near linear.
 *
 * Successors are read from the terminators, so the tree is a snapshot: any edit to a
 * terminator or the block list makes it stale.
 */
import type { BasicBlock, Function } from "../core.js";

const NONE = -1;

export class PostDominatorTree {
  /** Node 0 is the virtual exit; node i ≥ 1 is `nodes[i]`, in reverse postorder of the reverse CFG. */
  private readonly nodes: (BasicBlock | undefined)[];
  /** Block id → node number, or -1 when the block reaches no exit. */
  private readonly nodeOf: Int32Array;
  /** Node → immediate post-dominator node (0 = the virtual exit; the virtual exit maps to itself). */
  private readonly ipdoms: Int32Array;
  private readonly childLists: BasicBlock[][];
  private readonly pre: Int32Array;
  private readonly post: Int32Array;
  private readonly rootList: BasicBlock[];

  private constructor(
    /** The function this tree was computed for. */
    public readonly fn: Function,
  ) {
    const bound = fn.blockIdBound;
    const inFn = (bb: BasicBlock) => bb.parent === fn && bb.id < bound;
    // CFG predecessors recomputed from the terminators (the reverse graph's successors).
    const preds: BasicBlock[][] = Array.from({ length: bound }, () => []);
    for (const bb of fn.blocks) for (const s of bb.succs) if (inFn(s)) preds[s.id]!.push(bb);
    const exits = fn.blocks.filter((bb) => bb.succs.length === 0);
    this.rootList = exits;

    // Postorder of the reverse CFG from the virtual exit (iterative DFS).
    const visited = new Uint8Array(bound);
    const postorder: BasicBlock[] = [];
    for (const root of exits) {
      if (visited[root.id]) continue;
      visited[root.id] = 1;
      const stack: BasicBlock[] = [root];
      const next: number[] = [0];
      while (stack.length > 0) {
        const top = stack.length - 1;
        const bb = stack[top]!;
        const ps = preds[bb.id]!;
        const k = next[top]!;
        if (k < ps.length) {
          next[top] = k + 1;
          const p = ps[k]!;
          if (!visited[p.id]) {
            visited[p.id] = 1;
            stack.push(p);
            next.push(0);
          }
        } else {
          postorder.push(bb);
          stack.pop();
          next.pop();
        }
      }
    }
    // Reverse postorder with the virtual exit first (it would be visited last, as the DFS root).
    this.nodes = [undefined, ...postorder.reverse()];
    const n = this.nodes.length;
    const nodeOf = new Int32Array(bound).fill(NONE);
    for (let i = 1; i < n; i++) nodeOf[this.nodes[i]!.id] = i;
    this.nodeOf = nodeOf;

    // In the reverse graph, the "predecessors" of a node are its CFG successors (and the
    // virtual exit for exit blocks).
    const rpreds: number[][] = Array.from({ length: n }, () => []);
    for (let i = 1; i < n; i++) {
      const bb = this.nodes[i]!;
      if (bb.succs.length === 0) rpreds[i]!.push(0);
      for (const s of bb.succs) if (inFn(s) && nodeOf[s.id] !== NONE) rpreds[i]!.push(nodeOf[s.id]!);
    }
    const ipdoms = new Int32Array(n).fill(NONE);
    ipdoms[0] = 0;
    const intersect = (a: number, b: number): number => {
      while (a !== b) {
        while (a > b) a = ipdoms[a]!;
        while (b > a) b = ipdoms[b]!;
      }
      return a;
    };
    for (let changed = n > 1; changed; ) {
      changed = false;
      for (let b = 1; b < n; b++) {
        let nw = NONE;
        for (const p of rpreds[b]!) {
          if (ipdoms[p] === NONE) continue;
          nw = nw === NONE ? p : intersect(p, nw);
        }
        if (ipdoms[b] !== nw) {
          ipdoms[b] = nw;
          changed = true;
        }
      }
    }
    this.ipdoms = ipdoms;

    // Children and DFS numbers of the tree (node 0 included, so the exits are siblings).
    const kids: number[][] = Array.from({ length: n }, () => []);
    for (let b = 1; b < n; b++) kids[ipdoms[b]!]!.push(b);
    this.childLists = Array.from({ length: bound }, () => []);
    for (let b = 1; b < n; b++) if (ipdoms[b] !== 0) this.childLists[this.nodes[ipdoms[b]!]!.id]!.push(this.nodes[b]!);
    const pre = new Int32Array(n).fill(NONE);
    const post = new Int32Array(n).fill(NONE);
    let counter = 0;
    const stack: number[] = [0];
    const next: number[] = [0];
    pre[0] = counter++;
    while (stack.length > 0) {
      const top = stack.length - 1;
      const v = stack[top]!;
      const k = next[top]!;
      if (k < kids[v]!.length) {
        next[top] = k + 1;
        const c = kids[v]![k]!;
        pre[c] = counter++;
        stack.push(c);
        next.push(0);
      } else {
        post[v] = counter++;
        stack.pop();
        next.pop();
      }
    }
    this.pre = pre;
    this.post = post;
  }

  /** Computes the post-dominator tree of `fn`. */
  static compute(fn: Function): PostDominatorTree {
    return new PostDominatorTree(fn);
  }

  private nodeNumber(bb: BasicBlock): number {
    return bb.parent === this.fn && bb.id < this.nodeOf.length ? this.nodeOf[bb.id]! : NONE;
  }

  /** Can a function exit be reached from `bb` (is it in the tree)? */
  reachesExit(bb: BasicBlock): boolean {
    return this.nodeNumber(bb) !== NONE;
  }

  /** The exit blocks (blocks without successors), in block order: the roots of the tree. */
  roots(): readonly BasicBlock[] {
    return this.rootList;
  }

  /** The immediate post-dominator; undefined for exit blocks and for blocks that reach no exit. */
  ipdom(bb: BasicBlock): BasicBlock | undefined {
    const i = this.nodeNumber(bb);
    return i > 0 ? this.nodes[this.ipdoms[i]!] : undefined;
  }

  /** Does `a` post-dominate `b`? Reflexive, O(1). See the file note for blocks that reach no exit. */
  postDominates(a: BasicBlock, b: BasicBlock): boolean {
    if (a === b) return true;
    const j = this.nodeNumber(b);
    if (j === NONE) return true;
    const i = this.nodeNumber(a);
    if (i === NONE) return false;
    return this.pre[i]! <= this.pre[j]! && this.post[j]! <= this.post[i]!;
  }

  /** Does `a` post-dominate `b` with `a !== b`? */
  strictlyPostDominates(a: BasicBlock, b: BasicBlock): boolean {
    return a !== b && this.postDominates(a, b);
  }

  /** The blocks `bb` immediately post-dominates, in reverse postorder of the reverse CFG. */
  children(bb: BasicBlock): readonly BasicBlock[] {
    return this.reachesExit(bb) ? this.childLists[bb.id]! : [];
  }

  /** Are both trees the same (same blocks in the tree, same immediate post-dominators)? */
  equals(other: PostDominatorTree): boolean {
    if (this.nodes.length !== other.nodes.length) return false;
    for (let i = 1; i < this.nodes.length; i++) {
      const bb = this.nodes[i]!;
      if (!other.reachesExit(bb) || this.ipdom(bb) !== other.ipdom(bb)) return false;
    }
    return true;
  }
}
