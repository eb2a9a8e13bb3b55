/**
 * The loop passes (unroll, loop-reduce, loop-delete) against the interpreter on random
 * loops of the shapes they rewrite: a counter from a constant start by a constant step up to
 * a bound, reading a stack buffer at `a·i + b` (through `shl` or `mul`) with a bounds check
 * at `+K`, and a second, effect-free counting loop whose values may be unused. The random
 * programs of the differential tests have no pointer arithmetic in loops, so these shapes
 * are drawn here. Each program runs before and after each pass and the -O2 pipeline; the
 * result and the trap (if any) must be the same, and the stats show the pass applied.
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, PIPELINES, defaultRegistry, loopDelete, loopReduce, unroll } from "../src/index.js";
import { interpret, InterpError } from "./interp.js";

interface Shape {
  scale: "shl" | "mul";
  a: number;
  b: number;
  start: number;
  step: number;
  bound: number;
  k: number;
  width: 8 | 16;
  deadTrips: number;
  deadUsed: boolean;
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  scale: fc.constantFrom("shl" as const, "mul" as const),
  a: fc.integer({ min: 1, max: 3 }),
  b: fc.integer({ min: 0, max: 12 }),
  start: fc.integer({ min: 0, max: 3 }),
  step: fc.integer({ min: 1, max: 3 }),
  bound: fc.integer({ min: 0, max: 12 }),
  k: fc.integer({ min: 0, max: 4 }),
  width: fc.constantFrom(8 as const, 16 as const),
  deadTrips: fc.integer({ min: 1, max: 6 }),
  deadUsed: fc.boolean(),
});

function program(s: Shape): string {
  const factor = s.scale === "shl" ? `shl i64 %3, ${s.a}` : `mul i64 %3, ${s.a + 1}`;
  return `func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 64, align 8
  store i64 %0, %1, 0
  store i64 1234567890123, %1, 8
  store i64 -99, %1, 16
  store i64 7777, %1, 24
  store i64 %0, %1, 32
  store i64 31, %1, 40
  store i64 -5, %1, 48
  store i64 424242, %1, 56
  %2 = ptradd ptr.stack %1, 64
  br @bb1
@bb1:
  %3 = phi i64 [${s.start}, @bb0], [%12, @bb3]
  %4 = phi i64 [0, @bb0], [%11, @bb3]
  %20 = uge i64 %3, ${s.bound}
  condbr %20, @bb4, @bb2
@bb2:
  %5 = ${factor}
  %6 = add i64 %5, ${s.b}
  %7 = ptradd ptr.stack %1, %6
  %8 = ptradd ptr.stack %7, ${s.k + s.width / 8}
  %9 = ugt ptr.stack %8, %2
  condbr %9, @bb4, @bb3
@bb3:
  %10 = load i${s.width} %7, 0
  %13 = zext i${s.width} %10 to i64
  %14 = mul i64 %4, 3
  %11 = add i64 %14, %13
  %12 = add i64 %3, ${s.step}
  br @bb1
@bb4:
  %15 = phi i64 [%4, @bb1], [%4, @bb2]
  br @bb5
@bb5:
  %16 = phi i64 [0, @bb4], [%18, @bb5]
  %17 = phi i64 [%0, @bb4], [%19, @bb5]
  %19 = mul i64 %17, 5
  %18 = add i64 %16, 1
  %21 = uge i64 %18, ${s.deadTrips}
  condbr %21, @bb6, @bb5
@bb6:
  %22 = add i64 %15, ${s.deadUsed ? "%19" : "0"}
  ret %22
}`;
}

function run(text: string, arg: bigint): string {
  try {
    return String(interpret(parseModule(text), "f", [arg]).value);
  } catch (e) {
    if (e instanceof InterpError) return "trap";
    throw e;
  }
}

test("unroll, loop-reduce and loop-delete keep what random loops compute", () => {
  const applied = { "pointers-reduced": 0, "loops-deleted": 0, "loops-unrolled": 0 };
  fc.assert(
    fc.property(shapeArb, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (s, arg) => {
      const text = program(s);
      const expected = run(text, arg);
      for (const pipeline of [[loopReduce()], [loopDelete()], [unroll({ budget: 40 })], defaultRegistry.parse(PIPELINES[2])]) {
        const m = parseModule(text);
        const report = new PassManager(pipeline, { verify: true }).run(m);
        for (const p of report.passes) for (const [k, v] of Object.entries(p.stats)) if (k in applied) applied[k as keyof typeof applied] += v;
        expect(run(printModule(m), arg), `${pipeline.map((p) => p.name).join(",")}\n${printModule(m)}`).toBe(expected);
      }
    }),
    { numRuns: 100 },
  );
  // Each pass found its shape in some of the programs.
  expect(applied["pointers-reduced"]).toBeGreaterThan(0);
  expect(applied["loops-deleted"]).toBeGreaterThan(0);
  expect(applied["loops-unrolled"]).toBeGreaterThan(0);
});
