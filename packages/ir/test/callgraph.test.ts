// The module call graph: edges per call, recursion found as cycles (eBPF forbids it), and
// a callees-first order.
import { describe, expect, test } from "vitest";
import { CallGraph } from "../src/analysis/callgraph.js";
import { Builder } from "../src/builder.js";
import { Function } from "../src/core.js";
import { Module } from "../src/module.js";
import { parseModule } from "../src/parse.js";
import { i64 } from "../src/types.js";

const fn = (name: string, calls: string[]): string =>
  `func @${name}(i64 %0) -> i64 {\n@bb0:\n${calls.map((c, k) => `  %${k + 1} = call i64 @${c}(%0)\n`).join("")}  ret %0\n}\n`;
const mod = (fns: [string, string[]][]): ReturnType<typeof parseModule> => parseModule(fns.map(([n, c]) => fn(n, c)).join("\n"));

describe("CallGraph", () => {
  test("edges, callers, callees and call sites", () => {
    const m = mod([["main", ["a", "b", "a"]], ["a", ["b"]], ["b", []]]);
    const cg = CallGraph.compute(m);
    expect(cg.callees("main")).toEqual(["a", "b"]);
    expect(cg.callers("b")).toEqual(["main", "a"]);
    expect(cg.callSite("main", "a")?.id).toBe(1);
    expect(cg.graph.getEdgeAttributes(cg.graph.edge("main", "a")!).calls).toHaveLength(2);
    expect(cg.callSite("b", "a")).toBeUndefined();
  });

  test("no recursion: no cycles, callees first", () => {
    const cg = CallGraph.compute(mod([["main", ["a", "b"]], ["a", ["b"]], ["b", []]]));
    expect(cg.cycles()).toEqual([]);
    expect(cg.callOrder().map((f) => f.name)).toEqual(["b", "a", "main"]);
  });

  test("direct and mutual recursion are cycles", () => {
    const cg = CallGraph.compute(mod([["main", ["even", "fact"]], ["even", ["odd"]], ["odd", ["even"]], ["fact", ["fact"]], ["leaf", []]]));
    expect(cg.cycles()).toEqual([["even", "odd"], ["fact"]]);
    const order = cg.callOrder().map((f) => f.name);
    expect(order.indexOf("main")).toBeGreaterThan(order.indexOf("even"));
    expect(order.indexOf("main")).toBeGreaterThan(order.indexOf("fact"));
    expect(order).toHaveLength(5);
  });

  test("a long chain does not overflow the stack (the search is iterative)", () => {
    // Built through the API: parsing thousands of functions would dominate the test.
    const n = 15_000;
    const m = new Module();
    const fns = Array.from({ length: n }, (_, i) => new Function(`f${i}`, [i64], i64));
    (m.functions as Function[]).push(...fns);
    fns.forEach((f, i) => {
      const b = new Builder(f).atEnd(f.createBlock());
      b.ret(b.callFunction(fns[(i + 1) % n]!.name, [f.params[0]!]));
    });
    const cg = CallGraph.compute(m);
    expect(cg.cycles()).toHaveLength(1);
    expect(cg.cycles()[0]).toHaveLength(n);
  });
});
