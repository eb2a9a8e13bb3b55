/**
 * The loop passes on random programs (@luabpf/test-support gen-program.ts, loops with several entries, latches
 * and exits): loop-simplify leaves every loop in simplified form, licm leaves nothing
 * hoistable behind, both do real work; and `ctx.analyses.invalidate` inside a pass.
 * (Behaviour before and after is checked for every registered pass by differential.test.ts.)
 */
import fc from "fast-check";
import { isSpeculatable, parseModule, printModule, splitPredecessors, type Function } from "@luabpf/ir";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  AnalysisManager,
  PassManager,
  Preserved,
  defineFunctionPass,
  dominanceFrontierAnalysis,
  formatStatistics,
  dominatorTreeAnalysis,
  licm,
  loopInfoAnalysis,
  loopSimplify,
  postDominatorTreeAnalysis,
} from "../src/index.js";
import { buildProgram, tapeArb } from "@luabpf/test-support";

function loopsOf(fn: Function) {
  return new AnalysisManager().get(fn, loopInfoAnalysis);
}

describe("loop-simplify", () => {
  test("every loop ends up with a preheader, one latch and dedicated exits", () => {
    const totals: Record<string, number> = {};
    fc.assert(
      fc.property(tapeArb, (tape) => {
        const m = buildProgram(tape);
        const report = new PassManager([loopSimplify()], { verify: true, checkAnalyses: true }).run(m);
        for (const [k, v] of Object.entries(report.passes[0]!.stats)) totals[k] = (totals[k] ?? 0) + v;
        for (const l of loopsOf(m.functions[0]!).loops) expect(l.isSimplified(), printModule(m)).toBe(true);
        // A second run has nothing to do.
        expect(new PassManager([loopSimplify()]).run(m).passes[0]!.changed).toBe(0);
      }),
      { numRuns: 300 },
    );
    expect(totals, JSON.stringify(totals)).toMatchObject({ "preheaders-inserted": expect.any(Number), "latches-merged": expect.any(Number), "exits-dedicated": expect.any(Number) });
    expect(totals["preheaders-inserted"]).toBeGreaterThan(0);
    expect(totals["latches-merged"]).toBeGreaterThan(0);
    expect(totals["exits-dedicated"]).toBeGreaterThan(0);
  });
});

describe("licm", () => {
  // doc:begin licm-property
  test("leaves no hoistable instruction in a loop, and hoists pure instructions and context loads", () => {
    const totals: Record<string, number> = {};
    fc.assert(
      fc.property(tapeArb, (tape) => {
        const m = buildProgram(tape);
        const report = new PassManager([licm()], { verify: true, checkAnalyses: true }).run(m);
        for (const [k, v] of Object.entries(report.passes[0]!.stats)) totals[k] = (totals[k] ?? 0) + v;
        const fn = m.functions[0]!;
        for (const l of loopsOf(fn).loops) {
          expect(l.preheader()).toBeDefined();
          for (const bb of l.blocks)
            for (const i of bb.instructions())
              if (isSpeculatable(i) && i.opcode !== "load") expect(i.operands.some((v) => !l.isInvariant(v)), `%${i.id} is invariant:\n${printModule(m)}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(totals["instructions-hoisted"]).toBeGreaterThan(0);
    expect(totals["loads-hoisted"]).toBeGreaterThan(0);
    expect(totals["preheaders-inserted"]).toBeGreaterThan(0);
  });
  // doc:end licm-property

  // doc:begin licm-run
  test("licm runs without registration, with options, and counts what it did", () => {
    const m = parseModule(readFileSync(join(import.meta.dirname, "files/licm.ir"), "utf8"));
    const pm = new PassManager([licm({ loads: false })], { verify: true, checkAnalyses: true });
    const report = pm.run(m);
    expect(pm.toString()).toBe("licm(loads=false)");
    expect(report.passes[0]!.stats).toEqual({ "preheaders-inserted": 1, "instructions-hoisted": 1, "instructions-added": 2, "blocks-added": 1 });
    expect(formatStatistics(report)).toMatch(/^#0 licm\(loads=false\): 1 run\(s\), 1 changed, [\d.]+ ms\n/);
  });
  // doc:end licm-run

  const LOOP = `
func @f(ptr.ctx %0, i64 %1) -> i64 {
@bb0:
  %20 = alloca 8, align 8
  store i64 0, %20, 0
  br @bb1
@bb1:
  %2 = phi i64 [0, @bb0], [%7, @bb2]
  %3 = phi i64 [0, @bb0], [%8, @bb2]
  %4 = ult i64 %2, 4
  condbr %4, @bb2, @bb3
@bb2:
  %5 = load i32 %0, 0
  %6 = zext i32 %5 to i64
  %9 = mul i64 %1, 3
  %10 = add i64 %6, %9
  %7 = add i64 %2, 1
  %8 = add i64 %3, %10
  br @bb1
@bb3:
  ret %3
}`;

  test("a context load and the arithmetic on it move to the preheader", () => {
    const m = parseModule(LOOP);
    new PassManager([licm()], { verify: true }).run(m);
    const text = printModule(m);
    expect(text).toMatch(/@bb0:\n(.*\n)*  %5 = load i32 %0, 0\n  %6 = zext i32 %5 to i64\n  %9 = mul i64 %1, 3\n  %10 = add i64 %6, %9\n  br @bb1\n/);
  });

  test("a store through the context in the loop keeps the load in place; loads=false too", () => {
    const stored = parseModule(LOOP.replace("  %7 = add i64 %2, 1\n", "  %7 = add i64 %2, 1\n  store i32 1, %0, 4\n"));
    new PassManager([licm()], { verify: true }).run(stored);
    expect(printModule(stored)).toMatch(/@bb2:\n  %5 = load i32 %0, 0\n/);
    const noLoads = parseModule(LOOP);
    new PassManager([licm({ loads: false })], { verify: true }).run(noLoads);
    expect(printModule(noLoads)).toMatch(/@bb2:\n  %5 = load i32 %0, 0\n/);
    expect(printModule(noLoads)).toMatch(/@bb0:\n(.*\n)*  %9 = mul i64 %1, 3\n  br @bb1/);
  });

  test("a helper that may write memory keeps the load in place; a stack store does not", () => {
    const called = parseModule(LOOP.replace("  %7 = add i64 %2, 1\n", "  %7 = add i64 %2, 1\n  %21 = call i64 helper 2 (%0, %20, %20, 0)\n"));
    new PassManager([licm()], { verify: true }).run(called);
    expect(printModule(called)).toMatch(/@bb2:\n  %5 = load i32 %0, 0\n/);
    const stack = parseModule(LOOP.replace("  %7 = add i64 %2, 1\n", "  %7 = add i64 %2, 1\n  store i64 %7, %20, 0\n"));
    new PassManager([licm()], { verify: true }).run(stack);
    expect(printModule(stack)).not.toMatch(/@bb2:\n  %5 = load/);
  });
});

describe("ctx.analyses.invalidate", () => {
  const DIAMOND = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = ult i64 %0, 4
  condbr %1, @bb1, @bb2
@bb1:
  br @bb3
@bb2:
  br @bb3
@bb3:
  %2 = phi i64 [1, @bb1], [2, @bb2]
  ret %2
}`;

  test("a pass that edits the CFG and invalidates reads fresh analyses", () => {
    const seen: number[] = [];
    const splitter = defineFunctionPass({
      name: "split-join",
      description: "test: splits the join's predecessors, then asks for dominators again",
      preserves: Preserved.cfg(),
      run(fn, ctx) {
        const before = ctx.analyses.get(dominatorTreeAnalysis);
        const join = fn.blocks[3]!;
        const mid = splitPredecessors(join, join.preds);
        ctx.analyses.invalidate();
        const after = ctx.analyses.get(dominatorTreeAnalysis);
        seen.push(before === after ? 0 : 1, after.idom(join) === mid ? 1 : 0);
        return true;
      },
    });
    const am = new AnalysisManager();
    // checkAnalyses: what is cached at the end (the fresh tree) must equal a recomputation.
    new PassManager([splitter()], { verify: true, checkAnalyses: true, analyses: am }).run(parseModule(DIAMOND));
    expect(seen).toEqual([1, 1]);
    expect(am.computeCounts.get("dominators")).toBe(2);
  });

  test("invalidating a key drops it and what depends on it; a Preserved set keeps what it names", () => {
    const fn = parseModule(DIAMOND).functions[0]!;
    const am = new AnalysisManager();
    const fa = am.forFunction(fn);
    fa.get(dominanceFrontierAnalysis);
    fa.get(postDominatorTreeAnalysis);
    fa.invalidate(dominatorTreeAnalysis);
    expect(fa.cached(dominatorTreeAnalysis)).toBeUndefined();
    expect(fa.cached(dominanceFrontierAnalysis)).toBeUndefined();
    expect(fa.cached(postDominatorTreeAnalysis)).toBeDefined();
    fa.get(dominatorTreeAnalysis);
    fa.invalidate(Preserved.only(dominatorTreeAnalysis));
    expect(fa.cached(dominatorTreeAnalysis)).toBeDefined();
    expect(fa.cached(postDominatorTreeAnalysis)).toBeUndefined();
    fa.invalidate();
    expect(fa.cached(dominatorTreeAnalysis)).toBeUndefined();
  });
});
