/**
 * The SSA builder's definition table (def-table.ts) and its overflow hash table against a
 * Map of Maps, and its tables by id against a Map: random sets, overwrites and lookups of (block, variable) pairs, past several
 * growths of the tables and past a block's chunk, with block ids and variables drawn from
 * small ranges (many collisions and overwrites) and from large ones.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DefTable, IdTable, PairTable } from "../src/def-table.js";

type Op = { set: boolean; block: number; variable: number };

interface Table {
  get(block: number, variable: number): number | undefined;
  set(block: number, variable: number, value: number): void;
}

function check(ops: Op[], table: Table): void {
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
  test("agrees with a Map of Maps on small key ranges (collisions, overwrites, growth, full chunks)", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(200), variable: fc.nat(12) });
    fc.assert(fc.property(fc.array(op, { maxLength: 800 }), (ops) => check(ops, new DefTable<number>())), { numRuns: 200 });
  });

  test("agrees with a Map of Maps on large ids", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(5000), variable: fc.nat(0x7ffffffe) });
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => check(ops, new DefTable<number>())), { numRuns: 100 });
  });

  test("every pair of a dense grid is kept through the growths (a read's walk writes each block it passes)", () => {
    const table = new DefTable<string>();
    for (let block = 0; block < 3000; block++) for (let variable = 0; variable < 5; variable++) table.set(block, variable, `${block}:${variable}`);
    for (let block = 0; block < 3000; block++) {
      for (let variable = 0; variable < 5; variable++) expect(table.get(block, variable)).toBe(`${block}:${variable}`);
      expect(table.get(block, 5)).toBeUndefined();
    }
    expect(table.get(3000, 0)).toBeUndefined();
  });
});

describe("PairTable (the overflow of full chunks)", () => {
  test("agrees with a Map of Maps on small key ranges (collisions, overwrites, growth)", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(60), variable: fc.nat(12) });
    fc.assert(fc.property(fc.array(op, { maxLength: 600 }), fc.constantFrom(1, 2, 32), (ops, slots) => check(ops, new PairTable<number>(slots))), { numRuns: 200 });
  });

  test("agrees with a Map of Maps on large ids", () => {
    const op = fc.record({ set: fc.boolean(), block: fc.nat(0x7ffffffe), variable: fc.nat(0x7fffffff) });
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => check(ops, new PairTable<number>(2))), { numRuns: 100 });
  });
});

describe("IdTable (the SSA builder's tables by value or block id)", () => {
  test("agrees with a Map on random sets, clears and lookups, across pages", () => {
    const op = fc.record({ kind: fc.constantFrom("set", "clear", "get"), id: fc.oneof(fc.nat(600), fc.nat(100_000)) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new IdTable<number>();
        const reference = new Map<number, number>();
        ops.forEach(({ kind, id }, n) => {
          if (kind === "set") {
            table.set(id, n);
            reference.set(id, n);
          } else if (kind === "clear") {
            table.set(id, undefined);
            reference.delete(id);
          } else expect(table.get(id)).toBe(reference.get(id));
        });
        for (const [id, value] of reference) expect(table.get(id)).toBe(value);
      }),
      { numRuns: 200 },
    );
  });
});
