/**
 * The strength-reduce pass: a property test against the interpreter at every width, with
 * its statistics. (docs/writing-a-pass.md walks through licm; cli/test/docs.test.ts checks it.)
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, strengthReduce } from "../src/index.js";
import { interpret } from "./interp.js";

test("strength-reduce: udiv/urem by 2^k agree with the interpreter", () => {
  fc.assert(
    fc.property(fc.constantFrom("i8", "i16", "i32", "i64"), fc.nat(7), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n }), (t, k, x) => {
      const text = `func @f(${t} %0) -> ${t} {\n@bb0:\n  %1 = udiv ${t} %0, ${2 ** k}\n  %2 = urem ${t} %0, ${2 ** k}\n  %3 = xor ${t} %1, %2\n  ret %3\n}`;
      const m = parseModule(text);
      const before = interpret(m, "f", [x]).value;
      const report = new PassManager([strengthReduce()], { verify: true }).run(m);
      expect(printModule(m)).not.toMatch(/udiv|urem/);
      expect(interpret(m, "f", [x]).value).toBe(before);
      expect(report.passes[0]!.stats).toMatchObject({ "udiv-to-lshr": 1, "urem-to-and": 1 });
    }),
  );
});
