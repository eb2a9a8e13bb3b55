/**
 * Lua 5.4 integer semantics of the emitted IR, checked in the IR interpreter: operators on
 * run-time operands (64-bit kprobe registers, so nothing folds) against the reference
 * functions of integer.ts and against hand-computed values; constant folding against the
 * same references; truthiness, nil and booleans; loops; the SSA form of variables.
 */
import { MapState } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { evalBinary, floorDiv, floorMod, parseNumericLiteral, shiftLeft, shiftRight, type ArithOperator } from "../src/integer.js";
import { compile, context, count, evalBody, only, run } from "./helpers.js";

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

/** pt_regs with di and si set. */
function regs(di: bigint, si = 0n): Uint8Array {
  return context(168, { 112: di, 104: si }, { 112: 8, 104: 8 });
}

/** Compiles `return <expr>` in a kprobe where `a` and `b` are the di and si registers. */
function kprobe(expr: string, prelude = "") {
  const m = compile(`${prelude}\nbpf.kprobe('f', function (r)\n  local a, b = r.di, r.si\n  return ${expr}\nend)\n`);
  return (a: bigint, b = 0n): bigint => BigInt.asIntN(64, run(m, { ctx: regs(a, b) }).value);
}

const SAMPLES = [0n, 1n, -1n, 2n, -2n, 3n, -3n, 7n, -7n, 64n, 63n, -64n, 100n, MAX, MIN, MAX - 1n, MIN + 1n, 2n ** 32n, -(2n ** 32n) + 5n];
const OPERATORS: ArithOperator[] = ["+", "-", "*", "//", "%", "&", "|", "~", "<<", ">>"];

describe("integer operators on run-time values", () => {
  for (const op of OPERATORS) {
    test(`a ${op} b matches the reference for every pair of samples`, () => {
      const f = kprobe(`a ${op} b`);
      for (const a of SAMPLES) for (const b of SAMPLES) expect(f(a, b), `${a} ${op} ${b}`).toBe(evalBinary(op, a, b));
    });
  }

  test("hand-computed floor division and modulo", () => {
    const div = kprobe("a // b");
    const mod = kprobe("a % b");
    expect(div(-7n, 2n)).toBe(-4n);
    expect(mod(-7n, 2n)).toBe(1n);
    expect(div(7n, -2n)).toBe(-4n);
    expect(mod(7n, -2n)).toBe(-1n);
    expect(div(-7n, -2n)).toBe(3n);
    expect(mod(-7n, -2n)).toBe(-1n);
    expect(div(-8n, 2n)).toBe(-4n);
    expect(mod(-8n, 2n)).toBe(0n);
    expect(div(MIN, -1n)).toBe(MIN);
    expect(mod(MIN, -1n)).toBe(0n);
    // Division by zero follows eBPF: x // 0 == 0, x % 0 == x.
    expect(div(-5n, 0n)).toBe(0n);
    expect(div(5n, 0n)).toBe(0n);
    expect(mod(-5n, 0n)).toBe(-5n);
    expect(mod(5n, 0n)).toBe(5n);
  });

  test("hand-computed wrap-around and shifts", () => {
    expect(kprobe("a + 1")(MAX)).toBe(MIN);
    expect(kprobe("a - 1")(MIN)).toBe(MAX);
    expect(kprobe("a * 2")(MAX)).toBe(-2n);
    expect(kprobe("-a")(MIN)).toBe(MIN);
    expect(kprobe("~a")(0n)).toBe(-1n);
    const shl = kprobe("a << b");
    const shr = kprobe("a >> b");
    expect(shl(1n, 63n)).toBe(MIN);
    expect(shl(1n, 64n)).toBe(0n);
    expect(shl(1n, 1000n)).toBe(0n);
    expect(shl(8n, -1n)).toBe(4n);
    expect(shl(1n, MIN)).toBe(0n);
    expect(shr(-1n, 1n)).toBe(MAX); // logical
    expect(shr(-1n, 63n)).toBe(1n);
    expect(shr(-1n, 64n)).toBe(0n);
    expect(shr(2n, -1n)).toBe(4n);
    expect(shr(1n, MIN)).toBe(0n);
  });

  test("constant divisors and shift amounts use the cheap sequences correctly", () => {
    const cases: [string, (a: bigint) => bigint][] = [
      ["a // 4", (a) => floorDiv(a, 4n)],
      ["a % 4", (a) => floorMod(a, 4n)],
      ["a // 1", (a) => a],
      ["a // 3", (a) => floorDiv(a, 3n)],
      ["a % 3", (a) => floorMod(a, 3n)],
      ["a // -3", (a) => floorDiv(a, -3n)],
      ["a % -3", (a) => floorMod(a, -3n)],
      ["a // -4", (a) => floorDiv(a, -4n)],
      ["a % -4", (a) => floorMod(a, -4n)],
      ["a // 0", () => 0n],
      ["a % 0", (a) => a],
      ["a << 3", (a) => shiftLeft(a, 3n)],
      ["a >> 3", (a) => shiftRight(a, 3n)],
      ["a << -3", (a) => shiftLeft(a, -3n)],
      ["a >> 64", () => 0n],
      ["a << 0", (a) => a],
    ];
    for (const [expr, ref] of cases) {
      const f = kprobe(expr);
      for (const a of SAMPLES) expect(f(a), `${expr} with a = ${a}`).toBe(BigInt.asIntN(64, ref(a)));
    }
  });

  test("constant expressions fold with the same semantics", () => {
    const m = compile("bpf.kprobe('f', function (r) return (-7 // 2) * 1000 + (-7 % 2) * 100 + (7 // 0) + (1 << 64) + (-1 >> 63) end)");
    expect(count(only(m), "ret")).toBe(1);
    expect([...only(m).instructions()].map((i) => i.opcode)).toEqual(["ret"]);
    expect(run(m, { ctx: regs(0n) }).value).toBe(-4000n + 100n + 0n + 0n + 1n);
  });

  test("comparisons are signed", () => {
    for (const [op, ref] of [
      ["<", (a: bigint, b: bigint) => a < b],
      ["<=", (a: bigint, b: bigint) => a <= b],
      [">", (a: bigint, b: bigint) => a > b],
      [">=", (a: bigint, b: bigint) => a >= b],
      ["==", (a: bigint, b: bigint) => a === b],
      ["~=", (a: bigint, b: bigint) => a !== b],
    ] as const) {
      const f = kprobe(`a ${op} b`);
      for (const a of SAMPLES) for (const b of [0n, -1n, 1n, MIN, MAX, 7n]) expect(f(a, b), `${a} ${op} ${b}`).toBe(ref(a, b) ? 1n : 0n);
    }
  });

  test("skb.len - 100 < 0 is true for short packets", () => {
    const m = compile("bpf.socket(function (skb) if skb.len - 100 < 0 then return 1 end return 0 end)");
    expect(run(m, { ctx: context(192, { 0: 60 }) }).value).toBe(1n);
    expect(run(m, { ctx: context(192, { 0: 1500 }) }).value).toBe(0n);
  });

  test("literals: hex wraps around, decimals are exact", () => {
    expect(evalBody("return 0xffffffffffffffff")).toBe(-1n);
    expect(BigInt.asIntN(64, evalBody("return 0x7fffffffffffffff + 1"))).toBe(MIN);
    expect(evalBody("return 9223372036854775807")).toBe(MAX);
  });

  test("a literal's text reads the same on the short-decimal path as on the general one", () => {
    // A trailing space (what a blanked LuaJIT suffix leaves) sends a literal down the general path.
    const literal = fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.stringMatching(/^0[xX][0-9a-fA-F]{1,17}$/), fc.stringMatching(/^[0-9]{0,4}[.eE][0-9]{0,3}$/));
    fc.assert(
      fc.property(literal, (raw) => {
        expect(parseNumericLiteral(raw)).toEqual(parseNumericLiteral(`${raw} `));
      }),
      { numRuns: 2000 },
    );
    expect(parseNumericLiteral("000000000000255")).toEqual({ kind: "integer", value: 255n });
    expect(parseNumericLiteral("999999999999999")).toEqual({ kind: "integer", value: 999999999999999n });
    expect(parseNumericLiteral("9223372036854775808")).toEqual({ kind: "overflow" });
  });
});

describe("nil, booleans and truthiness", () => {
  const withMap = "local m = bpf.map('hash', 16, 'uint32_t', 'int64_t')";
  function runWith(body: string, entries: [number, bigint][] = [], di = 0n): bigint {
    const m = compile(`${withMap}\nbpf.kprobe('f', function (r)\n${body}\nend)`);
    const maps = MapState.fromModule(m);
    for (const [k, v] of entries) maps.get("m").update(k, v);
    return BigInt.asIntN(64, run(m, { ctx: regs(di), maps }).value);
  }

  test("0 is true; nil and false are false", () => {
    expect(evalBody("local x = 0 if x then return 1 end return 2")).toBe(1n);
    expect(evalBody("if nil then return 1 end return 2")).toBe(2n);
    expect(evalBody("if false then return 1 end return 2")).toBe(2n);
    expect(evalBody("return not nil")).toBe(1n);
    expect(evalBody("return not 0")).toBe(0n);
    expect(evalBody("return nil == false")).toBe(0n);
    expect(evalBody("return true")).toBe(1n);
    expect(evalBody("return false")).toBe(0n);
    expect(evalBody("return")).toBe(0n);
    expect(evalBody("return nil")).toBe(0n);
  });

  test("map reads are nil when absent", () => {
    expect(runWith("local v = m[3] if not v then return 7 end return v", [])).toBe(7n);
    expect(runWith("local v = m[3] if not v then return 7 end return v", [[3, -5n]])).toBe(-5n);
    expect(runWith("if m[3] == nil then return 1 end return 0", [])).toBe(1n);
    expect(runWith("if m[3] == nil then return 1 end return 0", [[3, 0n]])).toBe(0n);
    expect(runWith("return m[3] == 4", [[3, 4n]])).toBe(1n);
    expect(runWith("return m[3] ~= 4", [])).toBe(1n);
    expect(runWith("return (m[3] or 10) + 1", [])).toBe(11n);
    expect(runWith("return (m[3] or 10) + 1", [[3, 1n]])).toBe(2n);
  });

  test("and/or return their deciding operand", () => {
    expect(runWith("return (m[1] and 10) or 20", [])).toBe(20n);
    expect(runWith("return (m[1] and 10) or 20", [[1, 0n]])).toBe(10n);
    expect(runWith("local a = r.di > 5 and r.di or nil if a then return a end return 99", [], 9n)).toBe(9n);
    expect(runWith("local a = r.di > 5 and r.di or nil if a then return a end return 99", [], 2n)).toBe(99n);
    expect(runWith("local a = r.di > 5 or m[1] if a == true then return 1 elseif a == nil then return 2 end return a", [], 9n)).toBe(1n);
    expect(runWith("local a = r.di > 5 or m[1] if a == true then return 1 elseif a == nil then return 2 end return a", [], 2n)).toBe(2n);
    expect(runWith("local a = r.di > 5 or m[1] if a == true then return 1 elseif a == nil then return 2 end return a", [[1, 42n]], 2n)).toBe(42n);
    expect(runWith("return r.di > 5 and r.di < 10", [], 7n)).toBe(1n);
    expect(runWith("return r.di > 5 and r.di < 10", [], 12n)).toBe(0n);
    expect(runWith("return r.di < 5 or r.di > 10", [], 7n)).toBe(0n);
    expect(runWith("local x = 0 return x or 5")).toBe(0n);
    expect(runWith("return nil or false")).toBe(0n);
  });

  test("booleans in variables and comparisons", () => {
    expect(runWith("local f = r.di == 3 if f then return 1 end return 0", [], 3n)).toBe(1n);
    expect(runWith("local f = r.di == 3 if f == false then return 1 end return 0", [], 4n)).toBe(1n);
    expect(runWith("local f = r.di == 3 return f == true", [], 3n)).toBe(1n);
    expect(runWith("local f = r.di == 3 return f == 1", [], 3n)).toBe(0n); // a boolean is not a number
  });

  test("map writes: store, delete with nil (also decided at run time)", () => {
    const m = compile(`${withMap}\nbpf.kprobe('f', function (r)\n  m[1] = r.di\n  m[2] = nil\n  m[3] = m[4]\n  m[5] = true\n  return 0\nend)`);
    const maps = MapState.fromModule(m);
    maps.get("m").update(2, 9n);
    maps.get("m").update(3, 9n);
    run(m, { ctx: regs(-3n), maps });
    expect(BigInt.asIntN(64, maps.get("m").lookupInt(1)!)).toBe(-3n);
    expect(maps.get("m").lookupInt(2)).toBeUndefined();
    expect(maps.get("m").lookupInt(3)).toBeUndefined();
    expect(maps.get("m").lookupInt(5)).toBe(1n);
    maps.get("m").update(4, 6n);
    run(m, { ctx: regs(0n), maps });
    expect(maps.get("m").lookupInt(3)).toBe(6n);
  });

  test("keys and values are truncated to the declared widths; signed values sign-extend", () => {
    const m = compile(`local s = bpf.map('hash', 4, 'uint8_t', 'int16_t')\nbpf.kprobe('f', function (r) s[r.di] = r.si return s[r.di] end)`);
    const maps = MapState.fromModule(m);
    expect(BigInt.asIntN(64, run(m, { ctx: regs(0x101n, 0x1ffffn), maps }).value)).toBe(-1n);
    expect(maps.get("s").lookupInt(1)).toBe(0xffffn);
  });
});

describe("control flow and loops", () => {
  test("if / elseif / else", () => {
    const g = body("local x = r.di if x < 0 then return -1 elseif x == 0 then return 0 elseif x < 10 then return 1 else return 2 end");
    expect([g(-5n), g(0n), g(3n), g(99n)]).toEqual([-1n, 0n, 1n, 2n]);
  });

  function body(src: string): (a: bigint, b?: bigint) => bigint {
    const m = compile(`bpf.kprobe('f', function (r)\n${src}\nend)`);
    return (a, b = 0n) => BigInt.asIntN(64, run(m, { ctx: regs(a, b) }).value);
  }

  test("numeric for: sums, negative and variable steps, no overflow at the limits", () => {
    expect(body("local s = 0 for i = 1, r.di do s = s + i end return s")(10n)).toBe(55n);
    expect(body("local s = 0 for i = 1, r.di do s = s + i end return s")(0n)).toBe(0n);
    expect(body("local s = 0 for i = r.di, 1, -2 do s = s * 10 + i end return s")(7n)).toBe(7531n);
    const varStep = body("local n = 0 for i = 0, 10, r.di do n = n + 1 end return n");
    expect(varStep(3n)).toBe(4n); // 0 3 6 9
    expect(varStep(-1n)).toBe(0n);
    expect(varStep(0n)).toBe(0n); // zero step: no iteration
    expect(varStep(MIN)).toBe(0n);
    const downVar = body("local n = 0 for i = 10, 0, r.di do n = n + i end return n");
    expect(downVar(-5n)).toBe(15n); // 10 5 0
    expect(body("local n = 0 for i = 0x7ffffffffffffffe, 0x7fffffffffffffff do n = n + 1 end return n")(0n)).toBe(2n);
    expect(body("local n = 0 for i = -0x7fffffffffffffff, -0x7fffffffffffffff - 1, -1 do n = n + 1 end return n")(0n)).toBe(2n);
    expect(body("local n = 0 for i = 1, 3 do i = i * 10 n = n + i end return n")(0n)).toBe(60n);
    expect(body("local n = 0 for i = 1, 100 do if i > r.di then break end n = i end return n")(5n)).toBe(5n);
  });

  test("while, repeat, break", () => {
    expect(body("local n, s = r.di, 0 while n > 0 do s = s + n n = n - 1 end return s")(4n)).toBe(10n);
    expect(body("local n = 0 while true do n = n + 1 if n == r.di then break end end return n")(6n)).toBe(6n);
    expect(body("local n = 0 repeat local m = n + 1 n = m until m >= r.di return n")(3n)).toBe(3n);
    expect(body("local n = 0 repeat n = n + 1 until true return n")(0n)).toBe(1n);
    expect(body("local x = 0 for i = 1, 3 do for j = 1, 3 do if j > i then break end x = x + 1 end end return x")(0n)).toBe(6n);
  });

  test("multiple assignment evaluates every right-hand side first", () => {
    expect(body("local a, b = r.di, r.si a, b = b, a return a * 10 + b")(1n, 2n)).toBe(21n);
    expect(body("local a, b, c = 1 if b == nil and c == nil then return a end return 0")(0n)).toBe(1n);
    expect(body("local a = 1 local a = a + 1 do local a = 10 end return a")(0n)).toBe(2n);
  });

  test("variables that always hold numbers have no tag phis", () => {
    const m = compile("bpf.kprobe('f', function (r) local s = 0 for i = 1, r.di do s = s + i end return s end)");
    // index and s in the loop header, s after the loop; none for tags (and no trip count).
    expect(count(only(m), "phi")).toBe(3);
    const w = compile("bpf.kprobe('f', function (r) local s, k = 0, 5 while s < r.di do s = s + k end return s end)");
    expect(count(only(w), "phi")).toBe(1); // k is not changed by the loop
  });

  test("code after return is dropped", () => {
    const m = compile("bpf.kprobe('f', function (r) if r.di > 0 then return 1 else return 2 end local x = 5 return x end)");
    expect(count(only(m), "ret")).toBe(2);
  });
});
