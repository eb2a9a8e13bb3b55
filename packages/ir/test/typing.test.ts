// The signature column of the opcode table and its readers: every opcode has type rules,
// and the parser accepts exactly what the verifier accepts for the assignability cases
// (a region pointer into an untagged `ptr` slot), with typed constants where implied.
import { describe, expect, test } from "vitest";
import { OPCODE_NAMES, OPCODES } from "../src/opcodes.js";
import { parseModule } from "../src/parse.js";
import { printModule } from "../src/print.js";
import { i16, i32, i64, i8, ptr, ptrType, voidType } from "../src/types.js";
import { acceptsOperand, impliedConstantType, operandRule, resultPresence, resultTypeOf, satisfiesSignature, signatureErrors } from "../src/typing.js";
import { verifyModule } from "../src/verify.js";

describe("signatures", () => {
  test("every opcode has one, with a rule for every fixed operand position", () => {
    for (const op of OPCODE_NAMES) {
      const { sig, operands } = OPCODES[op];
      expect(sig, op).toBeDefined();
      if (typeof operands === "number") expect(Array.isArray(sig.operands) ? sig.operands.length : -1, op).toBe(operands);
      else expect(Array.isArray(sig.operands), op).toBe(false);
    }
  });

  test("assignability: a region pointer flows into `ptr`, not the other way round", () => {
    expect(acceptsOperand("T", ptr, ptrType("stack"))).toBe(true);
    expect(acceptsOperand("T", ptrType("stack"), ptr)).toBe(false);
    expect(acceptsOperand("=T", ptr, ptrType("stack"))).toBe(false);
    expect(acceptsOperand("~T", ptrType("ctx"), ptrType("stack"))).toBe(true);
    expect(acceptsOperand("~T", i64, i32)).toBe(false);
  });

  test("implied constant types, result types and result presence", () => {
    expect(impliedConstantType("store", i32, 0)).toBe(i32);
    expect(impliedConstantType("store", i32, 1)).toBe(ptr);
    expect(impliedConstantType("select", i32, 0)).toBe(i64);
    expect(impliedConstantType("ptradd", ptrType("stack"), 1)).toBe(i64);
    expect(operandRule("call", 4)).toBe("scalar");
    expect(resultTypeOf("ult", i32)).toBe(i64);
    expect(resultTypeOf("alloca", ptrType("stack"))).toBe(ptrType("stack"));
    expect(resultPresence("store")).toBe("none");
    expect(resultPresence("atomic.add")).toBe("none");
    expect(resultPresence("atomic.fetch_add")).toBe("required");
    expect(resultPresence("call")).toBe("by-type");
  });
  test("satisfiesSignature holds exactly when signatureErrors finds nothing (every opcode, type parameter and result type; up to three operands)", () => {
    const types = [i8, i16, i32, i64, ptr, ptrType("stack"), ptrType("map"), ptrType("ctx"), voidType];
    const operandTypes = [i8, i64, ptr, ptrType("stack"), voidType];
    let broken = 0;
    for (const op of OPCODE_NAMES)
      for (const T of types)
        for (const type of types)
          for (let n = 0; n <= 3; n++)
            for (let c = 0; c < operandTypes.length ** n; c++) {
              const ops = Array.from({ length: n }, (_, k) => ({ type: operandTypes[Math.floor(c / operandTypes.length ** k) % operandTypes.length]! }));
              const errors = signatureErrors(op, type, T, ops, () => "v");
              if (errors.length > 0) broken++;
              if (satisfiesSignature(op, type, T, ops) !== (errors.length === 0)) expect({ op, T, type, ops, errors }).toBe("consistent");
            }
    expect(broken).toBeGreaterThan(0);
  });
});

describe("parser and verifier agree", () => {
  const fn = (body: string, params = "ptr.stack %0, i64 %1", ret = "ptr"): string =>
    `license "GPL"\n\nfunc @f(${params}) -> ${ret} {\n@bb0:\n${body}}\n`;

  test.each([
    ["copy", "  %2 = copy ptr %0\n  ret %2\n"],
    ["select", "  %2 = select ptr %1, %0, 0\n  ret %2\n"],
    ["store", "  store ptr %0, %0, 0\n  ret %0\n"],
    ["ret", "  ret %0\n"],
  ])("a region pointer in an untagged pointer slot of %s parses, verifies and prints back", (_op, body) => {
    const text = fn(body);
    const m = parseModule(text);
    expect(verifyModule(m)).toEqual([]);
    expect(printModule(m)).toBe(text);
  });

  test("an untagged pointer in a region pointer slot is refused by both", () => {
    expect(() => parseModule(fn("  %2 = copy ptr.stack %1\n  ret %2\n", "ptr %0, ptr %1", "ptr.stack"))).toThrow(/operand 1 of `copy` must have type ptr.stack, but %1 has type ptr/);
  });

  test("a call with a non-void type must name its result, as the printer writes it", () => {
    expect(() => parseModule(fn("  call i64 helper 5 ()\n  ret %0\n"))).toThrow(/`call` produces a value/);
    expect(() => parseModule(fn("  %2 = atomic.add i64 %0, %1, 0\n  ret %0\n"))).toThrow(/`atomic.add` produces no value/);
  });
});
