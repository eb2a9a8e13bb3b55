/**
 * dead-store on a function without a cycle takes one sweep in postorder (every successor's
 * state is final when a block is reached) instead of iterating to the fixed point, sweeping
 * once more to confirm it and once more to collect the dead stores: the same stores, in the
 * same order, on random programs before each -O2 position of dead-store (and every other
 * position, where more of them still have stores to remove).
 */
import fc from "fast-check";
import { postOrder } from "@luabpf/ir";
import { buildProgram, tapeArb } from "@luabpf/test-support";
import { expect, test } from "vitest";
import { PassManager, pipelineForLevel } from "../src/index.js";
import { deadStores } from "../src/passes/dead-store.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

test("one sweep finds what the iterated sweeps find on acyclic functions", () => {
  let found = 0;
  let acyclic = 0;
  fc.assert(
    fc.property(tapeArb, (tape) => {
      const m = buildProgram(tape);
      for (const pass of pipelineForLevel(2)) {
        for (const fn of m.functions) {
          const order = postOrder(fn);
          const index = new Map(order.map((bb, k) => [bb, k]));
          // Acyclic: every edge goes to a block earlier in postorder.
          if (order.some((bb, k) => bb.succs.some((s) => (index.get(s) ?? -1) >= k))) continue;
          acyclic++;
          const one = deadStores(fn, order, false);
          const iterated = deadStores(fn, order, true);
          expect(one.length).toBe(iterated.length);
          one.forEach((store, k) => expect(store).toBe(iterated[k]));
          found += one.length;
        }
        new PassManager([pass], { timing: false }).run(m);
      }
    }),
    { numRuns: Math.round(60 * SCALE) },
  );
  expect(acyclic).toBeGreaterThan(500);
  expect(found).toBeGreaterThan(100);
});
