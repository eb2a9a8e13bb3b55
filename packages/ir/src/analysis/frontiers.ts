/**
 * Dominance frontiers, with the algorithm of Cooper, Harvey and Kennedy, "A Simple, Fast
 * Dominance Algorithm" (2001), figure 5.
 *
 * DF(x) = { y : x dominates a predecessor of y and x does not strictly dominate y }.
 * For each join point y and each reachable predecessor p, walk `runner` from p up the
 * dominator tree until idom(y), adding y to DF(runner). Each frontier entry is added once
 * (all additions for one y happen consecutively, so checking the last entry suffices).
 * Cost: O(edges + total frontier size). Used for phi placement (Cytron et al. 1991).
 */
import type { BasicBlock, Function } from "../core.js";
import type { DominatorTree } from "./dominators.js";

/**
 * The dominance frontier of every block, indexed by block id (`fn.blockIdBound` entries;
 * unreachable blocks and missing ids have an empty frontier). Each frontier lists blocks in
 * the order of `fn.blocks`.
 */
export function dominanceFrontiers(fn: Function, dt: DominatorTree): BasicBlock[][] {
  const df: BasicBlock[][] = Array.from({ length: fn.blockIdBound }, () => []);
  for (const y of fn.blocks) {
    if (!dt.isReachable(y)) continue;
    const stop = dt.idom(y);
    for (const p of y.preds) {
      if (!dt.isReachable(p)) continue;
      for (let runner: BasicBlock | undefined = p; runner && runner !== stop; runner = dt.idom(runner)) {
        const list = df[runner.id]!;
        if (list[list.length - 1] !== y) list.push(y);
      }
    }
  }
  return df;
}
