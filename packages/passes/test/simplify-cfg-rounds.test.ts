/**
 * simplify-cfg stops as soon as every step has run in a row without a change (mid-round)
 * instead of finishing that round: the same result, ids and statistics as running whole
 * rounds until one changes nothing (the loop as it was, written out here over the pass's
 * steps), on random programs at each simplify-cfg position of the -O2 pipeline and on
 * random CFGs with phis.
 */
import fc from "fast-check";
import { printFunction, printModule, type Function } from "@luabpf/ir";
import { addEdgePhis, arbValidCfg, buildProgram, cfg, tapeArb } from "@luabpf/test-support";
import { expect, test } from "vitest";
import { PassManager, pipelineForLevel, simplifyCfg, type FunctionPass, type FunctionPassContext } from "../src/index.js";
import { STEPS } from "../src/passes/simplify-cfg.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

/** The former loop: whole rounds of every step until a round changes nothing. */
function fullRounds(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (let round = 0; round < 1000; round++) {
    let c = false;
    for (const step of STEPS) c = step(fn, ctx) || c;
    if (!c) break;
    changed = true;
  }
  return changed;
}

type Stats = Map<string, number>;
const context = (stats: Stats): FunctionPassContext => ({ module: undefined, analyses: undefined as never, stat: (name, n = 1) => void stats.set(name, (stats.get(name) ?? 0) + n) });

/** The pass on `a`, the former loop on `b` (a copy): the texts, results and statistics must agree. Whether it changed anything. */
function compare(a: Function, b: Function): boolean {
  const [sa, sb] = [new Map() as Stats, new Map() as Stats];
  const ra = (simplifyCfg() as FunctionPass).run(a, context(sa));
  const rb = fullRounds(b, context(sb));
  expect(printFunction(a)).toBe(printFunction(b));
  expect(ra).toBe(rb);
  expect([...sa].sort()).toEqual([...sb].sort());
  return ra === true;
}

test("random programs: the same as whole rounds at every simplify-cfg position of -O2", () => {
  const pipeline = pipelineForLevel(2);
  let changed = 0;
  fc.assert(
    fc.property(tapeArb, (tape) => {
      // Two identical modules, taken through the pipeline in lockstep.
      const [a, b] = [buildProgram(tape), buildProgram(tape)];
      for (const pass of pipeline) {
        if (pass.name === "simplify-cfg") {
          a.functions.forEach((fn, k) => (changed += compare(fn, b.functions[k]!) ? 1 : 0));
          continue;
        }
        new PassManager([pass], { timing: false }).run(a);
        new PassManager([pass], { timing: false }).run(b);
      }
      expect(printModule(a)).toBe(printModule(b));
    }),
    { numRuns: Math.round(150 * SCALE) },
  );
  expect(changed).toBeGreaterThan(100);
});

test("random CFGs with a phi per edge: the same as whole rounds", () => {
  let changed = 0;
  fc.assert(
    fc.property(arbValidCfg(24), (terms) => {
      const [a, b] = [cfg(terms).fn, cfg(terms).fn];
      addEdgePhis(a);
      addEdgePhis(b);
      if (compare(a, b)) changed++;
    }),
    { numRuns: Math.round(500 * SCALE) },
  );
  expect(changed).toBeGreaterThan(100);
});
