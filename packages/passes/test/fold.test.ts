/**
 * The constant folder (util/fold.ts) against the interpreter's arithmetic, opcode by
 * opcode and width by width: they must agree bit for bit. Also checks that every opcode
 * the table marks `foldable` has an evaluator, and the table-driven edge cases of eBPF.
 */
import fc from "fast-check";
import { OPCODE_NAMES, OPCODES, i16, i32, i64, i8, intType, type BinaryOpcode, type CastOpcode, type CompareOpcode, type IntBits, type UnaryOpcode } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { evaluate, isFoldable, log2Exact } from "../src/index.js";
import { evalBinary, evalCast, evalCompare, evalUnary } from "./interp.js";

const WIDTHS: IntBits[] = [8, 16, 32, 64];
const of = (shape: string) => OPCODE_NAMES.filter((o) => OPCODES[o].shape === shape && OPCODES[o].foldable);
const edge = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 2n, 7n, 8n, 31n, 32n, 63n, 64n, 65n, -128n, 127n, 128n, 255n, -(2n ** 31n), 2n ** 32n - 1n, -(2n ** 63n), 2n ** 63n - 1n),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
);

describe("fold agrees with the interpreter", () => {
  for (const bits of WIDTHS) {
    const t = intType(bits);
    test(`binary and compare ops at i${bits}`, () => {
      fc.assert(
        fc.property(edge, edge, (x, y) => {
          const [a, b] = [BigInt.asIntN(bits, x), BigInt.asIntN(bits, y)];
          for (const op of of("binary") as BinaryOpcode[]) expect(evaluate(op, t, t, [a, b]), `${op} i${bits} ${a}, ${b}`).toBe(evalBinary(op, bits, a, b));
          for (const op of of("compare") as CompareOpcode[]) expect(evaluate(op, t, i64, [a, b]), `${op} i${bits} ${a}, ${b}`).toBe(evalCompare(op, bits, a, b));
          for (const op of of("unary") as UnaryOpcode[]) {
            if (op === "bswap" && bits === 8) continue;
            expect(evaluate(op, t, t, [a]), `${op} i${bits} ${a}`).toBe(evalUnary(op, bits, a));
          }
          for (const to of WIDTHS) {
            if (to === bits) continue;
            for (const op of (to > bits ? ["zext", "sext"] : ["trunc"]) as CastOpcode[]) expect(evaluate(op, t, intType(to), [a])).toBe(evalCast(op, bits, to, a));
          }
          expect(evaluate("select", t, t, [a, b, 5n])).toBe(a !== 0n ? b : BigInt.asIntN(bits, 5n));
        }),
        { numRuns: 400 },
      );
    });
  }
  test("every foldable opcode has an evaluator", () => {
    for (const op of OPCODE_NAMES.filter(isFoldable)) {
      const n = OPCODES[op].operands as number;
      const t = op === "bswap" ? i32 : i64;
      const to = op === "trunc" ? i8 : op === "zext" || op === "sext" ? i64 : t;
      const from = op === "zext" || op === "sext" ? i16 : t;
      expect(() => evaluate(op, from, to, Array(n).fill(3n))).not.toThrow();
    }
  });
  test("eBPF edge cases", () => {
    expect(evaluate("udiv", i64, i64, [7n, 0n])).toBe(0n);
    expect(evaluate("sdiv", i64, i64, [7n, 0n])).toBe(0n);
    expect(evaluate("urem", i64, i64, [7n, 0n])).toBe(7n);
    expect(evaluate("srem", i32, i32, [-7n, 0n])).toBe(-7n);
    expect(evaluate("sdiv", i8, i8, [-128n, -1n])).toBe(-128n);
    expect(evaluate("srem", i8, i8, [-128n, -1n])).toBe(0n);
    expect(evaluate("shl", i32, i32, [1n, 33n])).toBe(2n);
    expect(evaluate("lshr", i16, i16, [-1n, 4n])).toBe(0x0fffn);
    expect(evaluate("add", i8, i8, [127n, 1n])).toBe(-128n);
    expect(evaluate("ult", i32, i64, [-1n, 1n])).toBe(0n);
    expect(evaluate("slt", i32, i64, [-1n, 1n])).toBe(1n);
    expect(log2Exact(64, -(2n ** 63n))).toBe(63);
    expect(log2Exact(8, 6n)).toBe(-1);
  });
});
