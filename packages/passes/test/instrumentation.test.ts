/**
 * The pass manager's command-line-grade instrumentation (print before/after/changed with a
 * function filter, numbered bisection, timing) and passes from outside (`loadPassModule`,
 * origins in errors), plus the line diff it prints with.
 */
import { parseModule, printFunction } from "@luabpf/ir";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  PassError,
  PassLoadError,
  PassManager,
  PassVerificationError,
  defaultRegistry,
  diffLines,
  formatPassTimes,
  loadPassModule,
  parsePipeline,
  unifiedDiff,
} from "../src/index.js";

const TEXT = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = add i64 2, 3
  %2 = mul i64 %0, %1
  ret %2
}

func @g(i64 %0) -> i64 {
@bb0:
  %1 = add i64 %0, 0
  ret %1
}
`;
const FIXTURES = join(import.meta.dirname, "fixtures");

describe("printing", () => {
  test("print before names the pass and function, and honours the function filter", () => {
    const printed: string[] = [];
    new PassManager(parsePipeline("sccp,instcombine"), { printBefore: ["instcombine"], printFunctions: ["g"], onPrint: (t) => printed.push(t) }).run(parseModule(TEXT));
    expect(printed).toEqual(["; *** IR before instcombine on @g ***\nfunc @g(i64 %0) -> i64 {\n@bb0:\n  %1 = add i64 %0, 0\n  ret %1\n}\n"]);
  });
  test("print changed prints a unified diff only when the text changed", () => {
    const printed: string[] = [];
    new PassManager(parsePipeline("sccp,gvn"), { printChanged: true, onPrint: (t) => printed.push(t) }).run(parseModule(TEXT));
    // sccp folds %1 in @f; it leaves @g alone; gvn finds nothing.
    expect(printed).toHaveLength(1);
    expect(printed[0]).toBe(
      [
        "; *** IR changed by sccp on @f ***",
        "--- @f before sccp",
        "+++ @f after sccp",
        "@@ -1,6 +1,5 @@",
        " func @f(i64 %0) -> i64 {",
        " @bb0:",
        "-  %1 = add i64 2, 3",
        "-  %2 = mul i64 %0, %1",
        "+  %2 = mul i64 %0, 5",
        "   ret %2",
        " }",
        "",
      ].join("\n"),
    );
  });
  test("print after all, with unchanged functions when asked", () => {
    const printed: string[] = [];
    new PassManager(parsePipeline("sccp"), { printAfter: "all", printChangedOnly: false, onPrint: (t) => printed.push(t) }).run(parseModule(TEXT));
    expect(printed.map((t) => t.split("\n")[0])).toEqual(["; *** IR after sccp on @f ***", "; *** IR after sccp on @g ***"]);
  });
});

describe("bisection", () => {
  test("numbers every execution and skips those above the limit", () => {
    for (const [limit, ran] of [[0, 0], [1, 1], [3, 3], [-1, 4], [99, 4]] as const) {
      const lines: string[] = [];
      const m = parseModule(TEXT);
      const report = new PassManager(parsePipeline("sccp,instcombine"), { bisectLimit: limit, onBisect: (l) => lines.push(l) }).run(m);
      expect(report.executions).toBe(ran);
      expect(lines).toEqual(
        ["sccp on @f", "sccp on @g", "instcombine on @f", "instcombine on @g"].map((what, i) => `BISECT: ${limit < 0 || i < limit ? "running" : "NOT running"} pass (${i + 1}) ${what}`),
      );
      expect(report.bisect).toEqual(lines);
    }
    // Skipped passes leave the IR alone.
    const m = parseModule(TEXT);
    new PassManager(parsePipeline("sccp,instcombine"), { bisectLimit: 2 }).run(m);
    expect(printFunction(m.functions[1]!)).toContain("add i64 %0, 0");
  });
});

describe("timing", () => {
  test("the timing report lists every pipeline position and the total", () => {
    const report = new PassManager(parsePipeline("sccp,dce,sccp"), { verify: true }).run(parseModule(TEXT));
    const text = formatPassTimes(report);
    expect(text).toMatch(/Pass execution timing report/);
    for (const p of ["#0 sccp", "#1 dce", "#2 sccp"]) expect(text).toMatch(new RegExp(`\\d+\\.\\d{3} +\\d+\\.\\d% +2  ${p}\\n`));
    expect(text).toMatch(/ verifier\n/);
    expect(text).toMatch(/100\.0% +total\n$/);
  });
});

describe("passes from outside", () => {
  test("plain pass objects and factories register with their origin; non-passes are ignored", async () => {
    const registry = defaultRegistry.clone();
    const names = await loadPassModule(join(FIXTURES, "plain-passes.js"), registry);
    expect(names).toEqual(["throws", "count-blocks"]);
    expect(registry.originOf("count-blocks")).toBe(join(FIXTURES, "plain-passes.js"));
    expect(registry.originOf("sccp")).toBeUndefined();
    expect(registry.help()).toMatch(/count-blocks \[.*plain-passes\.js\]: counts blocks/);
    const report = new PassManager(registry.parse("count-blocks")).run(parseModule(TEXT));
    expect(report.passes[0]!.stats).toEqual({ blocks: 2 });
    // The default registry is untouched.
    expect(defaultRegistry.has("count-blocks")).toBe(false);
  });

  test("an exception in a loaded pass is that pass's failure, with its origin", async () => {
    const registry = defaultRegistry.clone();
    await loadPassModule(join(FIXTURES, "plain-passes.js"), registry);
    let err: PassError | undefined;
    try {
      new PassManager(registry.parse("sccp,throws")).run(parseModule(TEXT));
    } catch (e) {
      err = e as PassError;
    }
    expect(err).toBeInstanceOf(PassError);
    expect(err!.origin).toBe(join(FIXTURES, "plain-passes.js"));
    expect(err!.message).toMatch(/^pass 'throws' \(from .*plain-passes\.js\) failed on function @f: my own bug/);
  });

  test("a factory with options; invalid IR from it names the pass and its origin", async () => {
    const registry = defaultRegistry.clone();
    await loadPassModule("test/fixtures/defined-pass.js", registry, join(FIXTURES, "../.."));
    expect(() => new PassManager(registry.parse("erase-entry-terminator(really=false)"), { verify: true }).run(parseModule(TEXT))).not.toThrow();
    let err: PassVerificationError | undefined;
    try {
      new PassManager(registry.parse("erase-entry-terminator"), { verify: true }).run(parseModule(TEXT));
    } catch (e) {
      err = e as PassVerificationError;
    }
    expect(err).toBeInstanceOf(PassVerificationError);
    expect(err!.origin).toBe("test/fixtures/defined-pass.js");
    expect(err!.message).toMatch(/pass 'erase-entry-terminator' \(from test\/fixtures\/defined-pass\.js\) produced invalid IR in function @f:\n\[terminator\]/);
  });

  test("bad modules are load errors", async () => {
    await expect(loadPassModule(join(FIXTURES, "missing.js"), defaultRegistry.clone())).rejects.toThrow(PassLoadError);
    await expect(loadPassModule(join(FIXTURES, "../interp.ts"), defaultRegistry.clone())).rejects.toThrow(/exports no pass/);
    const registry = defaultRegistry.clone();
    await loadPassModule(join(FIXTURES, "plain-passes.js"), registry);
    await expect(loadPassModule(join(FIXTURES, "plain-passes.js"), registry)).rejects.toThrow(/pass 'throws' is already registered \(from .*plain-passes\.js\)/);
  });
});

describe("line diff", () => {
  test("the edit script is minimal and reproduces both sides", () => {
    const a = "a b c a b b a".split(" ");
    const b = "c b a b a c".split(" ");
    const script = diffLines(a, b);
    expect(script.filter((l) => l.op !== "+").map((l) => l.text)).toEqual(a);
    expect(script.filter((l) => l.op !== "-").map((l) => l.text)).toEqual(b);
    expect(script.filter((l) => l.op !== " ")).toHaveLength(5); // Myers' paper: D = 5
  });
  test("equal texts have no diff; hunks far apart stay apart", () => {
    expect(unifiedDiff("x\ny\n", "x\ny\n")).toBe("");
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const b = a.map((l, i) => (i === 2 || i === 17 ? `${l}!` : l));
    const d = unifiedDiff(a.join("\n"), b.join("\n"));
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain("@@ -1,6 +1,6 @@");
    expect(d).toContain("@@ -15,6 +15,6 @@");
  });
});
