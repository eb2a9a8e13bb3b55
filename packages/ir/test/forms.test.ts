// Instructions share their form (opcode, type parameter, attributes) with every instruction
// of the function that agrees on it (core.ts `InstructionForm`). Sharing must be invisible:
// writing an attribute or the type parameter of one instruction changes that one alone,
// whether it is linked into a block or not, and attributes that differ in any field (names
// that look alike when joined included) are never merged.
import { describe, expect, it } from "vitest";
import { Function, type Instruction, type InstructionAttrs } from "../src/core.js";
import { i32, i64, ptr } from "../src/types.js";

const KEYS = ["offset", "size", "align", "helper", "callee", "map", "core"] as const;
const attrsOf = (i: Instruction): InstructionAttrs => Object.fromEntries(KEYS.map((k) => [k, i[k]]));

describe("instruction forms", () => {
  it("a write to one instruction's attributes or type parameter leaves the others that shared its form alone", () => {
    const fn = new Function("f", [ptr], i64);
    const bb = fn.createBlock();
    const loads = [0, 1, 2, 3].map(() => fn.createInstruction("load", i64, i64, [fn.params[0]!], { offset: 8 }));
    loads.slice(0, 2).forEach((l) => bb.append(l)); // two linked, two not
    const calls = [0, 1].map(() => fn.createInstruction("call", i64, i64, [], { callee: "g" }));
    bb.append(calls[0]!);
    for (const [k, l] of loads.entries()) {
      l.offset = 16 + k;
      loads.forEach((o, j) => expect(o.offset).toBe(j <= k ? 16 + j : 8));
    }
    calls[0]!.callee = "h";
    expect(calls.map((c) => c.callee)).toEqual(["h", "g"]);
    loads[1]!.typeParam = i32;
    loads[2]!.typeParam = i32;
    expect(loads.map((l) => l.typeParam)).toEqual([i64, i32, i32, i64]);
    expect(loads.map((l) => [l.opcode, l.offset])).toEqual([["load", 16], ["load", 17], ["load", 18], ["load", 19]]);
  });

  it("keeps attributes that differ in any field apart, and equal ones equal", () => {
    const fn = new Function("f", [], i64);
    const cases: InstructionAttrs[] = [
      {},
      { offset: 0 },
      { offset: 1 },
      { size: 1 },
      { align: 1 },
      { helper: 1 },
      { helper: 1, offset: 0 },
      { callee: "a,b" },
      { callee: "a", map: "b" },
      { callee: "a", map: "b," },
      { map: "a,b" },
      { map: "a", core: "b" },
      { map: "a", core: "b," },
      { callee: "" },
      { core: "1" },
      { callee: 'x","y' },
      { callee: "x", map: "y" },
    ];
    for (const opcode of ["call", "load"] as const) {
      const made = cases.map((a) => fn.createInstruction(opcode, i64, i64, [], a));
      const again = cases.map((a) => fn.createInstruction(opcode, i64, i64, [], { ...a }));
      cases.forEach((a, k) => {
        const want = Object.fromEntries(KEYS.map((key) => [key, a[key] ?? (key === "offset" || key === "size" || key === "align" ? 0 : undefined)]));
        expect(attrsOf(made[k]!)).toEqual(want);
        expect(attrsOf(again[k]!)).toEqual(want);
        expect(made[k]!.opcode).toBe(opcode);
      });
    }
  });

  it("an instruction without operands gets operands when one is appended, and loses them when dropped", () => {
    const fn = new Function("f", [i64], i64);
    const a = fn.createInstruction("ret", i64, i64);
    const b = fn.createInstruction("ret", i64, i64);
    a.appendOperand(fn.params[0]!);
    expect([a.operands.length, b.operands.length, fn.params[0]!.useCount]).toEqual([1, 0, 1]);
    a.dropOperands();
    b.dropOperands();
    expect([a.operands.length, b.operands.length, fn.params[0]!.useCount]).toEqual([0, 0, 0]);
    a.appendOperand(fn.params[0]!);
    expect([a.operands, b.operands.length]).toEqual([[fn.params[0]], 0]);
  });
});
