/**
 * Tests of the IR interpreter: per-opcode arithmetic at every width (table of edge cases
 * plus a property test against an independent unsigned model), control flow and parallel
 * phis, the memory model, maps and helpers, packet loads, calls and limits.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Builder } from "../src/builder.js";
import { InternalError } from "../src/errors.js";
import {
  ctxPointer,
  evalBinary,
  evalCast,
  evalCompare,
  evalUnary,
  interpret,
  InterpError,
  InterpPointer,
  MapState,
  type InterpArg,
  type InterpOptions,
} from "../src/interp.js";
import { Module } from "../src/module.js";
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "../src/opcodes.js";
import { parseModule } from "../src/parse.js";
import { i16, i32, i64, i8, intType, type IntBits, type IntType } from "../src/types.js";

const WIDTHS: readonly IntBits[] = [8, 16, 32, 64];
const MIN = (n: number) => -(2n ** BigInt(n - 1));
const MAX = (n: number) => 2n ** BigInt(n - 1) - 1n;

function run(text: string, fn: string, args: readonly InterpArg[] = [], options?: InterpOptions) {
  return interpret(parseModule(text), fn, args, options);
}
function value(text: string, fn: string, args: readonly InterpArg[] = [], options?: InterpOptions) {
  return run(text, fn, args, options).value;
}
/** The InterpError thrown by `f` (fails the test if it throws anything else or nothing). */
function trap(f: () => unknown): InterpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InterpError);
    expect(e).not.toBeInstanceOf(InternalError);
    return e as InterpError;
  }
  throw new Error("expected an InterpError");
}

// ---- one-instruction functions, built with the Builder ----

/** `f(a, b) = op a, b` at type `t`, with operands from params or (if given) constants. */
function binaryFn(op: BinaryOpcode, t: IntType, consts?: [bigint, bigint]) {
  const m = new Module();
  const f = m.addFunction("f", [t, t], t);
  const b = new Builder(f).atEnd(f.createBlock());
  const [x, y] = consts ? [b.const(consts[0], t), b.const(consts[1], t)] : [f.params[0]!, f.params[1]!];
  b.ret(b.binary(op, x, y));
  return (a: bigint, c: bigint) => interpret(m, "f", [a, c]).value;
}
function unaryFn(op: UnaryOpcode, t: IntType) {
  const m = new Module();
  const f = m.addFunction("f", [t], t);
  const b = new Builder(f).atEnd(f.createBlock());
  b.ret(b.unary(op, f.params[0]!));
  return (a: bigint) => interpret(m, "f", [a]).value;
}
function castFn(op: CastOpcode, from: IntType, to: IntType) {
  const m = new Module();
  const f = m.addFunction("f", [from], to);
  const b = new Builder(f).atEnd(f.createBlock());
  b.ret(b.cast(op, f.params[0]!, to));
  return (a: bigint) => interpret(m, "f", [a]).value;
}
function compareFn(op: CompareOpcode, t: IntType) {
  const m = new Module();
  const f = m.addFunction("f", [t, t], i64);
  const b = new Builder(f).atEnd(f.createBlock());
  b.ret(b.compare(op, f.params[0]!, f.params[1]!));
  return (a: bigint, c: bigint) => interpret(m, "f", [a, c]).value;
}

describe("arithmetic", () => {
  test("add, sub, mul wrap around at every width", () => {
    for (const n of WIDTHS) {
      const t = intType(n);
      expect(binaryFn("add", t)(MAX(n), 1n)).toBe(MIN(n));
      expect(binaryFn("sub", t)(MIN(n), 1n)).toBe(MAX(n));
      expect(binaryFn("mul", t)(MIN(n), -1n)).toBe(MIN(n));
      expect(binaryFn("mul", t)(2n ** BigInt(n / 2), 2n ** BigInt(n / 2))).toBe(0n);
      expect(binaryFn("mul", t)(-3n, 5n)).toBe(-15n);
    }
    expect(binaryFn("add", i8)(100n, 100n)).toBe(-56n);
    expect(binaryFn("mul", i16)(300n, 300n)).toBe(BigInt.asIntN(16, 90000n));
  });

  test("division and remainder follow eBPF: x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0", () => {
    for (const n of WIDTHS) {
      const t = intType(n);
      for (const op of ["udiv", "sdiv"] as const) expect(binaryFn(op, t)(-5n, 0n)).toBe(0n);
      for (const op of ["urem", "srem"] as const) expect(binaryFn(op, t)(-5n, 0n)).toBe(-5n);
      expect(binaryFn("sdiv", t)(MIN(n), -1n)).toBe(MIN(n));
      expect(binaryFn("srem", t)(MIN(n), -1n)).toBe(0n);
      expect(binaryFn("sdiv", t)(-7n, 2n)).toBe(-3n);
      expect(binaryFn("srem", t)(-7n, 2n)).toBe(-1n);
      expect(binaryFn("srem", t)(7n, -2n)).toBe(1n);
      // Unsigned: -1 is the largest value.
      expect(binaryFn("udiv", t)(-1n, 2n)).toBe(MAX(n));
      expect(binaryFn("udiv", t)(MIN(n), -1n)).toBe(0n);
      expect(binaryFn("urem", t)(5n, -1n)).toBe(5n);
    }
    expect(binaryFn("urem", i8)(-1n, 10n)).toBe(5n); // 255 % 10
    expect(binaryFn("urem", i32)(-1n, 10n)).toBe(5n); // 4294967295 % 10
    expect(binaryFn("udiv", i16)(-2n, 3n)).toBe(21844n); // 65534 / 3
  });

  test("shifts take the amount modulo the width; lshr logical, ashr arithmetic", () => {
    for (const n of WIDTHS) {
      const t = intType(n);
      const N = BigInt(n);
      expect(binaryFn("shl", t)(1n, N - 1n)).toBe(MIN(n));
      expect(binaryFn("shl", t)(1n, N)).toBe(1n);
      expect(binaryFn("shl", t)(1n, N + 1n)).toBe(2n);
      expect(binaryFn("shl", t)(1n, -1n)).toBe(MIN(n)); // -1 mod n = n-1
      expect(binaryFn("lshr", t)(-1n, N - 1n)).toBe(1n);
      expect(binaryFn("lshr", t)(-1n, N)).toBe(-1n);
      expect(binaryFn("lshr", t)(MIN(n), 1n)).toBe(2n ** (N - 2n));
      expect(binaryFn("ashr", t)(MIN(n), N - 1n)).toBe(-1n);
      expect(binaryFn("ashr", t)(MIN(n), N)).toBe(MIN(n));
      expect(binaryFn("ashr", t)(-8n, 2n)).toBe(-2n);
    }
  });

  test("and, or, xor, neg, not", () => {
    for (const n of WIDTHS) {
      const t = intType(n);
      expect(binaryFn("and", t)(-1n, 0x5an)).toBe(0x5an);
      expect(binaryFn("or", t)(MIN(n), 1n)).toBe(MIN(n) + 1n);
      expect(binaryFn("xor", t)(-1n, MAX(n))).toBe(MIN(n));
      expect(unaryFn("neg", t)(MIN(n))).toBe(MIN(n));
      expect(unaryFn("neg", t)(5n)).toBe(-5n);
      expect(unaryFn("not", t)(0n)).toBe(-1n);
      expect(unaryFn("not", t)(MAX(n))).toBe(MIN(n));
    }
  });

  test("bswap reverses the bytes of the value's width", () => {
    expect(unaryFn("bswap", i16)(0x1234n)).toBe(0x3412n);
    expect(unaryFn("bswap", i16)(0x00ffn)).toBe(-256n); // 0xff00
    expect(unaryFn("bswap", i32)(0x12345678n)).toBe(0x78563412n);
    expect(unaryFn("bswap", i32)(0xffn)).toBe(MIN(32) + 0x7f000000n); // 0xff000000
    expect(unaryFn("bswap", i64)(0x0102030405060708n)).toBe(0x0807060504030201n);
    expect(unaryFn("bswap", i64)(1n)).toBe(2n ** 56n);
  });

  test("zext, sext, trunc", () => {
    expect(castFn("zext", i8, i64)(-1n)).toBe(255n);
    expect(castFn("zext", i8, i16)(-128n)).toBe(128n);
    expect(castFn("zext", i32, i64)(-1n)).toBe(0xffffffffn);
    expect(castFn("zext", i16, i32)(-1n)).toBe(0xffffn);
    expect(castFn("sext", i8, i64)(-1n)).toBe(-1n);
    expect(castFn("sext", i16, i32)(-32768n)).toBe(-32768n);
    expect(castFn("sext", i32, i64)(0x7fffffffn)).toBe(0x7fffffffn);
    expect(castFn("trunc", i64, i8)(0x1ffn)).toBe(-1n);
    expect(castFn("trunc", i64, i8)(0x180n)).toBe(-128n);
    expect(castFn("trunc", i64, i32)(0x1_0000_0005n)).toBe(5n);
    expect(castFn("trunc", i32, i16)(0x18000n)).toBe(-32768n);
  });

  test("compares: unsigned ones see -1 as the largest value; results are i64 0/1", () => {
    for (const n of WIDTHS) {
      const t = intType(n);
      expect(compareFn("ult", t)(-1n, 1n)).toBe(0n);
      expect(compareFn("ugt", t)(-1n, 1n)).toBe(1n);
      expect(compareFn("uge", t)(MIN(n), MAX(n))).toBe(1n);
      expect(compareFn("ule", t)(0n, 0n)).toBe(1n);
      expect(compareFn("slt", t)(-1n, 1n)).toBe(1n);
      expect(compareFn("sgt", t)(MIN(n), MAX(n))).toBe(0n);
      expect(compareFn("sle", t)(MIN(n), MIN(n))).toBe(1n);
      expect(compareFn("sge", t)(-2n, -1n)).toBe(0n);
      expect(compareFn("eq", t)(MIN(n), MIN(n))).toBe(1n);
      expect(compareFn("ne", t)(MIN(n), MIN(n))).toBe(0n);
    }
  });

  test("arguments are wrapped to their parameter type", () => {
    expect(binaryFn("add", i8)(255n, 0n)).toBe(-1n);
    expect(binaryFn("add", i8)(0x1_01n, 0n)).toBe(1n);
  });

  test("select and copy", () => {
    const text = `
func @f(i64 %0, i32 %1, i32 %2) -> i32 {
@bb0:
  %3 = select i32 %0, %1, %2
  %4 = copy i32 %3
  ret %4
}`;
    expect(value(text, "f", [7n, 1n, 2n])).toBe(1n);
    expect(value(text, "f", [0n, 1n, 2n])).toBe(2n);
    expect(value(text, "f", [-1n, 1n, 2n])).toBe(1n);
  });

  // An independent model: everything in the unsigned domain [0, 2^n), converted at the end.
  const toU = (n: number, x: bigint) => ((x % 2n ** BigInt(n)) + 2n ** BigInt(n)) % 2n ** BigInt(n);
  const toS = (n: number, x: bigint) => {
    const u = toU(n, x);
    return u >= 2n ** BigInt(n - 1) ? u - 2n ** BigInt(n) : u;
  };
  const truncDiv = (a: bigint, b: bigint) => {
    const q = (a < 0n ? -a : a) / (b < 0n ? -b : b);
    return (a < 0n) !== (b < 0n) ? -q : q;
  };
  const MODEL: Record<BinaryOpcode, (n: number, a: bigint, b: bigint) => bigint> = {
    add: (n, a, b) => toU(n, a) + toU(n, b),
    sub: (n, a, b) => toU(n, a) - toU(n, b),
    mul: (n, a, b) => toU(n, a) * toU(n, b),
    udiv: (n, a, b) => (toU(n, b) === 0n ? 0n : toU(n, a) / toU(n, b)),
    sdiv: (n, a, b) => (toS(n, b) === 0n ? 0n : truncDiv(toS(n, a), toS(n, b))),
    urem: (n, a, b) => (toU(n, b) === 0n ? a : toU(n, a) - toU(n, b) * (toU(n, a) / toU(n, b))),
    srem: (n, a, b) => (toS(n, b) === 0n ? a : toS(n, a) - toS(n, b) * truncDiv(toS(n, a), toS(n, b))),
    and: (n, a, b) => toU(n, a) & toU(n, b),
    or: (n, a, b) => toU(n, a) | toU(n, b),
    xor: (n, a, b) => toU(n, a) ^ toU(n, b),
    shl: (n, a, b) => toU(n, a) * 2n ** (toU(n, b) % BigInt(n)),
    lshr: (n, a, b) => toU(n, a) / 2n ** (toU(n, b) % BigInt(n)),
    ashr: (n, a, b) => {
      const s = toS(n, a);
      const d = 2n ** (toU(n, b) % BigInt(n));
      return s >= 0n ? s / d : -((-s + d - 1n) / d); // floor division
    },
  };
  const interesting = (n: number) =>
    fc.oneof(
      fc.bigInt({ min: MIN(n), max: MAX(n) }),
      fc.constantFrom(0n, 1n, -1n, 2n, BigInt(n), BigInt(n) - 1n, MIN(n), MAX(n), MIN(n) + 1n),
    );

  test("property: every binary opcode at every width agrees with an unsigned-domain model (params, constants, evalBinary)", () => {
    const ops = Object.keys(MODEL) as BinaryOpcode[];
    for (const n of WIDTHS) {
      for (const op of ops) {
        const viaParams = binaryFn(op, intType(n));
        fc.assert(
          fc.property(interesting(n), interesting(n), (a, b) => {
            const want = toS(n, MODEL[op](n, a, b));
            expect(viaParams(a, b)).toBe(want);
            expect(evalBinary(op, n, a, b)).toBe(want);
          }),
          { numRuns: 60 },
        );
        // Constant operands go through the register template instead of parameters.
        const [a, b] = [MIN(n) + 3n, -7n];
        expect(binaryFn(op, intType(n), [a, b])(0n, 0n)).toBe(toS(n, MODEL[op](n, a, b)));
      }
    }
  });

  test("eval* helpers normalize their inputs", () => {
    expect(evalUnary("neg", 8, 128n)).toBe(-128n);
    expect(evalCast("zext", 8, 32, 255n)).toBe(255n);
    expect(evalCast("sext", 8, 32, 255n)).toBe(-1n);
    expect(evalCompare("ult", 16, 65535n, 1n)).toBe(0n);
    expect(evalCompare("slt", 16, 65535n, 1n)).toBe(1n);
  });
});

describe("control flow and phis", () => {
  const SUM = `
func @sum(i64 %0) -> i64 {
@bb0:
  br @bb1
@bb1:
  %2 = phi i64 [1, @bb0], [%5, @bb2]
  %3 = phi i64 [0, @bb0], [%4, @bb2]
  %6 = ule i64 %2, %0
  condbr %6, @bb2, @bb3
@bb2:
  %4 = add i64 %3, %2
  %5 = add i64 %2, 1
  br @bb1
@bb3:
  ret %3
}`;

  test("sum 1..n", () => {
    expect(value(SUM, "sum", [0n])).toBe(0n);
    expect(value(SUM, "sum", [1n])).toBe(1n);
    expect(value(SUM, "sum", [100n])).toBe(5050n);
    expect(value(SUM, "sum", [10000n])).toBe(50005000n);
  });

  test("steps count every executed instruction, phis and terminators included", () => {
    // bb0: 1; per iteration bb1 (4) + bb2 (3); exit bb1 (4) + bb3 (1).
    for (const n of [0n, 1n, 5n]) expect(run(SUM, "sum", [n]).steps).toBe(1 + Number(n) * 7 + 4 + 1);
  });

  test("factorial wraps at 64 bits", () => {
    const text = `
func @fact(i64 %0) -> i64 {
@bb0:
  br @bb1
@bb1:
  %1 = phi i64 [%0, @bb0], [%4, @bb2]
  %2 = phi i64 [1, @bb0], [%3, @bb2]
  %5 = sgt i64 %1, 1
  condbr %5, @bb2, @bb3
@bb2:
  %3 = mul i64 %2, %1
  %4 = sub i64 %1, 1
  br @bb1
@bb3:
  ret %2
}`;
    let f = 1n;
    for (let k = 1n; k <= 25n; k++) {
      f *= k;
      expect(value(text, "fact", [k])).toBe(BigInt.asIntN(64, f));
    }
  });

  test("phis take their incoming values in parallel (a swap loop)", () => {
    const text = `
func @swap(i64 %0, i64 %1, i64 %2) -> i64 {
@bb0:
  br @bb1
@bb1:
  %3 = phi i64 [%0, @bb0], [%4, @bb1]
  %4 = phi i64 [%1, @bb0], [%3, @bb1]
  %5 = phi i64 [%2, @bb0], [%6, @bb1]
  %6 = sub i64 %5, 1
  %7 = sgt i64 %5, 0
  condbr %7, @bb1, @bb2
@bb2:
  %8 = mul i64 %3, 10
  %9 = add i64 %8, %4
  ret %9
}`;
    // a, b swapped once per iteration; %2 + 1 iterations of the loop body.
    expect(value(text, "swap", [1n, 2n, 0n])).toBe(12n);
    expect(value(text, "swap", [1n, 2n, 1n])).toBe(21n);
    expect(value(text, "swap", [1n, 2n, 2n])).toBe(12n);
    expect(value(text, "swap", [1n, 2n, 7n])).toBe(21n);
  });

  test("a condbr with both targets equal uses the pair of each edge", () => {
    const text = `
func @f(i64 %0) -> i64 {
@bb0:
  condbr %0, @bb1, @bb1
@bb1:
  %1 = phi i64 [10, @bb0], [20, @bb0]
  ret %1
}`;
    expect(value(text, "f", [1n])).toBe(10n);
    expect(value(text, "f", [0n])).toBe(20n);
  });

  test("condbr on a narrow value: any non-zero bit pattern is true", () => {
    const text = `
func @f(i8 %0) -> i64 {
@bb0:
  condbr %0, @bb1, @bb2
@bb1:
  ret 1
@bb2:
  ret 0
}`;
    expect(value(text, "f", [-128n])).toBe(1n);
    expect(value(text, "f", [256n])).toBe(0n); // wraps to 0 as an i8
  });

  test("unreachable traps", () => {
    const e = trap(() => run(`func @f() -> i64 {\n@bb0:\n  unreachable\n}`, "f"));
    expect(e.message).toMatch(/reached unreachable/);
    expect(e.message).toMatch(/@f @bb0/);
  });

  test("step limit", () => {
    const text = `func @f() -> i64 {\n@bb0:\n  br @bb0\n}`;
    const e = trap(() => run(text, "f", [], { maxSteps: 1000 }));
    expect(e.message).toMatch(/step limit/);
    expect(trap(() => run(SUM, "sum", [1_000_000n])).message).toMatch(/step limit of 1000000/);
  });

  test("void functions return 0n", () => {
    expect(value(`func @f() -> void {\n@bb0:\n  ret\n}`, "f")).toBe(0n);
  });
});

describe("memory", () => {
  test("stores and loads of every width are little-endian and normalized", () => {
    const text = `
func @f(i64 %0, i64 %1) -> i64 {
@bb0:
  %9 = alloca 16, align 8
  store i64 %0, %9, 0
  store i64 0, %9, 8
  %2 = ptradd ptr.stack %9, %1
  %3 = load i8 %2, 0
  %4 = sext i8 %3 to i64
  ret %4
}`;
    const bytes = [0x88n, 0x77n, 0x66n, 0x55n, 0x44n, 0x33n, 0x22n, 0x11n];
    for (let k = 0; k < 8; k++) expect(value(text, "f", [0x1122334455667788n, BigInt(k)])).toBe(BigInt.asIntN(8, bytes[k]!));
    const widths = `
func @g(i32 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i32 %0, %1, 0
  store i16 -1, %1, 4
  store i8 127, %1, 6
  store i8 -128, %1, 7
  %2 = load i64 %1, 0
  ret %2
}
func @h() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i64 255, %1, 0
  %2 = load i8 %1, 0
  %3 = load i16 %1, 0
  %4 = load i32 %1, 1
  %5 = sext i8 %2 to i64
  %6 = sext i16 %3 to i64
  %7 = sext i32 %4 to i64
  %8 = mul i64 %5, 1000000
  %9 = mul i64 %6, 1000
  %10 = add i64 %8, %9
  %11 = add i64 %10, %7
  ret %11
}`;
    expect(value(widths, "g", [0x12345678n])).toBe(BigInt.asIntN(64, 0x807fffff12345678n));
    // i8 of 0xff is -1; i16 of ff 00 is 255; i32 at offset 1 is 0.
    expect(value(widths, "h")).toBe(-1_000_000n + 255_000n);
  });

  test("reading an uninitialised stack byte traps", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i8 1, %1, 0
  %2 = load i16 %1, 0
  %3 = zext i16 %2 to i64
  ret %3
}`;
    const e = trap(() => run(text, "f"));
    expect(e.message).toMatch(/read of uninitialised stack byte at offset 1/);
    expect(e.message).toContain("load i16");
  });

  test("out-of-bounds loads and stores trap with the instruction printed", () => {
    const store = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = ptradd ptr.stack %1, %0
  store i32 0, %2, 0
  ret 0
}`;
    expect(value(store, "f", [4n])).toBe(0n);
    for (const off of [5n, -1n, 8n, 2n ** 62n]) {
      const e = trap(() => run(store, "f", [off]));
      expect(e.message).toMatch(/out-of-bounds store of 4 bytes/);
      expect(e.message).toContain("store i32 0, %2, 0");
    }
    const load = `
func @f() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 0, %1, 0
  %2 = load i64 %1, 0
  ret %2
}`;
    expect(trap(() => run(load, "f")).message).toMatch(/out-of-bounds load of 8 bytes at offset 0 of stack %1 \(4 bytes\)/);
  });

  test("pointer arithmetic is exact over large offsets", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i64 42, %1, 0
  %2 = ptradd ptr.stack %1, 1152921504606846981
  %3 = ptradd ptr.stack %2, -1152921504606846981
  %4 = load i64 %3, 0
  ret %4
}`;
    expect(value(text, "f")).toBe(42n);
  });

  test("pointer compares: by offset within an object; only eq/ne across objects", () => {
    const text = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = ptradd ptr.stack %1, %0
  %3 = ult ptr.stack %1, %2
  %4 = eq ptr.stack %2, 0
  %5 = add i64 %3, %4
  ret %5
}
func @g() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 8, align 8
  %3 = ne ptr.stack %1, %2
  %4 = ult ptr.stack %1, %2
  ret %3
}`;
    expect(value(text, "f", [4n])).toBe(1n);
    expect(value(text, "f", [0n])).toBe(0n);
    expect(value(text, "f", [-4n])).toBe(0n); // signed offsets: below the object start
    expect(trap(() => run(text, "g")).message).toMatch(/ordered compare ult of <stack %1> and <stack %2>/);
  });

  test("null and integer pointers cannot be dereferenced", () => {
    const text = `
func @f(ptr %0) -> i64 {
@bb0:
  %1 = load i64 %0, 0
  ret %1
}`;
    expect(trap(() => run(text, "f", [0n])).message).toMatch(/null pointer/);
    expect(trap(() => run(text, "f", [4096n])).message).toMatch(/integer address 4096/);
  });

  test("pointers spilled to the stack load back; partial reads and non-stack spills trap", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store i64 77, %1, 0
  store ptr.stack %1, %2, 8
  %3 = load ptr.stack %2, 8
  %4 = load i64 %3, 0
  ret %4
}
func @partial() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store ptr.stack %1, %2, 8
  %3 = load i32 %2, 12
  %4 = zext i32 %3 to i64
  ret %4
}
func @overwritten() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 8, align 8
  store ptr.stack %1, %2, 0
  store i8 5, %2, 3
  %3 = load i64 %2, 0
  ret %3
}
func @unaligned() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store ptr.stack %1, %2, 4
  ret 0
}`;
    expect(value(text, "f")).toBe(77n);
    expect(trap(() => run(text, "partial")).message).toMatch(/partial load of a pointer/);
    // Overwriting part of a spilled pointer turns the slot back into plain bytes.
    expect(value(text, "overwritten")).toBe(5n << 24n);
    expect(trap(() => run(text, "unaligned")).message).toMatch(/not an aligned 8-byte slot/);
  });

  test("a stack pointer dies when its function returns", () => {
    const text = `
func @leak() -> ptr.stack {
@bb0:
  %1 = alloca 8, align 8
  store i64 1, %1, 0
  ret %1
}
func @f() -> i64 {
@bb0:
  %1 = call ptr.stack @leak()
  %2 = load i64 %1, 0
  ret %2
}`;
    expect(trap(() => run(text, "f")).message).toMatch(/after its function returned/);
  });

  test("an alloca executed again in a loop is the same slot", () => {
    // The first iteration stores, the second only loads.
    const text = `
func @f() -> i64 {
@bb0:
  br @bb1
@bb1:
  %1 = phi i64 [0, @bb0], [%6, @bb3]
  %2 = alloca 8, align 8
  %3 = eq i64 %1, 0
  condbr %3, @bb2, @bb4
@bb2:
  store i64 9, %2, 0
  br @bb3
@bb3:
  %6 = add i64 %1, 1
  br @bb1
@bb4:
  %5 = load i64 %2, 0
  ret %5
}`;
    expect(value(text, "f")).toBe(9n);
  });

  test("context bytes: loads, stores (copied in, returned out), ctxPointer arguments", () => {
    const text = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load i32 %0, 4
  %2 = zext i32 %1 to i64
  store i8 -1, %0, 0
  ret %2
}`;
    const ctx = new Uint8Array([0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]);
    const r = run(text, "f", ["ctx"], { ctx });
    expect(r.value).toBe(0x12345678n);
    expect(r.ctx[0]).toBe(0xff);
    expect(ctx[0]).toBe(0); // the caller's bytes are not modified
    expect(run(text, "f", [ctxPointer(0)], { ctx }).value).toBe(0x12345678n);
    expect(trap(() => run(text, "f", [ctxPointer(2)], { ctx })).message).toMatch(/out-of-bounds load of 4 bytes at offset 6 of ctx/);
  });
});

describe("packets", () => {
  const XDP = `
func @xdp(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load ptr.packet_end %0, 4
  %3 = ptradd ptr.packet %1, 4
  %4 = ugt ptr.packet %3, %2
  condbr %4, @bb2, @bb1
@bb1:
  %5 = load i32 %1, 0
  %6 = zext i32 %5 to i64
  store i8 0, %1, 0
  ret %6
@bb2:
  ret -1
}`;
  const ctxPointers = [
    { offset: 0, kind: "packet" as const },
    { offset: 4, kind: "packet_end" as const },
  ];

  test("ctx fields yield packet pointers; bounds checks against packet_end work", () => {
    const ctx = new Uint8Array(8);
    const r = run(XDP, "xdp", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array([1, 2, 3, 4, 5]) });
    expect(r.value).toBe(0x04030201n);
    expect(r.packet).toEqual(new Uint8Array([0, 2, 3, 4, 5]));
    expect(value(XDP, "xdp", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array([1, 2, 3]) })).toBe(-1n);
    // Without the check, the access itself traps.
    const unchecked = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load i32 %1, 0
  %3 = zext i32 %2 to i64
  ret %3
}`;
    expect(trap(() => run(unchecked, "f", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array(3) })).message).toMatch(/out-of-bounds load of 4 bytes at offset 0 of packet \(3 bytes\)/);
  });

  test("stores to the packet pointer fields of ctx trap", () => {
    const text = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  store i32 0, %0, 4
  ret 0
}`;
    expect(trap(() => run(text, "f", ["ctx"], { ctx: new Uint8Array(8), ctxPointers })).message).toMatch(/packet pointer field/);
  });

  const PKT = `
map @hits : array, key i32, value i64, max_entries 1, flags 0
func @f(ptr.ctx %0, i64 %1) -> i64 {
@bb0:
  %2 = pktload i8 %0, %1, 0
  %3 = pktload i16 %0, %1, 1
  %4 = pktload i32 %0, %1, 3
  %5 = zext i8 %2 to i64
  %6 = zext i16 %3 to i64
  %7 = zext i32 %4 to i64
  %8 = shl i64 %5, 48
  %9 = shl i64 %6, 32
  %10 = or i64 %8, %9
  %11 = or i64 %10, %7
  %12 = alloca 4, align 4
  store i32 0, %12, 0
  %13 = mapref @hits
  %14 = call ptr.map_value_or_null helper 1(%13, %12)
  %15 = eq ptr.map_value_or_null %14, 0
  condbr %15, @bb2, @bb1
@bb1:
  atomic.add i64 %14, 1, 0
  br @bb2
@bb2:
  ret %11
}
func @g(ptr.ctx %0, i64 %1) -> i64 {
@bb0:
  %2 = call i64 @f(%0, %1)
  %3 = add i64 %2, 1
  ret %3
}`;

  test("pktload reads big-endian bytes, zero-extended", () => {
    const packet = new Uint8Array([0xaa, 0x81, 0x02, 0x03, 0xf4, 0x05, 0x06, 0x07, 0x08]);
    const r = run(PKT, "f", ["ctx", 1n], { packet });
    expect(r.value).toBe((0x81n << 48n) | (0x0203n << 32n) | 0xf4050607n);
    expect(r.maps.get("hits").lookupInt(0)).toBe(1n);
  });

  test("an out-of-bounds pktload returns 0 from the function at once", () => {
    for (const idx of [3n, -1n, 100n, 2n ** 63n - 1n]) {
      const r = run(PKT, "f", ["ctx", idx], { packet: new Uint8Array(9) });
      expect(r.value).toBe(0n);
      expect(r.maps.get("hits").lookupInt(0)).toBe(0n); // the rest of @f did not run
    }
    // Only the function containing the pktload returns: the caller goes on.
    expect(value(PKT, "g", ["ctx", 5n], { packet: new Uint8Array(9) })).toBe(1n);
  });
});

describe("maps", () => {
  const COUNTER = `
map @counts : array, key i32, value i64, max_entries 4, flags 0
func @count(i32 %0) -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 %0, %1, 0
  %2 = mapref @counts
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  %4 = eq ptr.map_value_or_null %3, 0
  condbr %4, @bb2, @bb1
@bb1:
  %5 = atomic.fetch_add i64 %3, 1, 0
  ret %5
@bb2:
  ret -1
}`;

  test("array counter with map_lookup_elem and atomic add", () => {
    const m = parseModule(COUNTER);
    const maps = MapState.fromModule(m);
    expect(maps.get("counts").entries()).toHaveLength(4);
    for (let k = 0n; k < 3n; k++) expect(interpret(m, "count", [2n], { maps }).value).toBe(k);
    expect(interpret(m, "count", [0n], { maps }).value).toBe(0n);
    expect(interpret(m, "count", [4n], { maps }).value).toBe(-1n); // index out of range: null
    expect(interpret(m, "count", [-1n], { maps }).value).toBe(-1n);
    const counts = maps.get("counts");
    expect(counts.lookupInt(2)).toBe(3n);
    expect(counts.lookupInt(0)).toBe(1n);
    expect(counts.entries().map(([k, v]) => [k[0], v[0]])).toEqual([
      [0, 1],
      [1, 0],
      [2, 3],
      [3, 0],
    ]);
  });

  test("a fresh run starts from empty maps; clone() keeps a copy", () => {
    const m = parseModule(COUNTER);
    const maps = MapState.fromModule(m);
    interpret(m, "count", [1n], { maps });
    const saved = maps.clone();
    interpret(m, "count", [1n], { maps });
    expect(maps.get("counts").lookupInt(1)).toBe(2n);
    expect(saved.get("counts").lookupInt(1)).toBe(1n);
    expect(interpret(m, "count", [1n]).maps.get("counts").lookupInt(1)).toBe(1n);
  });

  const HASH = `
map @seen : hash, key i64, value i64, max_entries 2, flags 0
func @add(i64 %0, i64 %1) -> i64 {
@bb0:
  %2 = alloca 8, align 8
  store i64 %0, %2, 0
  %3 = mapref @seen
  %4 = call ptr.map_value_or_null helper 1(%3, %2)
  %5 = ne ptr.map_value_or_null %4, 0
  condbr %5, @bb1, @bb2
@bb1:
  atomic.add i64 %4, %1, 0
  ret 0
@bb2:
  %6 = alloca 8, align 8
  store i64 %1, %6, 0
  %7 = call i64 helper 2(%3, %2, %6, 1)
  ret %7
}
func @del(i64 %0) -> i64 {
@bb0:
  %2 = alloca 8, align 8
  store i64 %0, %2, 0
  %3 = mapref @seen
  %4 = call i64 helper 3(%3, %2)
  ret %4
}`;

  test("hash map: create if absent, then add; full map; delete", () => {
    const m = parseModule(HASH);
    const maps = MapState.fromModule(m);
    const add = (k: bigint, v: bigint) => interpret(m, "add", [k, v], { maps }).value;
    const del = (k: bigint) => interpret(m, "del", [k], { maps }).value;
    expect(add(7n, 5n)).toBe(0n);
    expect(add(7n, 10n)).toBe(0n);
    expect(add(-3n, 1n)).toBe(0n);
    expect(maps.get("seen").lookupInt(7)).toBe(15n);
    expect(add(8n, 1n)).toBe(-7n); // E2BIG: max_entries 2
    expect(del(7n)).toBe(0n);
    expect(del(7n)).toBe(-2n); // ENOENT
    expect(add(8n, 1n)).toBe(0n);
    // Sorted by key bytes (little-endian): 8 = 08 00.., -3 = fd ff...
    expect(maps.get("seen").entries().map(([k, v]) => [k[0], v[0]])).toEqual([
      [8, 1],
      [0xfd, 1],
    ]);
  });

  test("update flags and errnos on array and hash maps", () => {
    const m = parseModule(`
map @a : array, key i32, value i32, max_entries 2, flags 0
map @h : hash, key i32, value i32, max_entries 8, flags 0
map @l : lru_hash, key i32, value i32, max_entries 2, flags 0`);
    const maps = MapState.fromModule(m);
    const a = maps.get("a");
    expect(a.update(1, 5, 0)).toBe(0);
    expect(a.update(1, 6, 2)).toBe(0);
    expect(a.update(1, 6, 1)).toBe(-17); // EEXIST: array elements always exist
    expect(a.update(2, 6, 0)).toBe(-7); // E2BIG
    expect(a.update(0, 6, 4)).toBe(-22); // unknown flags
    expect(a.delete(0)).toBe(-22); // EINVAL
    expect(a.lookupInt(1)).toBe(6n);
    const h = maps.get("h");
    expect(h.update(1, 1, 2)).toBe(-2); // EXIST on a missing key: ENOENT
    expect(h.update(1, 1, 1)).toBe(0);
    expect(h.update(1, 2, 1)).toBe(-17);
    expect(h.update(1, 3, 2)).toBe(0);
    expect(h.lookupInt(1)).toBe(3n);
    expect(h.lookup(2)).toBeUndefined();
    const l = maps.get("l");
    l.update(1, 10);
    l.update(2, 20);
    l.lookup(1); // host lookups also mark entries used
    expect(l.update(3, 30)).toBe(0); // evicts key 2, the least recently used
    expect(l.entries().map(([k]) => k[0])).toEqual([1, 3]);
  });

  test("pointers into a deleted entry are dead; map handles are not memory", () => {
    const text = `
map @h : hash, key i32, value i64, max_entries 8, flags 0
func @f() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  %4 = call i64 helper 3(%2, %1)
  %5 = load i64 %3, 0
  ret %5
}
func @g() -> i64 {
@bb0:
  %2 = mapref @h
  %5 = load i64 %2, 0
  ret %5
}
func @spill() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  store ptr.stack %1, %3, 0
  ret 0
}`;
    const m = parseModule(text);
    const maps = MapState.fromModule(m);
    maps.get("h").update(1, 99);
    expect(trap(() => interpret(m, "f", [], { maps })).message).toMatch(/after the entry was deleted/);
    expect(trap(() => run(text, "g")).message).toMatch(/through a map handle/);
    maps.get("h").update(1, 99);
    expect(trap(() => interpret(m, "spill", [], { maps })).message).toMatch(/pointers may only be spilled to the stack/);
  });

  test("snapshot(): deterministic contents for differential tests (arrays: non-zero values only)", () => {
    const m = parseModule(`${COUNTER}\n${HASH}`);
    const before = MapState.fromModule(m);
    before.get("seen").update(5, 1);
    const after = before.clone();
    interpret(m, "count", [3n], { maps: before });
    interpret(m, "add", [5n, 2n], { maps: before });
    expect(before.snapshot()).toEqual({
      counts: [["03000000", "0100000000000000"]],
      seen: [["0500000000000000", "0300000000000000"]],
    });
    expect(after.snapshot()).not.toEqual(before.snapshot());
    interpret(m, "add", [5n, 2n], { maps: after });
    interpret(m, "count", [3n], { maps: after });
    expect(after.snapshot()).toEqual(before.snapshot());
  });

  test("map keys must be initialised stack bytes", () => {
    const text = `
map @h : hash, key i64, value i64, max_entries 8, flags 0
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  ret 0
}`;
    const e = trap(() => run(text, "f"));
    expect(e.message).toMatch(/uninitialised stack byte at offset 4/);
    expect(e.message).toContain("call ptr.map_value_or_null helper 1");
  });
});

describe("helpers and calls", () => {
  test("default clock, pid/tgid and cpu helpers, configurable", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = call i64 helper 5()
  %2 = call i64 helper 14()
  %3 = call i32 helper 8()
  %4 = sext i32 %3 to i64
  %5 = add i64 %1, %2
  %6 = add i64 %5, %4
  ret %6
}`;
    expect(value(text, "f", [], { time: 1000n, pidTgid: (5n << 32n) | 6n, cpu: 3 })).toBe(1000n + (5n << 32n) + 6n + 3n);
    expect(value(text, "f")).toBe(1_000_000_000n + ((4242n << 32n) | 4242n));
  });

  test("host helpers see arguments and memory, override built-ins, results wrap to the call type", () => {
    const text = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i64 %0, %1, 0
  %2 = call i8 helper 99(%1, 8)
  %3 = sext i8 %2 to i64
  %4 = call i64 helper 5()
  %5 = add i64 %3, %4
  ret %5
}`;
    const seen: Uint8Array[] = [];
    const r = run(text, "f", [0x0102n], {
      helpers: {
        99: (args, ctx) => {
          expect(args[0]).toBeInstanceOf(InterpPointer);
          seen.push(ctx.readBytes(args[0]!, Number(args[1])));
          ctx.writeBytes(args[0]!, new Uint8Array([9]));
          return 0x1ff; // wraps to i8 -1
        },
        5: () => 100n,
      },
    });
    expect(r.value).toBe(99n);
    expect(seen).toEqual([new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0])]);
    expect(trap(() => run(`func @f() -> i64 {\n@bb0:\n  %1 = call i64 helper 4242()\n  ret %1\n}`, "f")).message).toMatch(/unknown helper 4242/);
  });

  test("calls between functions, recursion, depth limit, unknown callee", () => {
    const text = `
func @fact(i64 %0) -> i64 {
@bb0:
  %1 = sle i64 %0, 1
  condbr %1, @bb1, @bb2
@bb1:
  ret 1
@bb2:
  %2 = sub i64 %0, 1
  %3 = call i64 @fact(%2)
  %4 = mul i64 %0, %3
  ret %4
}
func @main(i64 %0) -> i64 {
@bb0:
  %1 = call i64 @fact(%0)
  %2 = call i64 @fact(3)
  %3 = add i64 %1, %2
  ret %3
}
`;
    expect(value(text, "main", [10n])).toBe(3628800n + 6n);
    expect(value(text, "fact", [64n], { maxCallDepth: 64 })).toBe(BigInt.asIntN(64, [...Array(64).keys()].reduce((p, k) => p * BigInt(k + 1), 1n)));
    expect(trap(() => run(text, "fact", [20n], { maxCallDepth: 8 })).message).toMatch(/call depth limit of 8/);
    const m = parseModule(text);
    const bad = m.addFunction("bad", [], i64);
    const b = new Builder(bad).atEnd(bad.createBlock());
    b.ret(b.callFunction("nowhere", []));
    expect(trap(() => interpret(m, "bad", [])).message).toMatch(/unknown function @nowhere/);
    expect(trap(() => run(text, "main", [])).message).toMatch(/takes 1 arguments, got 0/);
    expect(trap(() => run(text, "nope")).message).toMatch(/no function @nope/);
  });

  test("errors inside a callee name the callee", () => {
    const text = `
func @inner() -> i64 {
@bb3:
  unreachable
}
func @outer() -> i64 {
@bb0:
  %1 = call i64 @inner()
  ret %1
}`;
    expect(trap(() => run(text, "outer")).location?.function).toBe("inner");
  });
});
