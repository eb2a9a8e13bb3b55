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
  /**
   * Does an edge between reachable blocks go to a block not after its source in `rpo` (a
   * retreating edge)? Every cycle has one, so without one the function has no loop (the
   * loop passes' precondition). True also for an edge leaving the function (broken IR).
   */
  readonly cyclic: boolean;
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
    for (let i = 0; i < rpo.length; i++) rpoIndex[rpo[i]!.id] = i;
    let cyclic = false;
    for (let i = 0; i < rpo.length && !cyclic; i++) {
      const succs = rpo[i]!.succs;
      for (let k = 0; k < succs.length; k++) if (succs[k]!.parent !== fn || rpoIndex[succs[k]!.id]! <= i) cyclic = true;
    }
    return { rpo, postOrder: po, rpoIndex, cyclic };
  },
  equals: (a, b) => a.cyclic === b.cyclic && a.rpo.length === b.rpo.length && a.rpo.every((bb, i) => bb === b.rpo[i]),
});

/**
 * The dominator tree (Cooper, Harvey & Kennedy 2001), numbered by the block order's reverse
 * postorder (not computed again). Not `dependsOn` the block order: the tree is a snapshot of
 * the CFG, valid as long as the CFG is, whatever becomes of the block order's entry.
 */
export const dominatorTreeAnalysis = defineAnalysis<DominatorTree>({
  name: "dominators",
  description: "dominator tree",
  cfgOnly: true,
  compute: (fn, am) => DominatorTree.compute(fn, am.get(blockOrderAnalysis)),
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
