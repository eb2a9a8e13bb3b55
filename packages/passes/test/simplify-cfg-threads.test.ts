/**
 * simplify-cfg's jump threading asks first whether a block could be threaded at all (its
 * other instructions stay in it) and evaluates a block that cannot only until it finds one
 * thread — not at all once the dominator tree is owed or when it would not be: the same IR,
 * ids, result and statistics as evaluating every edge first (`threadJumpsUnfiltered`), on
 * random programs at each simplify-cfg position of the -O2 pipeline and on random CFGs with
 * phis. The dominator tree is computed at the same points too (the IR it is computed on is
 * recorded): a block that cannot be threaded still owes the tree when it has a thread.
 */
import fc from "fast-check";
import { DominatorTree, parseFunction, printFunction, printModule, type Function } from "@luabpf/ir";
import { addEdgePhis, arbValidCfg, buildProgram, cfg, tapeArb } from "@luabpf/test-support";
import { expect, test, vi } from "vitest";
import { PassManager, pipelineForLevel, simplifyCfg, type FunctionPass, type FunctionPassContext } from "../src/index.js";
import { runRounds, STEPS, threadJumpsUnfiltered } from "../src/passes/simplify-cfg.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

const REFERENCE = STEPS.map((step) => (step.name === "threadJumps" ? threadJumpsUnfiltered : step));

/** The pass's loop (rounds until every step has run in a row without a change) over the reference steps. */
const reference = (fn: Function, ctx: FunctionPassContext): boolean => runRounds(REFERENCE, fn, ctx);

/** The IR each dominator tree was computed on, while a side runs. */
let trees: string[] | undefined;
const compute = DominatorTree.compute.bind(DominatorTree);
vi.spyOn(DominatorTree, "compute").mockImplementation((fn) => {
  trees?.push(printFunction(fn));
  return compute(fn);
});

type Stats = Map<string, number>;
const context = (stats: Stats): FunctionPassContext => ({ module: undefined, analyses: undefined as never, stat: (name, n = 1) => void stats.set(name, (stats.get(name) ?? 0) + n) });

/** The pass on `a`, the reference on `b` (a copy): texts, results and statistics agree. The jumps the pass threaded. */
function compare(a: Function, b: Function): number {
  const [sa, sb] = [new Map() as Stats, new Map() as Stats];
  const [ta, tb]: string[][] = [[], []];
  trees = ta;
  const ra = (simplifyCfg() as FunctionPass).run(a, context(sa));
  trees = tb;
  const rb = reference(b, context(sb));
  trees = undefined;
  expect(ta).toEqual(tb);
  computed += ta.length;
  expect(printFunction(a)).toBe(printFunction(b));
  expect(ra).toBe(rb);
  expect([...sa].sort()).toEqual([...sb].sort());
  return sa.get("jumps-threaded") ?? 0;
}

let computed = 0;

test("the reference replaces exactly the threading step", () => {
  expect(REFERENCE.filter((s, k) => s !== STEPS[k])).toEqual([threadJumpsUnfiltered]);
});

test("random programs: the same as evaluating every edge, at every simplify-cfg position of -O2", () => {
  const pipeline = pipelineForLevel(2);
  let threaded = 0;
  fc.assert(
    fc.property(tapeArb, (tape) => {
      const [a, b] = [buildProgram(tape), buildProgram(tape)];
      for (const pass of pipeline) {
        if (pass.name === "simplify-cfg") {
          a.functions.forEach((fn, k) => (threaded += compare(fn, b.functions[k]!)));
          continue;
        }
        new PassManager([pass], { timing: false }).run(a);
        new PassManager([pass], { timing: false }).run(b);
      }
      expect(printModule(a)).toBe(printModule(b));
    }),
    { numRuns: Math.round(150 * SCALE) },
  );
  expect(threaded).toBeGreaterThan(20);
  expect(computed).toBeGreaterThan(20);
});

test("random CFGs with a phi per edge: the same as evaluating every edge", () => {
  let threaded = 0;
  fc.assert(
    fc.property(arbValidCfg(24), (terms) => {
      const [a, b] = [cfg(terms).fn, cfg(terms).fn];
      addEdgePhis(a);
      addEdgePhis(b);
      threaded += compare(a, b);
    }),
    { numRuns: Math.round(500 * SCALE) },
  );
  expect(threaded).toBeGreaterThan(20);
});

/**
 * @bb3 cannot be threaded (%5 is used in @bb4) but has a thread (from @bb1) and a use to place
 * (%4 in @bb4): it owes the tree, which is computed before @bb9's two edges are threaded (no
 * use to place). @bb13 then asks whether @bb14 dominates @bb15 (%15's use): not on the tree of
 * the CFG as @bb3 saw it (@bb9 reaches @bb15), so it is not threaded in this round; a tree
 * computed after @bb9's threads would say yes.
 */
const OWES = `
func @f(i64 %0, i64 %1) -> i64 {
@bb0:
  condbr %0, @bb1, @bb2
@bb1:
  %2 = call i64 helper 5 ()
  br @bb3
@bb2:
  %3 = call i64 helper 8 ()
  br @bb3
@bb3:
  %4 = phi i64 [1, @bb1], [%1, @bb2]
  %5 = add i64 %1, 7
  condbr %4, @bb4, @bb5
@bb4:
  %6 = add i64 %4, %5
  %7 = call i64 helper 5 ()
  br @bb6
@bb5:
  %8 = call i64 helper 8 ()
  br @bb6
@bb6:
  condbr %1, @bb7, @bb8
@bb7:
  %9 = call i64 helper 5 ()
  br @bb13
@bb8:
  %10 = call i64 helper 8 ()
  br @bb13
@bb9:
  %11 = phi i64 [1, @bb11], [2, @bb12]
  %12 = eq i64 %11, 0
  condbr %12, @bb15, @bb16
@bb11:
  %13 = call i64 helper 5 ()
  br @bb9
@bb12:
  %14 = call i64 helper 8 ()
  br @bb9
@bb13:
  %15 = phi i64 [1, @bb7], [%0, @bb8]
  condbr %15, @bb14, @bb17
@bb14:
  %16 = call i64 helper 5 ()
  br @bb15
@bb17:
  condbr %0, @bb11, @bb12
@bb15:
  %17 = add i64 %15, 3
  ret %17
@bb16:
  ret 9
}
`;

test("a block that cannot be threaded still owes the dominator tree when it has a thread", () => {
  const before = computed;
  expect(compare(parseFunction(OWES), parseFunction(OWES))).toBeGreaterThan(0);
  expect(computed - before).toBeGreaterThan(1);
});
