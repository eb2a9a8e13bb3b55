/**
 * Differential property tests: random executable programs (@luabpf/test-support gen-program.ts) run in the IR
 * interpreter before and after each pass, and after the -O1 and -O2 pipelines, on random
 * inputs. The return value and the final map contents must be equal. The pass manager
 * runs with verification and the preserved-analysis check on, so a pass that breaks the
 * IR or lies about what it preserves fails here too. On failure fast-check shrinks the
 * program and the message shows the IR before and after.
 *
 * LUABPF_PROPERTY_RUNS scales the number of programs (default below: ~3,500 in total).
 * LUABPF_LOAD_PASS=./my-pass.js[,more.js] adds the passes those modules export (as
 * `luabpf --load-pass` does): a researcher's pass gets the same 500 programs.
 */
import fc from "fast-check";
import { parseModule, printModule, type Module } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { PassManager, PIPELINES, defaultRegistry, formatStatistics, loadPassModule, type PipelineReport } from "../src/index.js";
import { buildProgram, inputArb, tapeArb, type ProgramInput } from "@luabpf/test-support";
import { interpret, InterpError } from "./interp.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

/** The built-in passes plus those of LUABPF_LOAD_PASS (paths relative to the working directory). */
const registry = defaultRegistry.clone();
for (const path of (process.env.LUABPF_LOAD_PASS ?? "").split(",").filter(Boolean)) await loadPassModule(path, registry);

interface Outcome {
  value: string;
  maps: string;
}

function observe(m: Module, input: ProgramInput): Outcome {
  try {
    const r = interpret(m, "f", ["ctx", ...input.args], { packet: input.packet, ctx: input.ctx, maxSteps: 100_000 });
    return { value: String(r.value), maps: JSON.stringify(r.maps.snapshot()) };
  } catch (e) {
    if (e instanceof InterpError) return { value: `trap: ${e.message}`, maps: "" };
    throw e;
  }
}

/** Checks `pipeline` on one program and inputs; returns the report for statistics. */
function checkPipeline(pipeline: string, tape: number[], inputs: ProgramInput[]): PipelineReport {
  const original = buildProgram(tape);
  const before = inputs.map((i) => observe(original, i));
  const optimized = parseModule(printModule(original));
  const report = new PassManager(registry.parse(pipeline), { verify: true, checkAnalyses: true }).run(optimized);
  inputs.forEach((input, k) => {
    const after = observe(optimized, input);
    if (after.value !== before[k]!.value || after.maps !== before[k]!.maps) {
      throw new Error(
        `${pipeline} changed behaviour on f(ctx, ${input.args.join(", ")}) packet [${[...input.packet].join(",")}]:\n` +
          `  before: ${before[k]!.value} maps ${before[k]!.maps}\n  after:  ${after.value} maps ${after.maps}\n` +
          `--- before ---\n${printModule(original)}--- after ---\n${printModule(optimized)}`,
      );
    }
  });
  return report;
}

const programs = fc.tuple(tapeArb, fc.array(inputArb, { minLength: 3, maxLength: 3 }));

describe("differential: interpreter before and after", () => {
  for (const pass of registry.names()) {
    test(`pass ${pass}`, () => {
      fc.assert(fc.property(programs, ([tape, inputs]) => void checkPipeline(pass, tape, inputs)), { numRuns: Math.round(500 * SCALE) });
    });
  }
  test("non-default options: dce(aggressive=false), gvn(loads=false)", () => {
    fc.assert(fc.property(programs, ([tape, inputs]) => void checkPipeline("dce(aggressive=false),gvn(loads=false)", tape, inputs)), { numRuns: Math.round(200 * SCALE) });
  });
  for (const level of [1, 2] as const) {
    test(`-O${level} pipeline`, () => {
      const totals = new Map<string, number>();
      fc.assert(
        fc.property(programs, ([tape, inputs]) => {
          const report = checkPipeline(PIPELINES[level], tape, inputs);
          for (const p of report.passes) for (const [k, v] of Object.entries(p.stats)) totals.set(`${p.name}:${k}`, (totals.get(`${p.name}:${k}`) ?? 0) + v);
        }),
        { numRuns: Math.round(1200 * SCALE) },
      );
      // The pipeline must actually do something on these programs (a test that cannot fail is a defect).
      expect(totals.get("sccp:constants-folded") ?? 0).toBeGreaterThan(0);
      expect(totals.get("dce:instructions-dead") ?? 0).toBeGreaterThan(0);
      expect(totals.get("simplify-cfg:blocks-merged") ?? 0).toBeGreaterThan(0);
      if (level === 2) expect(totals.get("gvn:expressions-numbered") ?? 0).toBeGreaterThan(0);
    });
  }
  test("the report of a pipeline run formats", () => {
    const m = buildProgram(Array.from({ length: 200 }, (_, i) => (i * 7919) % 1000));
    const report = new PassManager(defaultRegistry.parse(PIPELINES[2])).run(m);
    expect(formatStatistics(report)).toMatch(/#0 inline: 1 run\(s\), 0 changed/);
    expect(formatStatistics(report)).toMatch(/#1 sccp: 1 run\(s\)/);
  });
});
