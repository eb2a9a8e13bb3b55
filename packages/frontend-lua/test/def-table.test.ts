/**
 * The SSA builder's definition table (def-table.ts) against a Map of Maps: random sets,
 * overwrites and lookups of (block, variable) pairs, past several growths of the table,
 * with block ids and variables drawn from small ranges (many collisions and overwrites)
 * and from large ones (ids near the int32 range the keys are stored in).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DefTable } from "../src/def-table.js";

type Op = { set: boolean; block: number; variable: number };

function check(ops: Op[], slots: number): void {
  const table = new DefTable<number>(slots);
  const reference = new Map<number, Map<number, number>>();
  ops.forEach(({ set, block, variable }, n) => {
    if (set) {
      table.set(block, variable, n);
      let byVariable = reference.get(block);
      if (byVariable === undefined) reference.set(block, (byVariable = new Map()));
      byVariable.set(variable, n);
    } else {
      expect(table.get(block, variable)).toBe(reference.get(block)?.get(variable));
    }
  });
  for (const [block, byVariable] of reference) for (const [variable, value] of byVariable) expect(table.get(block, variable)).toBe(value);
}

describe("DefTable", () => {
  test("agrees with a Map of Maps on small key ranges (collisions, overwrites, growth)", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(60), variable: fc.nat(12) });
    fc.assert(fc.property(fc.array(op, { maxLength: 600 }), fc.constantFrom(1, 2, 32), (ops, slots) => check(ops, slots)), { numRuns: 200 });
  });

  test("agrees with a Map of Maps on large ids", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(0x7ffffffe), variable: fc.nat(0x7fffffff) });
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => check(ops, 2)), { numRuns: 100 });
  });

  test("every pair of a dense grid is kept through the growths (a read's walk writes each block it passes)", () => {
    const table = new DefTable<string>(1);
    for (let block = 0; block < 3000; block++) for (let variable = 0; variable < 5; variable++) table.set(block, variable, `${block}:${variable}`);
    for (let block = 0; block < 3000; block++) {
      for (let variable = 0; variable < 5; variable++) expect(table.get(block, variable)).toBe(`${block}:${variable}`);
      expect(table.get(block, 5)).toBeUndefined();
    }
    expect(table.get(3000, 0)).toBeUndefined();
  });
});
