/**
 * The worked example of docs/writing-a-pass.md: the strength-reduce pass, its property
 * test, its statistics — and a check that the doc quotes the pass and this test verbatim,
 * so the doc cannot rot.
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { PassManager, strengthReduce } from "../src/index.js";
import { interpret } from "./interp.js";

// doc:begin property-test
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
// doc:end property-test

test("docs/writing-a-pass.md quotes the pass and its test verbatim", () => {
  const doc = readFileSync(join(import.meta.dirname, "../../../docs/writing-a-pass.md"), "utf8");
  const pass = readFileSync(join(import.meta.dirname, "../src/passes/strength-reduce.ts"), "utf8");
  expect(doc).toContain(pass.trim());
  const self = readFileSync(import.meta.filename, "utf8");
  const snippet = self.slice(self.indexOf("// doc:begin property-test") + 28, self.indexOf("// doc:end property-test")).trim();
  expect(doc).toContain(snippet);
  expect(doc).toContain(readFileSync(join(import.meta.dirname, "files/strength-reduce.ir"), "utf8").trim());
});
