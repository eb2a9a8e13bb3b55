// A program's statements are dropped from the syntax tree as they are lowered
// (ModuleLowering.loweredOnce, BodyLowering.block's `release`) only where nothing can
// lower that function again; elsewhere the body stays, and every program that shares a
// function gets the same code.
import { Module, printModule } from "@luabpf/ir";
import type * as lua from "luaparse";
import { describe, expect, it } from "vitest";
import { DiagnosticBag } from "../src/diagnostics.js";
import { ModuleLowering } from "../src/lower/module.js";
import { parseLua } from "../src/parse.js";
import { evaluateTopLevel } from "../src/toplevel/interpreter.js";
import { compile } from "./helpers.js";

/** Lowers every program of `source`; returns each program function's body length before and after. */
function bodyLengths(source: string): [number, number][] {
  const parsed = parseLua(source, "t.lua");
  const bag = new DiagnosticBag();
  const top = evaluateTopLevel(parsed, "t.lua", bag);
  const unit = new ModuleLowering(new Module(), "t.lua", source, parsed, top, "lua", bag);
  return top.programs.map((p, i) => {
    const body: lua.Statement[] = p.fn.node.body;
    const before = body.length;
    unit.lowerProgram(p, `p${i}`);
    return [before, body.length];
  });
}

describe("the statements of a program lowered once are dropped as they are lowered", () => {
  it("an anonymous function written in the declaring call: dropped", () => {
    expect(bodyLengths("bpf.socket(function (skb) local n = skb.len return n end)")).toEqual([[2, 0]]);
    expect(bodyLengths("local p = bpf(function (skb) return 1 end)")).toEqual([[1, 0]]);
  });

  it("a named function, a function declared in a loop, a program attached twice: kept", () => {
    expect(bodyLengths("local function f(skb) return 1 end\nbpf.socket(f)")).toEqual([[1, 1]]);
    expect(bodyLengths("local f = function (skb) return 1 end\nbpf.socket(f)")).toEqual([[1, 1]]);
    expect(bodyLengths("for i = 1, 2 do bpf.socket(function (skb) return i end) end")).toEqual([[1, 1], [1, 1]]);
    expect(bodyLengths("local p = bpf(function (skb) return 1 end)\nbpf.socket('lo', p)\nbpf.socket('eth0', p)")).toEqual([[1, 1], [1, 1]]);
  });

  it("programs sharing a function get the same code", () => {
    for (const source of ["for i = 1, 2 do bpf.socket(function (skb) return skb.len + 7 end) end", "local p = bpf(function (skb) return skb.len end)\nbpf.socket('lo', p)\nbpf.socket('eth0', p)"]) {
      const [a, b] = compile(source).functions.map((f) => printModule(Object.assign(new Module(), { functions: [f] })).replace(/@\w+/, "@f"));
      expect(b).toBe(a);
    }
  });
});
