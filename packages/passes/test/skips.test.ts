/**
 * The pass manager's two ways of not running a pass must never change the output:
 *
 * - a pass's precondition (`applies`, read from the opcode census) may say false only where
 *   the pass would change nothing: here every such execution along the -O2 pipeline is run
 *   anyway, on a copy, and must report no change and leave the text and the id counters as
 *   they were;
 * - a built-in pass is not run again on a function nothing changed since it last ran there
 *   without a change: the -O2 pipeline with both skips and the same passes as plain objects
 *   (neither built-in nor with a precondition: every execution runs) must print the same
 *   module, ids included.
 *
 * Inputs: random executable programs (@luabpf/test-support gen-program.ts) and the modules
 * of test/files/*.ir.
 */
import fc from "fast-check";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Builder, i64, Module, parseModule, printFunction, printModule, ptrType, type Function } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { buildProgram, tapeArb } from "@luabpf/test-support";
import { AnalysisManager, censusAnalysis, defineFunctionPass, PassManager, pipelineForLevel, type FunctionPass, type Pass } from "../src/index.js";
import { markBuiltIn } from "../src/pass.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

const FILES = join(import.meta.dirname, "files");
const fileModules = (): [string, Module][] =>
  readdirSync(FILES)
    .filter((f) => f.endsWith(".ir"))
    .sort()
    .flatMap((f): [string, Module][] => {
      try {
        return [[f, parseModule(readFileSync(join(FILES, f), "utf8"))]];
      } catch {
        return []; // a file of deliberately invalid IR
      }
    });

/** The pass as a plain object without its precondition: the pass manager always runs it. */
const always = (p: Pass): Pass => {
  const { applies: _, ...rest } = p as FunctionPass;
  return { ...rest } as Pass;
};

/** Pipeline positions (passes run before) at which every precondition is checked. */
const CHECKPOINTS = new Set([0, 4, 14, 29]);

/**
 * Runs -O2 over `m` pass by pass; at the input and a few points along the way, for every
 * pass with a precondition and every function where it is false, runs the pass on a copy
 * anyway and checks that it changes nothing. Returns how many such executions there were.
 */
function checkPreconditions(m: Module): number {
  let checked = 0;
  const pipeline = pipelineForLevel(2);
  const conditional = pipeline.filter((p): p is FunctionPass => p.kind === "function" && p.applies !== undefined);
  const analyses = new AnalysisManager();
  pipeline.forEach((next, k) => {
    if (CHECKPOINTS.has(k)) {
      // One copy serves every check: a pass that changes nothing leaves it equal to `m`.
      const copy = parseModule(printModule(m));
      for (const fn of m.functions) {
        const text = printFunction(fn);
        const twin = copy.functions.find((f) => f.name === fn.name)!;
        for (const pass of conditional) {
          if (pass.applies!(fn, { module: m, analyses: analyses.forFunction(fn), stat: () => {} })) continue;
          const bounds = [twin.valueIdBound, twin.blockIdBound];
          const report = new PassManager([always(pass)]).run(twin);
          expect(report.passes[0]!.changed, `${pass.name} on @${fn.name} (precondition false) changed it:\n${text}`).toBe(0);
          expect(printFunction(twin)).toBe(text);
          expect([twin.valueIdBound, twin.blockIdBound]).toEqual(bounds);
          checked++;
        }
      }
    }
    new PassManager([next], { analyses }).run(m);
  });
  return checked;
}

/** -O2 with the skips and with every execution run: the same module, ids included. */
function checkSameOutput(text: string): void {
  const skipping = parseModule(text);
  const running = parseModule(text);
  new PassManager(pipelineForLevel(2)).run(skipping);
  new PassManager(pipelineForLevel(2).map(always)).run(running);
  expect(printModule(skipping)).toBe(printModule(running));
}

describe("skipped pass executions change nothing", () => {
  test("preconditions: random programs", () => {
    let checked = 0;
    fc.assert(
      fc.property(tapeArb, (tape) => {
        checked += checkPreconditions(buildProgram(tape));
      }),
      { numRuns: Math.round(40 * SCALE) },
    );
    // The preconditions must actually say false somewhere (a test that cannot fail is a defect).
    expect(checked).toBeGreaterThan(100);
  });

  test("preconditions: the modules of test/files", () => {
    let checked = 0;
    for (const [, m] of fileModules()) checked += checkPreconditions(m);
    expect(checked).toBeGreaterThan(50);
  });

  test("repeats and preconditions: -O2 prints the same module as without skips", () => {
    fc.assert(
      fc.property(tapeArb, (tape) => checkSameOutput(printModule(buildProgram(tape)))),
      { numRuns: Math.round(40 * SCALE) },
    );
    for (const [, m] of fileModules()) checkSameOutput(printModule(m));
  });

  test("a built-in pass is not called again on a function nothing changed since it changed nothing there", () => {
    let calls = 0;
    let change = false;
    const probe = defineFunctionPass({
      name: "probe",
      description: "counts its calls; changes the function when told to",
      run(fn) {
        calls++;
        if (!change) return false;
        const ret = fn.entry.terminator!;
        ret.setOperand(0, fn.constant(i64, 7)); // a real change: the returned value
        return true;
      },
    });
    markBuiltIn(probe);
    const touch = defineFunctionPass({ name: "touch", description: "changes the function", run: (fn) => (fn.entry.terminator!.setOperand(0, fn.constant(i64, 9)), true) });
    const m = new Module();
    const fn = m.addFunction("f", [], i64);
    new Builder(fn).atEnd(fn.createBlock()).ret(fn.constant(i64, 0));
    // Unchanged, then unchanged again: the repeat is skipped (but still counted as an execution).
    let report = new PassManager([probe(), probe(), probe()]).run(m);
    expect(calls).toBe(1);
    expect(report.passes.map((p) => p.executions)).toEqual([1, 1, 1]);
    // A change in between: it runs again.
    calls = 0;
    new PassManager([probe(), touch(), probe()]).run(m);
    expect(calls).toBe(2);
    // A run that changed the function is no reason to skip the next.
    calls = 0;
    change = true;
    report = new PassManager([probe(), probe()]).run(m);
    expect(calls).toBe(2);
    expect(report.passes.map((p) => p.changed)).toEqual([1, 1]);
  });
});

describe("opcode census", () => {
  const program = (): Function => {
    const m = new Module();
    const fn = m.addFunction("prog", [ptrType("ctx"), i64], i64);
    const b = new Builder(fn).atEnd(fn.createBlock());
    const x = b.binary("udiv", fn.params[1]!, b.const(8));
    b.ret(b.add(x, b.binary("urem", x, b.const(3))));
    return fn;
  };
  test("counts the instructions of the opcodes preconditions ask about", () => {
    const census = new AnalysisManager().get(program(), censusAnalysis);
    expect([census.count("udiv"), census.count("urem"), census.count("condbr"), census.count("store")]).toEqual([1, 1, 0, 0]);
    expect(census.functionCalls).toBe(0);
  });
  test("strength-reduce skips a function without udiv and urem, and runs where there is one", () => {
    const fn = program();
    const sr = pipelineForLevel(2).find((p) => p.name === "strength-reduce") as FunctionPass;
    const ctx = { module: undefined, analyses: new AnalysisManager().forFunction(fn), stat: () => {} };
    expect(sr.applies!(fn, ctx)).toBe(true);
    const empty = new Module().addFunction("f", [], i64);
    new Builder(empty).atEnd(empty.createBlock()).ret(empty.constant(i64, 0));
    expect(sr.applies!(empty, { ...ctx, analyses: new AnalysisManager().forFunction(empty) })).toBe(false);
  });
});
