// Function.cloneInstruction: the one way passes copy an instruction (inline, unroll). A copy
// that lost an attribute is wrong code or invalid IR (a coreval without its relocation), so
// every attribute, the types and the source location must survive, whichever function the
// original belongs to.
import { describe, expect, it } from "vitest";
import { Function, type InstructionAttrs } from "../src/core.js";
import { i64, ptr } from "../src/types.js";

const EVERY: Required<InstructionAttrs> = { offset: 24, size: 16, align: 8, helper: 14, callee: "g", map: "m", core: "tgid" };

describe("Function.cloneInstruction", () => {
  it("copies every attribute, the types and the location into another function, over new operands", () => {
    const from = new Function("f", [i64, ptr], i64);
    const to = new Function("h", [i64], i64);
    const orig = from.createInstruction("load", i64, i64, [from.params[1]!], EVERY);
    orig.loc = { file: "x.lua", line: 3, column: 7 };
    const clone = to.cloneInstruction(orig, [to.params[0]!]);
    for (const key of Object.keys(EVERY) as (keyof InstructionAttrs)[]) expect([key, clone[key]]).toEqual([key, EVERY[key]]);
    expect(clone.attributes).toEqual(orig.attributes);
    expect([clone.opcode, clone.type, clone.typeParam, clone.loc]).toEqual([orig.opcode, orig.type, orig.typeParam, orig.loc]);
    expect(clone.operands).toEqual([to.params[0]]);
    expect(clone.id).not.toBe(orig.id);
    expect(clone.block).toBeUndefined();
    // The copy's attributes are its own: changing them leaves the original alone.
    clone.offset = 32;
    expect(orig.offset).toBe(24);
  });

  it("an instruction without attributes gives one without attributes", () => {
    const fn = new Function("f", [i64, i64], i64);
    const add = fn.createInstruction("add", i64, i64, [fn.params[0]!, fn.params[1]!]);
    const clone = fn.cloneInstruction(add, [fn.params[1]!, fn.params[0]!]);
    expect([clone.offset, clone.helper, clone.core, clone.loc]).toEqual([0, undefined, undefined, undefined]);
    expect(clone.operands).toEqual([fn.params[1], fn.params[0]]);
  });
});
