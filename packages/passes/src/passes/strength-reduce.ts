/**
 * `strength-reduce`: unsigned division and remainder by a power of two become a shift and
 * a mask (`udiv x, 2^k → lshr x, k`, `urem x, 2^k → and x, 2^k-1`). Exact for every x
 * because the divisor is a nonzero constant, read unsigned. Signed division is left alone:
 * it rounds toward zero, a shift rounds down.
 *
 * Preserves the CFG analyses.
 */
import { bitsOf } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { constValue } from "../util/ir.js";
import { log2Exact } from "../util/fold.js";
import { censusAnalysis } from "../analysis/census.js";

export const strengthReduce = defineFunctionPass({
  name: "strength-reduce",
  description: "unsigned division/remainder by a power of two to shift/mask",
  options: {
    rem: { type: "boolean", default: true, description: "also rewrite urem" },
  },
  preserves: Preserved.cfg(),
  applies(fn, ctx, options) {
    const census = ctx.analyses.get(censusAnalysis);
    return census.count("udiv") > 0 || (options.rem && census.count("urem") > 0);
  },
  run(fn, ctx, options) {
    let changed = false;
    for (const inst of [...fn.instructions()]) {
      const isDiv = inst.opcode === "udiv";
      if (!isDiv && !(options.rem && inst.opcode === "urem")) continue;
      const divisor = constValue(inst.operands[1]!);
      if (divisor === undefined) continue;
      const k = log2Exact(bitsOf(inst.type), divisor);
      if (k < 0) continue;
      const T = inst.type;
      const amount = isDiv ? BigInt(k) : (1n << BigInt(k)) - 1n;
      const repl = fn.createInstruction(isDiv ? "lshr" : "and", T, T, [inst.operands[0]!, fn.constant(T, amount)]);
      repl.insertBefore(inst);
      inst.replaceAllUsesWith(repl);
      inst.erase();
      ctx.stat(isDiv ? "udiv-to-lshr" : "urem-to-and");
      changed = true;
    }
    return changed;
  },
});
