/**
 * instcombine's swap-byte rules (`and (bswap x), 0xff` → `x >> (bits - 8)`, `(bswap x) >>
 * (bits - 8)` → `x & 0xff`): a property test against the interpreter at every swap width.
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, dce, instcombine } from "../src/index.js";
import { interpret } from "./interp.js";

/** After instcombine and dce, `text`'s @f has no swap left, `rules` swap-byte rewrites were made, and f(x) is unchanged. */
function expectSwapsGone(text: string, x: bigint, rules: number): void {
  const m = parseModule(text);
  const before = interpret(m, "f", [x]).value;
  const report = new PassManager([instcombine(), dce()], { verify: true }).run(m);
  expect(printModule(m)).not.toMatch(/bswap/);
  expect(interpret(m, "f", [x]).value).toBe(before);
  expect(report.passes[0]!.stats).toMatchObject({ "swap-byte": rules });
}

test("instcombine: the end bytes of a swap agree with the interpreter", () => {
  fc.assert(
    fc.property(fc.constantFrom(16, 32, 64), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), (bits, x) => {
      const t = `i${bits}`;
      const narrow = bits === 64 ? "  %1 = copy i64 %0" : `  %1 = trunc i64 %0 to ${t}`;
      const widen = (v: string, r: string) => (bits === 64 ? `  ${r} = copy i64 ${v}` : `  ${r} = zext ${t} ${v} to i64`);
      const text = [
        "func @f(i64 %0) -> i64 {",
        "@bb0:",
        narrow,
        `  %2 = bswap ${t} %1`,
        `  %3 = and ${t} %2, 255`,
        `  %4 = lshr ${t} %2, ${bits - 8}`,
        widen("%3", "%5"),
        widen("%4", "%6"),
        "  %7 = shl i64 %6, 8",
        "  %8 = or i64 %5, %7",
        "  ret %8",
        "}",
      ].join("\n");
      expectSwapsGone(text, x, 2);
    }),
  );
});

test("instcombine: a swap of a value shifted up by its width less 8 agrees with the interpreter", () => {
  fc.assert(
    fc.property(fc.constantFrom(16, 32, 64), fc.boolean(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), (bits, wide, x) => {
      const t = `i${bits}`;
      // the shift in the swap's own type, or (wide) in i64 with a trunc to the swap's type
      const body =
        wide && bits < 64
          ? [`  %1 = shl i64 %0, ${bits - 8}`, `  %2 = trunc i64 %1 to ${t}`]
          : [bits === 64 ? "  %9 = copy i64 %0" : `  %9 = trunc i64 %0 to ${t}`, `  %2 = shl ${t} %9, ${bits - 8}`];
      const text = [
        "func @f(i64 %0) -> i64 {",
        "@bb0:",
        ...body,
        `  %3 = bswap ${t} %2`,
        bits === 64 ? "  %4 = copy i64 %3" : `  %4 = zext ${t} %3 to i64`,
        "  ret %4",
        "}",
      ].join("\n");
      expectSwapsGone(text, x, 1);
    }),
  );
});
