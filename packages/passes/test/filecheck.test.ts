/**
 * FileCheck and the file-test format: every directive on small outputs; the directives of
 * test/files/filecheck-directives.ir failing, each of them, when the real output changes;
 * bless keeping hand-written prefixes and NOT lines.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { bless, fileCheck, parseDirectives, parseFileTest, splitWords } from "@luabpf/test-support";
import { optRunner } from "./opt-runner.js";

const check = (output: string, directives: string, prefixes = ["check"]) => fileCheck(output, parseDirectives(directives, prefixes), { file: "t" });

describe("directives", () => {
  const OUT = "a b c\nd e\nf\n\ng h\n";
  test("check, check-next, check-same, check-empty", () => {
    expect(check(OUT, "; check: b\n; check-same: c\n; check-next: e\n; check-next: f\n; check-empty:\n; check-next: g")).toBeUndefined();
    expect(check(OUT, "; check: b\n; check-next: c")).toMatch(/^t:2: error: check-next: text found on the same line as the previous match/);
    expect(check(OUT, "; check: a\n; check-next: f")).toMatch(/^t:2: error: check-next: text not on the line after the previous match \(first found on line 3\)/);
    expect(check(OUT, "; check: a\n; check-same: e")).toMatch(/^t:2: error: check-same: text not found on the line of the previous match/);
    expect(check(OUT, "; check: e\n; check-empty:")).toMatch(/^t:2: error: check-empty: the line after the previous match is not empty/);
    expect(check(OUT, "; check-next: a")).toMatch(/no previous match/);
    expect(check(OUT, "; check: z")).toMatch(/^t:1: error: check: text not found\n; check: z\noutput \(line 1\):\n> {4}1 \| a b c/);
  });
  test("suffixes in either case; runs of spaces match any horizontal whitespace; matches stay on one line", () => {
    expect(check("x\t\ty  z\n", "; CHECK: x y z", ["CHECK"])).toBeUndefined();
    expect(check("x\t\ty  z\n", "; CHECK-NEXT: x", ["CHECK"])).toMatch(/no previous match/);
    expect(check("a\nb\n", "; check: a{{.*}}b")).toMatch(/text not found/);
  });
  test("check-not between matches, at the end, and never over nothing", () => {
    expect(check(OUT, "; check: a\n; check-not: x\n; check: f\n; check-not: z")).toBeUndefined();
    expect(check(OUT, "; check: a\n; check-not: e\n; check: f")).toMatch(/^t:2: error: check-not: excluded text found\n; check-not: e\noutput \(line 2\)/);
    expect(check(OUT, "; check: f\n; check-not: h")).toMatch(/^t:2: error: check-not: excluded text found/);
    expect(check(OUT, "; check: d e\n; check-not: zzz\n; check-next: f")).toMatch(/^t:2: error: check-not: this check-not can never fail/);
  });
  test("check-dag: any order, no overlap; NOTs between groups", () => {
    expect(check("x1\nx2\ny\n", "; check-dag: x2\n; check-dag: x1\n; check: y")).toBeUndefined();
    expect(check("x\ny\n", "; check-dag: x\n; check-dag: x")).toMatch(/^t:2: error: check-dag: text not found/);
    expect(check("a\nb\nc\nd\n", "; check-dag: b\n; check-dag: a\n; check-not: c\n; check-dag: d")).toMatch(/^t:3: error: check-not: excluded text found/);
    expect(check("a\nb\nz\nd\n", "; check-dag: b\n; check-dag: a\n; check-not: c\n; check-dag: d")).toBeUndefined();
  });
  test("check-label cuts the output into blocks", () => {
    const out = "func @f\n  x\nfunc @g\n  y\n";
    expect(check(out, "; check-label: func @f\n; check: x\n; check-label: func @g\n; check-next: y")).toBeUndefined();
    // y is in @g's block only: looking for it in @f's block fails even though it comes later.
    expect(check(out, "; check-label: func @f\n; check: y\n; check-label: func @g")).toMatch(/^t:2: error: check: text not found/);
    expect(check(out, "; check-label: func @g\n; check-label: func @f")).toMatch(/^t:2: error: check-label: label not found/);
  });
  test("regular expressions and variables", () => {
    const out = "%3 = add %1, %2\n%4 = mul %3, %3\n";
    expect(check(out, "; check: [[S:%[0-9]+]] = add {{%[0-9]+}}, %2\n; check-next: mul [[S]], [[S]]")).toBeUndefined();
    expect(check(out, "; check: [[S:%[0-9]+]] = add\n; check-next: mul [[S]], %4")).toMatch(/^t:2: error: check-next: text not found[\s\S]*variables: S = "%3"/);
    expect(check(out, "; check: mul [[T:%[0-9]+]], [[T]]")).toBeUndefined(); // a use after its definition in one pattern
    expect(check("r6 = r1\nr1 += r6\n", "; check: [[R:r[0-9]]] = r1\n; check-next: += [[R]]")).toBeUndefined(); // ']]' inside the regex
    expect(check("%5 = mul %3, %4\n", "; check: mul [[T:%[0-9]+]], [[T]]")).toMatch(/text not found/);
    expect(check(out, "; check: [[U]]")).toMatch(/^t:1: error: check uses variable U, which no earlier match defined/);
    expect(check(out, "; check: {{(}}")).toMatch(/bad regular expression/);
    expect(check(out, "; check-not: [[V:x]]")).toMatch(/cannot define variable V/);
    expect(check(out, "; check:")).toMatch(/empty pattern/);
  });
  test("the older nextln: and not: still mean check-next: and check-not:", () => {
    expect(parseDirectives("; nextln: a\n; not: b", ["check"]).map((d) => d.kind)).toEqual(["next", "not"]);
    expect(parseDirectives("; nextln: a", ["other"])).toEqual([]);
  });
});

describe("each directive of filecheck-directives.ir fails when the output changes", async () => {
  const path = join(import.meta.dirname, "files/filecheck-directives.ir");
  const text = readFileSync(path, "utf8");
  const lineOf = (start: string) => text.split("\n").findIndex((l) => l.startsWith(start)) + 1;
  const opt = optRunner(path);
  const out = (await opt(["--passes", "licm,sccp"])).stdout;
  const err = (await opt(["--passes", "licm,lcim"])).stderr;
  const directives = (prefix: string) => parseDirectives(text, [prefix]).filter((d) => d.prefix === prefix);
  const cases: { what: string; prefix: string; output: string; mutate: (s: string) => string; line: number }[] = [
    { what: "LABEL", prefix: "LICM", output: out, mutate: (s) => s.replace("func @g(", "func @h("), line: lineOf("; LICM-LABEL: func @g(") },
    { what: "SAME (with captures)", prefix: "LICM", output: out, mutate: (s) => s.replace("func @f(i64 %0, i64 %1) -> i64 {", "func @f(i64 %0, i64 %1) -> i32 {"), line: lineOf("; LICM-SAME:") },
    { what: "NEXT", prefix: "LICM", output: out, mutate: (s) => s.replace("func @f(i64 %0, i64 %1) -> i64 {\n", "func @f(i64 %0, i64 %1) -> i64 {\n@bb9:\n"), line: lineOf("; LICM-NEXT: @bb0:") },
    { what: "DAG", prefix: "LICM", output: out, mutate: (s) => s.replace("  %11 = alloca 8, align 8\n", ""), line: lineOf("; LICM-DAG: alloca 8") },
    { what: "CHECK with a variable use", prefix: "LICM", output: out, mutate: (s) => s.replace("%7 = mul i64 %1, 3", "%7 = mul i64 %0, 3"), line: lineOf("; LICM: [[TRIPLE") },
    { what: "regex {{...}} around a variable definition", prefix: "LICM", output: out, mutate: (s) => s.replaceAll(", @bb2]", ", @bb3]"), line: lineOf("; LICM: [[I:") },
    { what: "NEXT with variables", prefix: "LICM", output: out, mutate: (s) => s.replace("%5 = add i64 %2, 1", "%5 = add i64 %3, 1"), line: lineOf("; LICM-NEXT: [[NEXT]]") },
    { what: "NOT", prefix: "LICM", output: out, mutate: (s) => s.replace("  ret %3\n", "  %20 = mul i64 %0, %0\n  ret %3\n"), line: lineOf("; LICM-NOT: mul") },
    { what: "EMPTY", prefix: "LICM", output: out, mutate: (s) => s.replace("}\n\nfunc @g", "}\nfunc @g"), line: lineOf("; LICM-EMPTY:") },
    { what: "generated NEXT (prefix check)", prefix: "check", output: out, mutate: (s) => s.replace("ret %3", "ret %2"), line: lineOf("; check-next:   ret %3") },
    { what: "CHECK on standard error (not opt)", prefix: "ERR", output: err, mutate: (s) => s.replace("did you mean", "maybe"), line: lineOf("; ERR:") },
  ];
  test.each(cases)("$what", ({ prefix, output, mutate, line }) => {
    const ds = directives(prefix);
    expect(ds.length).toBeGreaterThan(0);
    expect(fileCheck(output, ds, { file: "f.ir" })).toBeUndefined();
    const changed = mutate(output);
    expect(changed).not.toBe(output);
    expect(fileCheck(changed, ds, { file: "f.ir" })).toMatch(new RegExp(`^f\\.ir:${line}: error: `));
  });
  test("every directive kind is covered", () => {
    const kinds = new Set([...directives("LICM"), ...directives("check"), ...directives("ERR")].map((d) => d.kind));
    expect([...kinds].sort()).toEqual(["check", "dag", "empty", "label", "next", "not", "same"]);
    expect(parseFileTest(text).runs.map((r) => [r.prefix, r.expectFailure])).toEqual([["check", false], ["LICM", false], ["ERR", true]]);
  });
});

describe("the file-test format", () => {
  test("run lines: opt arguments, not, filecheck prefixes; exec lines; old forms", () => {
    const spec = parseFileTest("; run: opt --passes 'sccp,dce(aggressive=false)' %s | filecheck --check-prefix=X\n; run: not opt --passes x\n; pipeline: gvn\n; exec: @f(1, -2) == -3");
    expect(spec.runs).toEqual([
      { line: 1, args: ["--passes", "sccp,dce(aggressive=false)"], expectFailure: false, prefix: "X" },
      { line: 2, args: ["--passes", "x"], expectFailure: true, prefix: undefined },
      { line: 3, args: ["--passes", "gvn"], expectFailure: false, prefix: "check" },
    ]);
    expect(spec.execs).toEqual([{ line: 4, fn: "f", args: ["1", "-2"], expected: "-3" }]);
    expect(() => parseFileTest("; run: f(1) == 2")).toThrow(/write it as '; exec: f\(1\) == 2'/);
    expect(() => parseFileTest("; run: clang x")).toThrow(/runs 'opt'/);
    expect(splitWords(`a "b c" 'd'e`)).toEqual(["a", "b c", "de"]);
  });
  test("bless rewrites new and generated prefixes, keeps hand-written ones and every NOT", () => {
    const text = [
      "; run: opt | filecheck",
      "; run: opt | filecheck --check-prefix=H",
      "func @f() -> i64 {",
      "; H-label: func @f",
      "; H-not: udiv",
      "; H: ret",
      "; (generated by LUABPF_BLESS=1 for prefix check; hand-written directives go under another prefix)",
      "; check-label: func @f() -> i64 {",
      "; check-next: old",
      "; check-not: mul",
      "; check-next: }",
      "",
    ].join("\n");
    const out = bless(text, new Map([["check", "func @f() -> i64 {\n  ret 1\n}\n"], ["H", "func @f() -> i64 {\n  ret 1\n}\n"]]));
    expect(out).toBe(
      [
        "; run: opt | filecheck",
        "; run: opt | filecheck --check-prefix=H",
        "func @f() -> i64 {",
        "; H-label: func @f",
        "; H-not: udiv",
        "; H: ret",
        "",
        "; (generated by LUABPF_BLESS=1 for prefix check; hand-written directives go under another prefix)",
        "; check-label: func @f() -> i64 {",
        "; check-next:   ret 1",
        "; check-next: }",
        "; check-not: mul", // its anchor 'old' is gone: kept at the end of the block
        "",
      ].join("\n"),
    );
    // A NOT whose anchor line is still there goes back after it.
    const again = bless(out.replace("; check-not: mul\n", "").replace("; check-next:   ret 1\n", "; check-next:   ret 1\n; check-not: mul\n"), new Map([["check", "func @f() -> i64 {\n  ret 1\n}\n"]]));
    expect(again).toContain("; check-next:   ret 1\n; check-not: mul\n; check-next: }\n");
  });
});
