/**
 * A boolean scaled to a power of two: range-simplify's sign bit of a difference that cannot
 * overflow (`lshr (sub y, x), 63` → `ult y, x`) and instcombine's `shl c, k` → `select c,
 * 2^k, 0`, against the interpreter on random operands, masks and shift amounts.
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, dce, instcombine, rangeSimplify } from "../src/index.js";
import { interpret } from "./interp.js";

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

test("range-simplify + instcombine: a scaled sign bit of a difference agrees with the interpreter", () => {
  fc.assert(
    fc.property(
      u64,
      u64,
      fc.constantFrom(0xffn, 0xffffn, 0xffffffffn, 2n ** 62n - 1n),
      fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
      fc.integer({ min: 1, max: 30 }),
      fc.boolean(),
      fc.option(fc.integer({ min: -1, max: 1 })),
      (xr, y, mask, c, k, constantLeft, near) => {
        const lhs = constantLeft ? `${c % mask}` : "%3"; // below the mask: the ranges do not decide the compare
        // x next to the other operand sometimes (the compare's boundary)
        const x = near === null ? xr : BigInt.asUintN(64, (constantLeft ? c % mask : y & mask) + BigInt(near));
        const text = [
          "func @f(i64 %0, i64 %1) -> i64 {",
          "@bb0:",
          `  %2 = and i64 %0, ${mask}`,
          `  %3 = and i64 %1, ${mask}`,
          `  %4 = sub i64 ${lhs}, %2`,
          "  %5 = lshr i64 %4, 63",
          `  %6 = shl i64 %5, ${k}`,
          "  ret %6",
          "}",
        ].join("\n");
        const m = parseModule(text);
        const before = interpret(m, "f", [x, y]).value;
        const report = new PassManager([rangeSimplify(), instcombine(), dce()], { verify: true }).run(m);
        expect(interpret(m, "f", [x, y]).value).toBe(before);
        expect(report.passes[0]!.stats).toMatchObject({ "sign-bits-compared": 1 });
        expect(report.passes[1]!.stats).toMatchObject({ "boolean-scaled": 1 });
        expect(printModule(m)).toMatch(/select i64/);
      },
    ),
  );
});

test("the sign bit of a difference that may overflow stays a shift", () => {
  fc.assert(
    fc.property(u64, u64, fc.integer({ min: 1, max: 30 }), (x, y, k) => {
      const text = `func @f(i64 %0, i64 %1) -> i64 {\n@bb0:\n  %2 = sub i64 %1, %0\n  %3 = lshr i64 %2, 63\n  %4 = shl i64 %3, ${k}\n  ret %4\n}`;
      const m = parseModule(text);
      const before = interpret(m, "f", [x, y]).value;
      new PassManager([rangeSimplify(), instcombine(), dce()], { verify: true }).run(m);
      expect(interpret(m, "f", [x, y]).value).toBe(before);
      expect(printModule(m)).toMatch(/sub i64/);
    }),
  );
});
