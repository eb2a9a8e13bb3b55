// `discardIr` (what `luabpf compile`, `luabpf run` and compileToElf ask for): code generation
// frees each function's IR once its machine code is selected. The object must be the one
// compiled from a module that is kept whole — programs, BPF-to-BPF functions (whose BTF
// prototypes need the call graph: packaging reads it from the compiled code, not the IR) and
// located errors alike — and the module must really be left without function bodies.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeObject } from "@luabpf/elf";
import { CompileError, type Module } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileSource, compileToElf, type DriverOptions } from "../src/driver.js";

const examples = join(import.meta.dirname, "../../../examples");

/** BPF-to-BPF functions (not inlined) that take the context, C data and numbers. */
const CALLS = `local ffi = require('ffi')
ffi.cdef [[ struct pair { int a; unsigned int b; }; ]]
local pairs_m = bpf.map('hash', 16, 'uint32_t', 'struct pair')
local function len_of(skb) return skb.len end
local function bump(p, d) p.a = p.a + d end
local function classify(skb, big)
  if big and len_of(skb) > 100 then return 1 end
  return 0
end
bpf.socket(function (skb)
  local v = pairs_m[classify(skb, skb.len > 10)]
  if v then bump(v, 2) end
  return len_of(skb)
end)
`;

const bodiesLeft = (m: Module): number => m.functions.reduce((n, f) => n + f.blocks.length + f.allConstants().length + f.params.reduce((k, p) => k + p.uses.length, 0), 0);

function bothWays(source: string, options: DriverOptions): void {
  const kept = compileSource(source, options);
  expect(bodiesLeft(kept.module)).toBeGreaterThan(0);
  const discarded = compileSource(source, { ...options, discardIr: true });
  expect(bodiesLeft(discarded.module)).toBe(0);
  const bytes = Buffer.from(writeObject(kept.object));
  expect(Buffer.from(writeObject(discarded.object))).toEqual(bytes);
  expect(Buffer.from(compileToElf(source, options))).toEqual(bytes);
}

describe("code generation with the IR discarded", () => {
  const files = readdirSync(examples).filter((f) => f.endsWith(".lua")).sort();
  test.each(files)("%s: the same object", (file) => {
    bothWays(readFileSync(join(examples, file), "utf8"), { file: `examples/${file}`, optLevel: 2 });
  });

  test("BPF-to-BPF functions: the same object, subprograms and their prototypes included", () => {
    const options: DriverOptions = { file: "calls.lua", optLevel: 2, inlineThreshold: 0 };
    expect(compileSource(CALLS, options).object.programs.filter((p) => p.subprogram).map((p) => p.name).sort()).toEqual(["bump", "classify", "len_of"]);
    bothWays(CALLS, options);
    bothWays(CALLS, { ...options, optLevel: 0 });
  });

  test("an error without a location still gets the program body's", () => {
    const n = 80;
    const locals = Array.from({ length: n }, (_, i) => `  local v${i} = skb.mark * ${i + 3} + skb.len`).join("\n");
    const source = `bpf.socket(function (skb)\n${locals}\n  return ${Array.from({ length: n }, (_, i) => `v${i}`).join(" + ")}\nend)\n`;
    const messages = [false, true].map((discardIr) => {
      try {
        compileSource(source, { file: "frame.lua", optLevel: 0, discardIr });
      } catch (e) {
        expect(e).toBeInstanceOf(CompileError);
        return (e as CompileError).message;
      }
      throw new Error("expected a compile error");
    });
    expect(messages[0]).toMatch(/^frame\.lua:2:\d+: error: program socket needs a \d+-byte stack frame/);
    expect(messages[1]).toBe(messages[0]);
  });
});
