/**
 * redundant-store on a function without a cycle takes one sweep in reverse postorder (every
 * predecessor's table is final when a block is reached) instead of iterating to the fixed
 * point, sweeping once more to confirm it and once more to collect the stores: the same
 * stores, in the same order, on random programs before every -O2 position and on random
 * acyclic CFGs of loads and stores of two stack slots.
 */
import fc from "fast-check";
import { parseFunction, reversePostOrder, type BasicBlock, type Function } from "@luabpf/ir";
import { arbValidCfg, buildProgram, tapeArb } from "@luabpf/test-support";
import { expect, test } from "vitest";
import { PassManager, pipelineForLevel } from "../src/index.js";
import { redundantStores } from "../src/passes/redundant-store.js";

const SCALE = Number(process.env.LUABPF_PROPERTY_RUNS ?? 1);

/** Is every edge of `fn` a forward edge of `order` (the reverse postorder)? */
function acyclic(order: readonly BasicBlock[]): boolean {
  const index = new Map(order.map((bb, k) => [bb, k]));
  return !order.some((bb, k) => bb.succs.some((s) => (index.get(s) ?? Infinity) <= k));
}

/** One sweep against the iterated sweeps on `fn`: the stores found by both. */
function compare(fn: Function, order: readonly BasicBlock[]): number {
  const one = redundantStores(fn, order, false);
  const iterated = redundantStores(fn, order, true);
  expect(one.length).toBe(iterated.length);
  one.forEach((store, k) => expect(store).toBe(iterated[k]));
  return one.length;
}

test("one sweep finds what the iterated sweeps find on acyclic functions", () => {
  let found = 0;
  let count = 0;
  fc.assert(
    fc.property(tapeArb, (tape) => {
      const m = buildProgram(tape);
      for (const pass of pipelineForLevel(2)) {
        for (const fn of m.functions) {
          const order = reversePostOrder(fn);
          if (!acyclic(order)) continue;
          count++;
          found += compare(fn, order);
        }
        new PassManager([pass], { timing: false }).run(m);
      }
    }),
    { numRuns: Math.round(60 * SCALE) },
  );
  expect(count).toBeGreaterThan(500);
});

/** Per block: stores of %0, 0 or 1 (or a load of the block) to slot %1 or %2, and loads of them. */
const arbOps = fc.array(fc.tuple(fc.constantFrom("store", "load"), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 })), { maxLength: 5 });

test("random acyclic CFGs of loads and stores: one sweep finds what the iterated sweeps find", () => {
  let found = 0;
  fc.assert(
    fc.property(arbValidCfg(12), fc.array(arbOps, { minLength: 12, maxLength: 12 }), (terms, ops) => {
      // Forward edges only (a target at or before its block becomes the next block).
      const lines = ["func @f(i64 %0) -> i64 {"];
      let next = 3;
      terms.forEach((t, i) => {
        lines.push(`@bb${i}:`);
        if (i === 0) lines.push("  %1 = alloca 8, align 8", "  %2 = alloca 8, align 8");
        const loads: string[] = [];
        for (const [op, slot, v] of ops[i]!) {
          const values = ["%0", "0", "1", ...loads];
          if (op === "load") loads.push(`%${next}`), lines.push(`  %${next++} = load i64 %${slot + 1}, 0`);
          else lines.push(`  store i64 ${values[v % values.length]}, %${slot + 1}, 0`);
        }
        const fwd = (k: number): number => (k > i ? k : Math.min(i + 1, terms.length - 1));
        if (t.kind === "ret" || i === terms.length - 1) lines.push("  ret %0");
        else if (t.kind === "br") lines.push(`  br @bb${fwd(t.t)}`);
        else lines.push(`  condbr %0, @bb${fwd(t.t)}, @bb${fwd(t.f)}`);
      });
      lines.push("}");
      const fn = parseFunction(lines.join("\n"));
      const order = reversePostOrder(fn);
      expect(acyclic(order)).toBe(true);
      found += compare(fn, order);
    }),
    { numRuns: Math.round(300 * SCALE) },
  );
  expect(found).toBeGreaterThan(100);
});
