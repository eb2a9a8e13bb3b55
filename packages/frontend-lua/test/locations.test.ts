// locationOf keeps the last locations it made by start offset (diagnostics.ts: a direct-mapped
// cache); nodes whose offsets share a slot must each get their own line and column.
import type * as lua from "luaparse";
import { describe, expect, it } from "vitest";
import { lineStarts, locationOf } from "../src/diagnostics.js";
import { parseLua } from "../src/parse.js";

describe("locationOf's cache", () => {
  it("gives each statement its own line, in any order, across colliding slots", () => {
    // 16 characters a line: statement i starts at offset 16 i, so i and i + 16 share a slot.
    const lines = Array.from({ length: 600 }, (_, i) => `local v${String(i).padStart(3, "0")} = 12\n`);
    expect(lines.every((l) => l.length === 16)).toBe(true);
    const source = lines.join("");
    const body = parseLua(source, "c.lua").chunk.body;
    const order = [...body.keys(), ...[...body.keys()].reverse(), ...[...body.keys()].filter((i) => i % 7 === 3)];
    for (const i of order) expect(locationOf("c.lua", body[i]!)).toEqual({ file: "c.lua", line: i + 1, column: 1 });
    // Nodes inside a statement: the name at column 7, the literal at 14.
    for (const i of order.slice(0, 50)) {
      const s = body[i] as lua.LocalStatement;
      expect(locationOf("c.lua", s.variables[0]!)).toEqual({ file: "c.lua", line: i + 1, column: 7 });
      expect(locationOf("c.lua", s.init[0]!)).toEqual({ file: "c.lua", line: i + 1, column: 14 });
    }
  });

  it("does not serve one source's locations for another's", () => {
    const a = parseLua("local x = 1\n", "a.lua").chunk.body[0]!;
    expect(locationOf("a.lua", a)).toEqual({ file: "a.lua", line: 1, column: 1 });
    const b = parseLua("\n\nlocal x = 1\n", "a.lua").chunk.body[0]!;
    expect(locationOf("a.lua", b)).toEqual({ file: "a.lua", line: 3, column: 1 });
    // Same offset (0) in a new text of the same file.
    const c = parseLua("x = 1\n", "a.lua").chunk.body[0]!;
    expect(locationOf("a.lua", c)).toEqual({ file: "a.lua", line: 1, column: 1 });
    const d = parseLua("\nx = 1\n", "a.lua").chunk.body[0]!;
    expect(locationOf("a.lua", d)).toEqual({ file: "a.lua", line: 2, column: 1 });
  });
});

describe("the line table", () => {
  /** What Lua and luaparse count as lines: each break (`\r\n` and `\n\r` are one) ends one. */
  const reference = (text: string): number[] => {
    const starts = [0];
    for (const m of text.matchAll(/\r\n|\n\r|\r|\n/g)) starts.push(m.index + m[0].length);
    return starts;
  };

  it("starts a line after each line break, on random texts of every kind of break and on long ones", () => {
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = ["a", "bc", " ", "\n", "\r", "\r\n", "\n\r", "\n\n", "\r\r"];
    const texts = ["", "\n", "\r", "x", "\r\n\r", "\n\r\n"];
    for (let k = 0; k < 300; k++) texts.push(Array.from({ length: random(80) }, () => pieces[random(pieces.length)]).join(""));
    // Past the first sizes of the table (it grows by doubling): many short lines, with and without \r.
    texts.push("x\n".repeat(5000), "x\n".repeat(4999) + "\r", "\n".repeat(3000), "ab\r\n".repeat(2500));
    for (const text of texts) expect([...lineStarts(text)], JSON.stringify(text.slice(0, 40))).toEqual(reference(text));
  });
});
