/**
 * gvn's scoped table of numbered keys (an open-addressing hash table whose entries leave in
 * the reverse order they came) against a Map of expression strings with the same scopes, on
 * random instructions: enough entries to grow it several times, commutative and not, one
 * and two operands, nested scopes that undo what they added.
 */
import fc from "fast-check";
import { Builder, Module, i32, i64, type Instruction, type Value } from "@luabpf/ir";
import { expect, test } from "vitest";
import { NumberedKeys } from "../src/passes/gvn.js";

type Op = { kind: "add" | "sub" | "xor" | "neg" | "trunc"; a: number; b: number } | { kind: "enter" } | { kind: "leave" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 80, arbitrary: fc.record({ kind: fc.constantFrom("add" as const, "sub" as const, "xor" as const, "neg" as const, "trunc" as const), a: fc.nat(60), b: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "enter" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "leave" as const }) },
);

test("numbered keys find what a scoped map of expression strings finds", () => {
  let hits = 0;
  let grown = 0;
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1000, maxLength: 3000, size: "max" }), (ops) => {
      const m = new Module();
      const fn = m.addFunction("f", [i64, i64, i64, i64], i64);
      const b = new Builder(fn).atEnd(fn.createBlock());
      const pool: Value[] = [...fn.params];
      const table = new NumberedKeys();
      const model = new Map<string, Value>();
      const scopes: { mark: number; keys: string[] }[] = [{ mark: 0, keys: [] }];
      let most = 0;
      for (const op of ops) {
        if (op.kind === "enter") {
          scopes.push({ mark: table.mark, keys: [] });
          continue;
        }
        if (op.kind === "leave") {
          if (scopes.length === 1) continue;
          const s = scopes.pop()!;
          table.undoTo(s.mark);
          for (const k of s.keys) model.delete(k);
          continue;
        }
        const x = pool[op.a % pool.length]!;
        const y = pool[op.b % pool.length]!;
        let inst: Instruction;
        let key: string;
        if (op.kind === "neg") {
          inst = b.binary("sub", b.const(0), x);
          // A one-operand stand-in: `trunc` below; `sub 0, x` has a constant operand.
          key = `sub ${inst.operands[0]!.id},${x.id}`;
        } else if (op.kind === "trunc") {
          inst = b.cast("trunc", x, i32);
          key = `trunc ${x.id}`;
        } else {
          inst = b.binary(op.kind, x, y);
          const [p, q] = op.kind !== "sub" && x.id > y.id ? [y.id, x.id] : [x.id, y.id];
          key = `${op.kind} ${p},${q}`;
        }
        const h = table.headOf(inst);
        expect(h).toBeGreaterThanOrEqual(0);
        const found = table.get(inst, h);
        expect(found).toBe(model.get(key));
        if (found) hits++;
        else {
          table.add(inst, h);
          most = Math.max(most, table.mark);
          model.set(key, inst);
          scopes[scopes.length - 1]!.keys.push(key);
          if (inst.type === i64 && pool.length < 40) pool.push(inst);
        }
      }
      if (most > 256) grown++; // the table (32 slots at first) doubled at least four times
    }),
    { numRuns: 60 },
  );
  expect(hits).toBeGreaterThan(1000);
  expect(grown).toBeGreaterThan(10);
});
