/**
 * `licm`: loop-invariant code motion. An instruction inside a loop whose operands are all
 * defined outside it computes the same value on every iteration; moving it to the loop's
 * preheader computes it once. This is the worked example of docs/writing-a-pass.md.
 *
 * What may move is the opcode table's business, not this file's: `isSpeculatable` says
 * yes for pure instructions (which cannot trap, so hoisting one out of a branch inside the
 * loop, or out of a loop that runs zero times, is safe) and for loads from the context
 * (the kernel checks each context offset statically). A load moves only when no
 * instruction of the loop may write memory it may alias (`mayWriteMemory`, refined for
 * helper calls by the helper-effects table, and the `mayAlias` root test).
 *
 * Loops are visited innermost first, blocks in reverse postorder (header first), so an
 * operand hoisted a moment ago is already outside and its users follow; an instruction
 * hoisted out of an inner loop lands in the inner preheader, which belongs to the outer
 * loop, and can continue outwards. A loop without a preheader gets one
 * (`insertPreheader`); that edits the CFG, so the pass then drops the cached analyses
 * (`ctx.analyses.invalidate()`) and reads fresh loops. Hoisting itself moves instructions
 * only: the CFG analyses computed after the last edit stay valid (`Preserved.cfg()`).
 * Cost: O(loops × instructions in them).
 */
import { insertPreheader, isSpeculatable, mayWriteMemory, type Instruction, type Loop } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { callEffects, mayAlias } from "../util/memory.js";

/** May `writer` change the bytes `load` reads? */
function clobbers(writer: Instruction, load: Instruction): boolean {
  if (writer.opcode === "call") return callEffects(writer).writesMemory;
  const address = writer.opcode === "store" ? writer.operands[1]! : writer.operands[0]!;
  return mayAlias(address, load.operands[0]!);
}

export const licm = defineFunctionPass({
  name: "licm",
  description: "hoist loop-invariant pure instructions and context loads into loop preheaders",
  options: {
    loads: { type: "boolean", default: true, description: "also hoist invariant context loads that no write in the loop may alias" },
  },
  preserves: Preserved.cfg(),
  run(fn, ctx, options) {
    let loops = ctx.analyses.get(loopInfoAnalysis);
    const missing = loops.loops.filter((l) => !l.preheader());
    for (const loop of missing) insertPreheader(loop, loops);
    if (missing.length > 0) {
      ctx.stat("preheaders-inserted", missing.length);
      ctx.analyses.invalidate();
      loops = ctx.analyses.get(loopInfoAnalysis);
    }
    let hoisted = 0;
    for (const loop of loops.innermostFirst()) hoisted += hoistInvariants(loop, options.loads, ctx.stat);
    return missing.length > 0 || hoisted > 0;
  },
});

function hoistInvariants(loop: Loop, loads: boolean, stat: (name: string) => void): number {
  const preheader = loop.preheader()!;
  const writers = loop.blocks.flatMap((bb) => bb.instructions().filter(mayWriteMemory));
  let hoisted = 0;
  for (const bb of loop.blocks) {
    for (const inst of bb.instructions()) {
      if (!isSpeculatable(inst) || !inst.operands.every((v) => loop.isInvariant(v))) continue;
      const isLoad = inst.opcode === "load";
      if (isLoad && (!loads || writers.some((w) => clobbers(w, inst)))) continue;
      inst.moveBefore(preheader.terminator!);
      stat(isLoad ? "loads-hoisted" : "instructions-hoisted");
      hoisted++;
    }
  }
  return hoisted;
}
