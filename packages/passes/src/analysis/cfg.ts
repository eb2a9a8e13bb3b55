/**
 * The CFG analyses, as analysis-manager keys over the algorithms of `@luabpf/ir`'s
 * `analysis/` (block orders, Cooper–Harvey–Kennedy dominators and post-dominators,
 * dominance frontiers, natural loops). All are `cfgOnly`: a pass that edits no terminator and no block list
 * preserves them with `Preserved.cfg()`.
 */
import { DominatorTree, LoopInfo, PostDominatorTree, dominanceFrontiers, postOrder, type BasicBlock } from "@luabpf/ir";
import { defineAnalysis } from "../analysis-manager.js";

/** Block orders of the reachable blocks. */
export interface BlockOrder {
  /** Reverse postorder: the entry first, every block before its successors except along back edges. */
  readonly rpo: readonly BasicBlock[];
  readonly postOrder: readonly BasicBlock[];
  /** Block id → index in `rpo`, or -1 for unreachable blocks. */
  readonly rpoIndex: Int32Array;
}

/** Reverse postorder and postorder of the reachable blocks. */
export const blockOrderAnalysis = defineAnalysis<BlockOrder>({
  name: "block-order",
  description: "reverse postorder and postorder of the reachable blocks",
  cfgOnly: true,
  compute(fn) {
    const po = postOrder(fn);
    const rpo = po.slice().reverse();
    const rpoIndex = new Int32Array(fn.blockIdBound).fill(-1);
    rpo.forEach((bb, i) => (rpoIndex[bb.id] = i));
    return { rpo, postOrder: po, rpoIndex };
  },
  equals: (a, b) => a.rpo.length === b.rpo.length && a.rpo.every((bb, i) => bb === b.rpo[i]),
});

/** The dominator tree (Cooper, Harvey & Kennedy 2001). */
export const dominatorTreeAnalysis = defineAnalysis<DominatorTree>({
  name: "dominators",
  description: "dominator tree",
  cfgOnly: true,
  compute: (fn) => DominatorTree.compute(fn),
  equals: (a, b) => a.equals(b),
});

/** The post-dominator tree (exit blocks are its roots; see `PostDominatorTree`). */
export const postDominatorTreeAnalysis = defineAnalysis<PostDominatorTree>({
  name: "post-dominators",
  description: "post-dominator tree",
  cfgOnly: true,
  compute: (fn) => PostDominatorTree.compute(fn),
  equals: (a, b) => a.equals(b),
});

/** Dominance frontiers, indexed by block id (Cytron et al. 1991, computed as in Cooper et al.). */
export const dominanceFrontierAnalysis = defineAnalysis<BasicBlock[][]>({
  name: "dominance-frontiers",
  description: "dominance frontier of every block",
  cfgOnly: true,
  dependsOn: [dominatorTreeAnalysis],
  compute: (fn, am) => dominanceFrontiers(fn, am.get(dominatorTreeAnalysis)),
  equals: (a, b) => a.length === b.length && a.every((f, i) => sameBlocks(f ?? [], b[i] ?? [])),
});

/** Natural loops and their nesting. */
export const loopInfoAnalysis = defineAnalysis<LoopInfo>({
  name: "loops",
  description: "natural loops and loop depth",
  cfgOnly: true,
  dependsOn: [dominatorTreeAnalysis],
  compute: (fn, am) => LoopInfo.compute(fn, am.get(dominatorTreeAnalysis)),
  equals: (a, b) =>
    a.loops.length === b.loops.length &&
    a.loops.every((l, i) => l.header === b.loops[i]!.header && sameBlocks(l.blocks, b.loops[i]!.blocks) && l.parent?.header === b.loops[i]!.parent?.header),
});

function sameBlocks(a: readonly BasicBlock[], b: readonly BasicBlock[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
