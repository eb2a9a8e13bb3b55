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
import { Builder, i64, Module, parseModule, printModule, voidType, type Function, type Instruction, type Value } from "@luabpf/ir";
import { buildProgram, inputArb, tapeArb, type ProgramInput } from "@luabpf/test-support";
import { describe, expect, test } from "vitest";
import { AnalysisManager, PassManager, defaultRegistry, solveValueRanges } from "../src/index.js";
import { DominatingFacts, ORDERED_ABOVE, solveOrderFor, type SolveOrder } from "../src/analysis/value-ranges.js";
import { dominatorTreeAnalysis } from "../src/analysis/cfg.js";
import { formatRange, rangeContains, unsignedRange, type Range } from "../src/util/range-lattice.js";
import { interpret, InterpError } from "./interp.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);
const CHECK_HELPER = 9999;
const DEAD_HELPER = 9998;

/**
 * Adds `call helper 9999(v, id)` after every value with a range (solved in `order`, by
 * default the one the function's size picks); returns the ranges by id and the unreachable blocks.
 */
function instrument(m: Module, order?: SolveOrder): { ranges: Map<number, Range>; dead: Set<number> } {
  const fn = m.functions[0] as Function;
  const am = new AnalysisManager();
  const ranges = solveValueRanges(fn, am.forFunction(fn).get(dominatorTreeAnalysis), order);
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
  // The stack order is every ordinary function's; huge ones (above ORDERED_ABOVE instructions) take the work in reverse postorder.
  test.each<[SolveOrder, number]>([
    ["stack", 600],
    ["rpo", 300],
  ])("every value the interpreter computes lies in its range; unreachable blocks never run (%s order)", (order, runs) => {
    let checked = 0;
    fc.assert(
      fc.property(programs, ([tape, inputs]) => {
        const m = buildProgram(tape);
        const { ranges } = instrument(m, order);
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
      { numRuns: Math.round(runs * SCALE) },
    );
    expect(checked).toBeGreaterThan(1000);
  });

  test(`the order is chosen by size: reverse postorder above ${ORDERED_ABOVE} instructions`, () => {
    // A chain of diamonds (the bench's \`branches\` shape), each adding one to a running sum
    // when its test holds: the sum's range at the end is exact in both orders (in the stack
    // order widening overshoots and the narrowing sweeps recover it).
    const diamonds = (n: number): Module => {
      const m = new Module();
      const fn = m.addFunction("f", [i64], i64);
      const b = new Builder(fn).atEnd(fn.createBlock());
      const x = b.and(fn.params[0]!, b.const(255));
      let sum: Value = b.const(0);
      for (let k = 0; k < n; k++) {
        // Unit k: `if x > k then sum = sum + 1 end`, the test at the end of the block before.
        const [then, join] = [fn.createBlock(), fn.createBlock()];
        const from = b.block;
        b.condBr(b.compare("ugt", x, b.const(k)), then, join);
        b.atEnd(then);
        const add = b.add(sum, b.const(1));
        b.br(join);
        b.atEnd(join);
        const phi = b.phi(i64);
        phi.addIncoming(add, then);
        phi.addIncoming(sum, from);
        sum = phi;
      }
      b.ret(sum);
      return m;
    };
    const last = (m: Module, order?: SolveOrder): Range => {
      const fn = m.functions[0] as Function;
      const ranges = solveValueRanges(fn, new AnalysisManager().forFunction(fn).get(dominatorTreeAnalysis), order);
      return ranges.rangeOf(fn.blocks.at(-1)!.terminator!.operands[0]!)!;
    };
    const small = diamonds(40);
    expect(solveOrderFor(small.functions[0] as Function)).toBe("stack");
    for (const order of ["stack", "rpo"] as const) expect(formatRange(last(small, order))).toBe(formatRange(unsignedRange(64, 0n, 40n)));
    const n = Math.ceil(ORDERED_ABOVE / 5) + 1;
    const big = diamonds(n);
    expect((big.functions[0] as Function).instructionCount).toBeGreaterThan(ORDERED_ABOVE);
    expect(solveOrderFor(big.functions[0] as Function)).toBe("rpo");
    // Past unit 255 the test (\`%1\` is at most 255) fails: those then-blocks never run.
    expect(formatRange(last(big))).toBe(formatRange(unsignedRange(64, 0n, 255n)));
  });

  test("the index of many facts' blocks finds exactly the dominating ones, in the facts' order", () => {
    let asked = 0;
    fc.assert(
      fc.property(tapeArb, fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (tape, picks) => {
        const fn = buildProgram(tape).functions[0] as Function;
        const dt = new AnalysisManager().forFunction(fn).get(dominatorTreeAnalysis);
        // Fact blocks drawn from the function's blocks, repeats allowed (several facts in one block).
        const blocks = picks.map((k) => fn.blocks[k % fn.blocks.length]!);
        const index = new DominatingFacts(blocks, dt);
        for (const bb of fn.blocks) {
          if (!dt.isReachable(bb)) continue;
          const want = blocks.flatMap((b, k) => (dt.isReachable(b) && dt.dominates(b, bb) ? [k] : []));
          expect(index.dominating(bb)).toEqual(want);
          asked++;
        }
      }),
      { numRuns: Math.round(300 * SCALE) },
    );
    expect(asked).toBeGreaterThan(1000);
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
