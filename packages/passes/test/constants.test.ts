// Dense conditional constant propagation (an instance of the generic dataflow solver)
// against sparse SCCP: the same reachable blocks, and every constant SCCP proves the dense
// solver proves too. Both are edge-precise: the k-th phi pair belongs to the k-th edge into
// the block, so `condbr c, @b, @b` on a constant feeds only the taken pair.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseModule, type Function } from "@luabpf/ir";
import { denseConstants } from "../src/analysis/constants.js";
import { solveSccp } from "../src/passes/sccp.js";
import { buildProgram, tapeArb } from "@luabpf/test-support";

function compare(fn: Function): number {
  const dense = denseConstants(fn);
  const sparse = solveSccp(fn);
  let constants = 0;
  for (const bb of fn.blocks) {
    const reachable = dense.atEnd[bb.id] !== null && dense.atEnd[bb.id] !== undefined;
    expect(reachable, `@bb${bb.id} reachability`).toBe(sparse.executable[bb.id] === 1);
    if (!reachable) continue;
    for (const inst of bb) {
      if (inst.type.kind === "void") continue;
      const d = dense.valueOf(inst, bb);
      const s = sparse.values[inst.id];
      if (typeof s === "bigint") {
        expect(d, `%${inst.id} (${inst.opcode})`).toBe(s);
        constants++;
      }
    }
  }
  return constants;
}

describe("dense constant propagation", () => {
  test("folds through a branch on a constant and a phi", () => {
    const fn = parseModule(`func @f(i64 %0) -> i64 {
@bb0:
  %1 = add i64 2, 3
  %2 = eq i64 %1, 5
  condbr %2, @bb1, @bb2
@bb1:
  br @bb3
@bb2:
  br @bb3
@bb3:
  %3 = phi i64 [%1, @bb1], [%0, @bb2]
  %4 = mul i64 %3, 2
  ret %4
}`).functions[0]!;
    const dense = denseConstants(fn);
    expect(dense.atEnd[2]).toBeNull(); // @bb2 is never reached
    const last = fn.blocks[3]!;
    expect(dense.valueOf(last.phis()[0]!, last)).toBe(5n);
    expect(dense.valueOf(last.last!.prev!, last)).toBe(10n);
    expect(compare(fn)).toBeGreaterThan(0);
  });

  test("keeps apart the phi pairs of two edges into one block", () => {
    for (const [cond, expected] of [[0, 2n], [1, 1n]] as const) {
      const fn = parseModule(`func @f(i64 %0) -> i64 {
@bb0:
  condbr ${cond}, @bb1, @bb1
@bb1:
  %1 = phi i64 [1, @bb0], [2, @bb0]
  ret %1
}`).functions[0]!;
      const bb = fn.blocks[1]!;
      expect(denseConstants(fn).valueOf(bb.phis()[0]!, bb)).toBe(expected);
      expect(solveSccp(fn).values[bb.phis()[0]!.id]).toBe(expected);
    }
  });

  test("agrees with SCCP on random programs with loops, phis, memory and maps", () => {
    let constants = 0;
    fc.assert(
      fc.property(tapeArb, (tape) => {
        constants += compare(buildProgram(tape).functions[0]!);
      }),
      { numRuns: 300 },
    );
    // Seeds that once found SCCP merging both phi pairs of `condbr 255, @bb1, @bb1`.
    for (const seed of [1060498733, 1819251771]) {
      fc.assert(
        fc.property(tapeArb, (tape) => {
          constants += compare(buildProgram(tape).functions[0]!);
        }),
        { numRuns: 300, seed },
      );
    }
    expect(constants).toBeGreaterThan(0); // the comparison is not vacuous
  });
});
