/**
 * The pass manager, analysis manager and registry: textual pipelines and their errors,
 * verification naming the guilty pass, the preserved-analysis debug check, print-after,
 * statistics, stop-after bisection, module passes, and analysis caching.
 */
import { Builder, parseModule, printFunction, type Function } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import {
  AnalysisManager,
  PassManager,
  PassVerificationError,
  PipelineError,
  Preserved,
  defaultRegistry,
  defineFunctionPass,
  defineModulePass,
  describeOptions,
  dominatorTreeAnalysis,
  formatStatistics,
  parsePipeline,
  pipelineForLevel,
  PIPELINES,
  type FunctionPass,
} from "../src/index.js";

const TEXT = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = add i64 2, 3
  %2 = mul i64 %0, %1
  %3 = eq i64 %1, 5
  condbr %3, @bb1, @bb2
@bb1:
  br @bb2
@bb2:
  %4 = phi i64 [%2, @bb0], [%0, @bb1]
  ret %4
}
func @g() -> i64 {
@bb0:
  %1 = sub i64 9, 9
  ret %1
}`;

describe("textual pipelines", () => {
  test("parse, options, and print back", () => {
    const passes = parsePipeline(" sccp, dce(aggressive=false) ,gvn(loads=false),simplify-cfg");
    expect(passes.map((p) => p.name)).toEqual(["sccp", "dce", "gvn", "simplify-cfg"]);
    expect(passes[1]!.options).toEqual({ aggressive: false });
    expect(new PassManager(passes).toString()).toBe("sccp,dce(aggressive=false),gvn(loads=false),simplify-cfg");
    expect(parsePipeline("")).toEqual([]);
  });
  test("unknown names list the valid ones and suggest the closest", () => {
    const e = (() => {
      try {
        parsePipeline("sccp,dcee,foo");
      } catch (err) {
        return err as PipelineError;
      }
    })()!;
    expect(e).toBeInstanceOf(PipelineError);
    expect(e.problems).toHaveLength(2);
    expect(e.problems[0]).toContain(`unknown pass 'dcee' (did you mean 'dce'?); valid passes: ${defaultRegistry.names().join(", ")}`);
    expect(defaultRegistry.names()).toEqual([...defaultRegistry.names()].sort());
    expect(e.problems[1]).toMatch(/unknown pass 'foo'/);
  });
  test("O0, O1 and O2 stand for the levels' pipelines inside pipeline text", () => {
    const text = (t: string) => new PassManager(parsePipeline(t)).toString();
    expect(text("O1,licm")).toBe(`${PIPELINES[1]},licm`);
    expect(text("O0")).toBe("");
    expect(text("sccp,O2")).toBe(`sccp,${PIPELINES[2]}`);
    expect(new PassManager(defaultRegistry.clone().parse("O1")).toString()).toBe(PIPELINES[1]);
    expect(() => parsePipeline("O3")).toThrow(/'O3': a pass name is lower-case/);
  });
  test("bad options are errors that list the valid options", () => {
    expect(() => parsePipeline("dce(agressive=false)")).toThrow(/valid options: aggressive: boolean = true/);
    expect(() => parsePipeline("dce(aggressive=3)")).toThrow(/option 'aggressive'/);
    expect(() => parsePipeline("dce(aggressive)")).toThrow(/needs a value/);
    expect(() => parsePipeline("dce(aggressive=true")).toThrow(/unbalanced/);
    expect(() => parsePipeline("sccp,,dce")).toThrow(/empty pass name/);
  });
  test("O-levels", () => {
    expect(pipelineForLevel(0)).toEqual([]);
    expect(pipelineForLevel(1).map((p) => p.name)).toEqual(["inline", "sccp", "instcombine", "dce", "simplify-cfg"]);
    expect(pipelineForLevel(2).length).toBeGreaterThan(8);
  });
  test("the registry help lists every pass with its options", () => {
    const help = defaultRegistry.help();
    for (const n of defaultRegistry.names()) expect(help).toMatch(new RegExp(`^${n}( \\(module\\))?: `, "m"));
    expect(help).toContain("options: aggressive: boolean = true");
  });
  test("a user pass runs without registration; a cloned registry makes it textual", () => {
    const counter = defineFunctionPass({
      name: "count-blocks",
      description: "counts blocks",
      options: z.object({ weight: z.number().int().default(1) }),
      run(fn, ctx, { weight }) {
        ctx.stat("blocks", fn.blocks.length * weight);
        return false;
      },
    });
    const m = parseModule(TEXT);
    const r1 = new PassManager([counter({ weight: 2 })]).run(m);
    expect(r1.passes[0]!.stats.blocks).toBe(8);
    const reg = defaultRegistry.clone().register(counter);
    expect(reg.parse("count-blocks(weight=3)")[0]!.options).toEqual({ weight: 3 });
    expect(defaultRegistry.has("count-blocks")).toBe(false);
    expect(() => counter({ weight: "x" } as never)).toThrow(/bad options/);
  });
});
  test("a pipeline of defined passes is built once per text: shared frozen passes, a new array each time", () => {
    const reg = defaultRegistry.clone();
    const a = reg.parse("O2");
    const b = reg.parse("O2");
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    a.forEach((p, i) => expect(b[i]).toBe(p));
    expect(a.every((p) => Object.isFrozen(p) && Object.isFrozen(p.options))).toBe(true);
    // Changing the returned array does not change the next one.
    a.length = 0;
    expect(reg.parse("O2")).toHaveLength(b.length);
    // Options are checked when given and the defaults are the schema's: the same objects as the
    // factories make directly.
    expect(reg.parse("dce(aggressive=false),gvn").map((p) => p.options)).toEqual([{ aggressive: false }, reg.get("gvn")!().options]);
    expect(reg.parse("dce")[0]!.options).toEqual({ aggressive: true });
    // Adding an alias or a pass forgets the built pipelines.
    reg.defineAlias("O2", "dce");
    expect(reg.parse("O2").map((p) => p.name)).toEqual(["dce"]);
  });
  test("defaults read from the schema are what zod makes of {}, for every built-in pass and a field without a default", () => {
    // pass.ts reads `.default(...)` values from the schema instead of parsing `{}` (start-up cost).
    for (const name of defaultRegistry.names()) {
      const factory = defaultRegistry.get(name)!;
      const parsed = factory.schema.safeParse({});
      expect(parsed.success, name).toBe(true);
      expect(factory().options, name).toStrictEqual(parsed.data);
      expect(factory().defaults, name).toStrictEqual(parsed.data);
    }
    const mixed = defineFunctionPass({
      name: "mixed-defaults",
      description: "one option without a default",
      options: z.object({ on: z.boolean().default(false), limit: z.number().optional(), name: z.string().prefault("x") }),
      run: () => false,
    });
    expect(mixed().options).toStrictEqual({ on: false, name: "x" });
  });
  test("options declared as data are checked, listed and defaulted as the zod schema they stand for", () => {
    // The built-in passes declare options as data (no zod at start-up); zod checks them when given.
    const run = () => false;
    const asData = defineFunctionPass({
      name: "as-data",
      description: "d",
      options: {
        on: { type: "boolean", default: true, description: "a switch" },
        limit: { type: "integer", min: 1, default: 4, description: "a bound" },
        count: { type: "integer", default: 0, description: "a count" },
      },
      run,
    });
    const asZod = defineFunctionPass({
      name: "as-zod",
      description: "d",
      options: z.object({
        on: z.boolean().default(true).describe("a switch"),
        limit: z.number().int().min(1).default(4).describe("a bound"),
        count: z.number().int().default(0).describe("a count"),
      }),
      run,
    });
    const reg = defaultRegistry.clone().register(asData, asZod);
    expect(describeOptions(asData.schema)).toBe(describeOptions(asZod.schema));
    expect(describeOptions(asData.schema)).toBe("on: boolean = true (a switch), limit: number = 4 (a bound), count: number = 0 (a count)");
    expect(asData().options).toStrictEqual(asZod().options);
    expect(asData({ limit: 9 }).options).toStrictEqual({ on: true, limit: 9, count: 0 });
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as Error).message.replaceAll("as-zod", "as-data");
      }
      throw new Error("no error");
    };
    for (const bad of ["on=1", "limit=0", "limit=1.5,count=x", "other=1", "on=true,limit=-3,x=1"]) {
      expect(message(() => reg.parse(`as-data(${bad})`)), bad).toBe(message(() => reg.parse(`as-zod(${bad})`)));
    }
    for (const bad of [{ limit: 0 }, { on: "yes" }, { nope: 1 }]) {
      expect(message(() => asData(bad as never))).toBe(message(() => asZod(bad as never)));
    }
    expect(message(() => reg.parse("as-data(limit=0)"))).toContain("option 'limit': Too small: expected number to be >=1");
  });
  test("a researcher's passes, or passes of hand-made factories, are made afresh for every pipeline", () => {
    let made = 0;
    const handMade = Object.assign(
      () => {
        made++;
        return { kind: "function" as const, name: "hand-made", description: "counts its runs", run: () => false };
      },
      { passName: "hand-made", description: "counts its runs", kind: "function" as const, schema: z.object({}).strict() },
    );
    const external = defineFunctionPass({ name: "external-pass", description: "does nothing", run: () => false });
    const reg = defaultRegistry.clone().register(handMade as never).registerExternal("/x/passes.js", external);
    const [h1] = reg.parse("hand-made,dce");
    const [h2] = reg.parse("hand-made,dce");
    expect(made).toBe(2);
    expect(h2).not.toBe(h1);
    const [e1] = reg.parse("external-pass");
    const [e2] = reg.parse("external-pass");
    expect(e2).not.toBe(e1);
    expect(e1!.origin).toBe("/x/passes.js");
    expect(Object.isFrozen(e1)).toBe(false);
  });

describe("pass manager instrumentation", () => {
  const breaker: FunctionPass = {
    kind: "function",
    name: "breaker",
    description: "erases the terminator of the entry block",
    run(fn) {
      fn.entry.terminator!.erase();
      return true;
    },
  };
  test("verify names the pass that broke the IR, with the IR before and after", () => {
    const m = parseModule(TEXT);
    let err: PassVerificationError | undefined;
    try {
      new PassManager([...parsePipeline("sccp"), breaker], { verify: true }).run(m);
    } catch (e) {
      err = e as PassVerificationError;
    }
    expect(err).toBeInstanceOf(PassVerificationError);
    expect(err!.passName).toBe("breaker");
    expect(err!.functionName).toBe("f");
    expect(err!.message).toMatch(/pass 'breaker' produced invalid IR in function @f/);
    expect(err!.before).toContain("br @bb1");
    expect(err!.after).not.toContain("br @bb1");
  });
  test("the debug check catches a pass that lies about preserving the dominator tree", () => {
    const liar = defineFunctionPass({
      name: "liar",
      description: "folds branches but claims to keep the CFG",
      preserves: Preserved.cfg(),
      run(fn, ctx) {
        ctx.analyses.get(dominatorTreeAnalysis);
        return parsePipeline("sccp")[0]!.run(fn as never, ctx as never) !== false;
      },
    });
    const m = parseModule(TEXT);
    expect(() => new PassManager([liar()], { checkAnalyses: true }).run(m)).toThrow(/pass 'liar' claims to preserve analysis 'dominators' of function f/);
    // An honest pass passes the same check.
    expect(() => new PassManager(parsePipeline("gvn,instcombine,simplify-cfg,gvn"), { checkAnalyses: true, verify: true }).run(parseModule(TEXT))).not.toThrow();
  });
  test("print after a pass, statistics and timing", () => {
    const m = parseModule(TEXT);
    const printed: string[] = [];
    const report = new PassManager(parsePipeline("sccp,dce"), { printAfter: ["sccp"], onPrint: (t) => printed.push(t) }).run(m);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toMatch(/^; \*\*\* IR after sccp on @f \*\*\*\nfunc @f/);
    expect(report.printed).toEqual(printed);
    const sccp = report.passes[0]!;
    expect(sccp.executions).toBe(2);
    expect(sccp.changed).toBe(2);
    expect(sccp.stats["constants-folded"]).toBe(3); // %1, %3 in f; %1 in g
    expect(sccp.stats["branches-folded"]).toBe(1);
    expect(sccp.timeMs).toBeGreaterThanOrEqual(0);
    expect(formatStatistics(report)).toMatch(/#0 sccp: 2 run\(s\), 2 changed/);
  });
  test("stopAfter runs only the first n pass executions (bisection)", () => {
    const full = parseModule(TEXT);
    new PassManager(parsePipeline("sccp,dce,simplify-cfg")).run(full);
    const seen: string[] = [];
    for (let n = 0; n <= 6; n++) {
      const m = parseModule(TEXT);
      const r = new PassManager(parsePipeline("sccp,dce,simplify-cfg"), { stopAfter: n }).run(m);
      expect(r.executions).toBe(n);
      seen.push(r.stoppedAfter ?? "complete");
      if (n === 6) expect(m.functions.map(printFunction)).toEqual(full.functions.map(printFunction));
    }
    expect(seen).toEqual(["complete", "sccp on @f", "sccp on @g", "dce on @f", "dce on @g", "simplify-cfg on @f", "complete"].map((s, i) => (i === 0 ? undefined : s) ?? "complete"));
  });
  test("module passes see the whole module", () => {
    const dropG = defineModulePass({
      name: "drop-g",
      description: "removes function g",
      run(module, ctx) {
        const i = module.functions.findIndex((f) => f.name === "g");
        module.functions.splice(i, 1);
        ctx.stat("functions-removed");
        return true;
      },
    });
    const m = parseModule(TEXT);
    const r = new PassManager([dropG()], { verify: true }).run(m);
    expect(m.functions.map((f) => f.name)).toEqual(["f"]);
    expect(r.passes[0]!.stats["functions-removed"]).toBe(1);
    expect(() => new PassManager([dropG()]).run(m.functions[0]!)).toThrow(/cannot run on a single function/);
  });
  test("a pass that throws is wrapped with its name and function", () => {
    const boom: FunctionPass = { kind: "function", name: "boom", description: "", run: () => { throw new Error("kaput"); } };
    expect(() => new PassManager([boom]).run(parseModule(TEXT))).toThrow(/pass 'boom' failed on function @f: kaput/);
  });
});

describe("analysis manager", () => {
  test("caches, invalidates what is not preserved, and keeps what is", () => {
    const m = parseModule(TEXT);
    const fn = m.functions[0]!;
    const am = new AnalysisManager();
    const dt = am.get(fn, dominatorTreeAnalysis);
    expect(am.get(fn, dominatorTreeAnalysis)).toBe(dt);
    am.invalidate(fn, Preserved.cfg());
    expect(am.get(fn, dominatorTreeAnalysis)).toBe(dt);
    am.invalidate(fn, Preserved.none());
    expect(am.get(fn, dominatorTreeAnalysis)).not.toBe(dt);
    expect(am.computeCounts.get("dominators")).toBe(2);
  });
  test("the pass manager reuses analyses across passes that preserve them", () => {
    const m = parseModule(TEXT);
    const am = new AnalysisManager();
    new PassManager(parsePipeline("gvn,instcombine,gvn"), { analyses: am }).run(m);
    expect(am.computeCounts.get("dominators")).toBe(2); // once per function
  });
  test("a builder-made function runs through a pipeline too", () => {
    const m = parseModule(`func @h(i64 %0) -> i64 {\n@bb0:\n  ret %0\n}`);
    const fn: Function = m.functions[0]!;
    const b = new Builder(fn).before(fn.entry.terminator!);
    const x = b.add(fn.params[0]!, b.const(0));
    fn.entry.terminator!.setOperand(0, x);
    new PassManager(parsePipeline("instcombine"), { verify: true }).run(fn);
    expect(printFunction(fn)).toContain("ret %0");
  });
});
