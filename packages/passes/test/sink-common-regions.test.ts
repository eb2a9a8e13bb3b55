/**
 * sink-common's look-alike regions (cross-jumping with phis): two regions entered from
 * different branches that differ only in constants (a stored value, an exit phi's values)
 * merge, and the function computes what it did, against the interpreter on random
 * constants and inputs.
 */
import fc from "fast-check";
import { parseModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, sinkCommon } from "../src/index.js";
import { interpret } from "./interp.js";

const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const small = fc.bigInt({ min: 0n, max: 40n });

test("sink-common: merged look-alike regions agree with the interpreter", () => {
  fc.assert(
    fc.property(fc.tuple(i64, i64, i64, i64), fc.tuple(small, small), fc.tuple(i64, i64), ([s1, s2, p1, p2], [k1, k2], [x, y]) => {
      const region = (entry: number, body: number, store: bigint, bound: bigint, v: number) => [
        `@bb${entry}:`,
        `  store i64 ${store}, %2, 0`,
        `  %${v} = load i64 %2, 0`,
        `  %${v + 1} = add i64 %${v}, %1`,
        `  %${v + 2} = mul i64 %${v + 1}, %0`,
        `  %${v + 3} = ugt i64 %${v + 2}, ${bound}`,
        `  condbr %${v + 3}, @bb${body}, @bb7`,
        `@bb${body}:`,
        `  %${v + 4} = sub i64 %${v + 2}, 1`,
        "  br @bb8",
      ];
      const text = [
        "func @f(i64 %0, i64 %1) -> i64 {",
        "@bb0:",
        "  %2 = alloca 8, align 8",
        `  %3 = slt i64 %0, ${k1}`,
        "  condbr %3, @bb1, @bb2",
        "@bb1:",
        `  %4 = ugt i64 %1, ${k2}`,
        "  condbr %4, @bb3, @bb7",
        "@bb2:",
        `  %5 = ult i64 %1, ${k2}`,
        "  condbr %5, @bb4, @bb7",
        ...region(3, 5, s1, 17n, 10),
        ...region(4, 6, s2, 17n, 20),
        "@bb7:",
        `  %30 = phi i64 [1, @bb1], [2, @bb2], [${p1}, @bb3], [${p2}, @bb4]`,
        "  br @bb8",
        "@bb8:",
        "  %31 = phi i64 [%14, @bb5], [%24, @bb6], [%30, @bb7]",
        "  ret %31",
        "}",
      ].join("\n");
      const m = parseModule(text);
      const before = interpret(m, "f", [x, y]).value;
      const report = new PassManager([sinkCommon()], { verify: true, checkAnalyses: true }).run(m);
      expect(report.passes[0]!.stats).toMatchObject({ "regions-merged": 1 });
      expect(interpret(m, "f", [x, y]).value).toBe(before);
    }),
  );
});
