/**
 * The value-range analysis and `range-simplify` on random executable programs
 * (@luabpf/test-support gen-program.ts):
 *
 * - soundness of the analysis: each program is instrumented with a check after every
 *   integer value the analysis gives a range (a call of a test-only helper that receives
 *   the value and its id); running it in the interpreter on random inputs, every value
 *   computed must lie in its range, and no block the analysis calls unreachable may run;
 * - `range-simplify` keeps behaviour (return value and maps, interpreter before and after)
 *   and each of its rewrites fires on these programs (a rule that never fires is untested).
 */
import fc from "fast-check";
import { i64, parseModule, printModule, voidType, type Function, type Instruction, type Module } from "@luabpf/ir";
import { buildProgram, inputArb, tapeArb, type ProgramInput } from "@luabpf/test-support";
import { describe, expect, test } from "vitest";
import { AnalysisManager, PassManager, defaultRegistry, solveValueRanges } from "../src/index.js";
import { dominatorTreeAnalysis } from "../src/analysis/cfg.js";
import { formatRange, rangeContains, type Range } from "../src/util/range-lattice.js";
import { interpret, InterpError } from "./interp.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);
const CHECK_HELPER = 9999;
const DEAD_HELPER = 9998;

/** Adds `call helper 9999(v, id)` after every value with a range; returns the ranges by id and the unreachable blocks. */
function instrument(m: Module): { ranges: Map<number, Range>; dead: Set<number> } {
  const fn = m.functions[0] as Function;
  const am = new AnalysisManager();
  const ranges = solveValueRanges(fn, am.forFunction(fn).get(dominatorTreeAnalysis));
  const out = new Map<number, Range>();
  const dead = new Set<number>();
  for (const bb of [...fn.blocks]) {
    if (!ranges.isExecutable(bb)) {
      dead.add(bb.id);
      const probe = fn.createInstruction("call", voidType, voidType, [fn.constant(i64, bb.id)], { helper: DEAD_HELPER });
      bb.firstNonPhi() ? probe.insertBefore(bb.firstNonPhi()!) : bb.append(probe);
      continue;
    }
    const insts = bb.instructions();
    const afterPhis = bb.firstNonPhi()!;
    for (const inst of insts) {
      const r = ranges.rangeOf(inst);
      if (!r || inst.type.kind !== "int" || inst.info.terminator) continue;
      out.set(inst.id, r);
      const probe = fn.createInstruction("call", voidType, voidType, [inst, fn.constant(i64, inst.id)], { helper: CHECK_HELPER });
      if (inst.isPhi) probe.insertBefore(afterPhis);
      else probe.insertAfter(inst as Instruction);
    }
  }
  return { ranges: out, dead };
}

function run(m: Module, input: ProgramInput, helpers: Record<number, (args: unknown[]) => number> = {}): string {
  try {
    const r = interpret(m, "f", ["ctx", ...input.args], { packet: input.packet, ctx: input.ctx, maxSteps: 100_000, helpers: helpers as never });
    return `${String(r.value)} ${JSON.stringify(r.maps.snapshot())}`;
  } catch (e) {
    if (e instanceof InterpError) return `trap: ${e.message}`;
    throw e;
  }
}

const programs = fc.tuple(tapeArb, fc.array(inputArb, { minLength: 3, maxLength: 3 }));

describe("value ranges", () => {
  test("every value the interpreter computes lies in its range; unreachable blocks never run", () => {
    let checked = 0;
    fc.assert(
      fc.property(programs, ([tape, inputs]) => {
        const m = buildProgram(tape);
        const { ranges } = instrument(m);
        for (const input of inputs) {
          run(m, input, {
            [DEAD_HELPER]: (args) => {
              throw new Error(`block @bb${String(args[0])}, found unreachable, ran\n${printModule(m)}`);
            },
            [CHECK_HELPER]: (args) => {
              const [v, id] = args as [bigint, bigint];
              const r = ranges.get(Number(id));
              if (r && !rangeContains(r, v)) throw new Error(`%${id} = ${v} is outside ${formatRange(r)}\n${printModule(m)}`);
              checked++;
              return 0;
            },
          });
        }
      }),
      { numRuns: Math.round(600 * SCALE) },
    );
    expect(checked).toBeGreaterThan(1000);
  });

  test("range-simplify keeps behaviour, and each of its rewrites fires", () => {
    const totals = new Map<string, number>();
    fc.assert(
      fc.property(programs, ([tape, inputs]) => {
        const original = buildProgram(tape);
        const optimized = parseModule(printModule(original));
        const report = new PassManager(defaultRegistry.parse("range-simplify"), { verify: true, checkAnalyses: true }).run(optimized);
        for (const p of report.passes) for (const [k, v] of Object.entries(p.stats)) totals.set(k, (totals.get(k) ?? 0) + v);
        for (const input of inputs) {
          const [before, after] = [run(original, input), run(optimized, input)];
          if (before !== after) throw new Error(`range-simplify changed ${before} into ${after}\n--- before ---\n${printModule(original)}--- after ---\n${printModule(optimized)}`);
        }
      }),
      { numRuns: Math.round(800 * SCALE) },
    );
    for (const stat of ["constants-folded", "branches-folded", "compares-unsigned", "masks-removed", "signed-to-unsigned", "jumps-threaded", "blocks-unreachable"]) {
      expect(totals.get(stat) ?? 0, stat).toBeGreaterThan(0);
    }
  });
});
