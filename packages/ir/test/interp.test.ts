/**
 * Tests of the IR interpreter: per-opcode arithmetic at every width (table of edge cases
 * plus a property test against an independent unsigned model), control flow and parallel
 * phis, helpers, calls and limits. Memory, packets and maps: interp-memory.test.ts.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Builder } from "../src/builder.js";
import {
  evalBinary,
  evalCast,
  evalCompare,
  evalUnary,
  interpret,
  InterpPointer,
} from "../src/interp.js";
import { Module } from "../src/module.js";
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "../src/opcodes.js";
import { parseModule } from "../src/parse.js";
import { run, trap, value } from "./interp-text.js";
import { i16, i32, i64, i8, intType, type IntBits, type IntType } from "../src/types.js";
import { SUM_LOOP_TEXT } from "@luabpf/test-support";

const WIDTHS: readonly IntBits[] = [8, 16, 32, 64];
const MIN = (n: number) => -(2n ** BigInt(n - 1));
const MAX = (n: number) => 2n ** BigInt(n - 1) - 1n;


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
  const SUM = SUM_LOOP_TEXT;

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
