/**
 * `correlated-branch`: folds a `condbr` whose condition was already decided by a dominating
 * branch (correlated conditions). If block B ends in `condbr c, T, F` with T ≠ F and T's
 * only predecessor is B, then c is nonzero everywhere T dominates (and zero everywhere F
 * dominates, symmetrically): SSA values do not change, and every path to such a block
 * last left B through that edge. A later `condbr` on c — or on a compare with the same
 * operands as a decided compare, or its swapped or inverted form (`ne p, 0` decides
 * `eq p, 0` and `ne 0, p`) — becomes a `br` (`util/cfg.ts` `foldBranch`, which keeps the
 * right phi pairs when both targets are one block). simplify-cfg then merges the blocks.
 *
 * Facts are collected in a walk of the dominator tree with a scoped table; folds are
 * applied after the walk (removing edges only removes paths, so facts stay true), then
 * unreachable blocks are removed. Cost: O(blocks + instructions).
 */
import type { BasicBlock, Function } from "@luabpf/ir";
import { foldConditionalBranch } from "@luabpf/ir";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { factsOf, isCompare, lookupCondition } from "../util/conditions.js";
import { walkDominatorTree } from "../util/scoped-walk.js";
import { censusAnalysis } from "../analysis/census.js";
import { removeUnreachableBlocks } from "@luabpf/ir";

/**
 * Could a branch of `fn` be decided by another? Only if two `condbr`s test the same value,
 * or compares of the same two operands (the keys of util/conditions.ts: a fact about `c`
 * answers a later test of `c`, or of a compare with `c`'s operands in either order). One
 * look at each block's terminator.
 */
function hasRepeatedTest(fn: Function): boolean {
  // By value id, as the fact keys are.
  const tested = new Set<number>();
  // Compare operand pairs: the lower operand id → the higher ids it was compared with.
  const pairs = new Map<number, number[]>();
  for (const bb of fn.blocks) {
    const term = bb.terminator;
    if (term?.opcode !== "condbr") continue;
    const c = term.operands[0]!;
    if (tested.has(c.id)) return true;
    tested.add(c.id);
    if (!isCompare(c)) continue;
    const [x, y] = [c.operands[0]!.id, c.operands[1]!.id];
    const [a, b] = x <= y ? [x, y] : [y, x];
    const list = pairs.get(a);
    if (list === undefined) pairs.set(a, [b]);
    else if (list.includes(b)) return true;
    else list.push(b);
  }
  return false;
}

export const correlatedBranch = defineFunctionPass({
  name: "correlated-branch",
  description: "fold conditional branches decided by a dominating branch on the same condition",
  // A branch decided by another one: the same test twice.
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("condbr") >= 2 && hasRepeatedTest(fn),
  run(fn, ctx) {
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const folds: [BasicBlock, boolean][] = [];
    walkDominatorTree<boolean>(fn, dt, (bb, facts, pred) => {
      // The edge into bb decides its predecessor's condition when bb has no other way in.
      const pt = pred?.terminator;
      if (pt && pt.opcode === "condbr" && pt.targets[0] !== pt.targets[1]) {
        for (const [key, v] of factsOf(pt.operands[0]!, pt.targets[0] === bb)) facts.set(key, v);
      }
      const term = bb.terminator;
      if (term && term.opcode === "condbr") {
        const known = lookupCondition(facts, term.operands[0]!);
        if (known !== undefined) folds.push([bb, known]);
      }
    });
    for (const [bb, taken] of folds) {
      foldConditionalBranch(bb, taken);
      ctx.stat("branches-folded");
    }
    if (folds.length === 0) return false;
    const removed = removeUnreachableBlocks(fn);
    if (removed) ctx.stat("blocks-unreachable", removed);
    return true;
  },
});
