/**
 * `loop-simplify`: puts every natural loop in LLVM's simplified form — a preheader (the
 * header's only outside predecessor, branching only to the header), a single latch (one
 * back edge) and dedicated exits (every predecessor of an exit block is in the loop) — so
 * that later passes have a place to hoist to, one back edge to reason about, and exit
 * blocks that run only when the loop is left.
 *
 * Each shape is made by `splitPredecessors` (which also moves the phi pairs): the
 * entering edges move onto a new preheader, the back edges onto a new latch, and the
 * in-loop edges into a shared exit onto a new dedicated exit block. Loops are visited
 * innermost first; the new blocks are recorded in the loop snapshot as they are made
 * (`LoopInfo.addBlock`), so outer loops see them. Cost: O(loops × (blocks + edges)).
 *
 * The empty blocks it adds are what `simplify-cfg` removes as forwarding blocks: run it
 * right before a pass that needs the form (`licm` makes its own preheaders).
 */
import { splitPredecessors, type BasicBlock, type Loop } from "@luabpf/ir";
import { loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";

function distinct(blocks: readonly BasicBlock[]): BasicBlock[] {
  return [...new Set(blocks)];
}

export const loopSimplify = defineFunctionPass({
  name: "loop-simplify",
  description: "give every loop a preheader, a single latch and dedicated exit blocks",
  run(fn, ctx) {
    const info = ctx.analyses.get(loopInfoAnalysis);
    let changed = false;
    for (const loop of info.innermostFirst()) {
      if (!loop.preheader()) {
        const entering = loop.entering();
        if (entering.length > 0) {
          info.addBlock(splitPredecessors(loop.header, entering), loop.parent);
          ctx.stat("preheaders-inserted");
          changed = true;
        }
      }
      const latches = distinct(loop.header.preds.filter((p) => loop.contains(p)));
      if (latches.length > 1) {
        info.addBlock(splitPredecessors(loop.header, latches), loop);
        ctx.stat("latches-merged");
        changed = true;
      }
      for (const exit of loop.exitBlocks()) {
        const preds = distinct(exit.preds);
        const inside = preds.filter((p) => loop.contains(p));
        if (inside.length === preds.length) continue;
        info.addBlock(splitPredecessors(exit, inside), commonLoop(info.loopFor(exit), loop));
        ctx.stat("exits-dedicated");
        changed = true;
      }
    }
    return changed;
  },
});

/** The innermost loop that contains both `outer` (if any) and `loop`. */
function commonLoop(outer: Loop | undefined, loop: Loop): Loop | undefined {
  let l = outer;
  while (l && !l.containsLoop(loop)) l = l.parent;
  return l;
}
