// Hostile input to the parser (issue 17): every failure is a located error, every parse is
// independent of the previous ones, and nesting that would overflow a recursive walker is
// a located "too many nested" error.
import { CompileError, InternalError } from "@luabpf/ir";
import fc from "fast-check";
import luaparse from "luaparse";
import type * as lua from "luaparse";
import { describe, expect, it } from "vitest";
import { compileLua } from "../src/index.js";
import { MAX_SYNTAX_NESTING, MAX_TREE_DEPTH, scanNesting, scanTokens } from "../src/nesting.js";
import { parseLua } from "../src/parse.js";
import { CHILD_KEYS, isNode } from "../src/syntax.js";
import { errorOf } from "./helpers.js";

const body = (b: string): string => `bpf.socket(function (skb)\n${b}\nend)\n`;

describe("characters Lua does not know", () => {
  it("as the first character: located, never an internal error, and the same error every time", () => {
    for (let k = 0; k < 3; k++) expect(errorOf("@ = 1")).toBe("bad.lua:1:1: syntax error: unexpected symbol near '@'");
  });

  it("do not quote the previous file (luaparse's lexer state is reset before every parse)", () => {
    compileLua(body("return skb.len"), { file: "good.lua" });
    expect(errorOf("$")).toBe("bad.lua:1:1: syntax error: unexpected symbol near '$'");
    expect(() => compileLua("local x = 1 @", { file: "a.lua" })).toThrow(CompileError);
    expect(errorOf("\n\n   `")).toBe("bad.lua:3:4: syntax error: unexpected symbol near '`'");
  });

  it("are reported at their own column (not one too far)", () => {
    expect(errorOf("local x = 1 @")).toBe("bad.lua:1:13: syntax error: unexpected symbol near '@'");
    expect(errorOf("local x = 1\r\n\r\n  $")).toBe("bad.lua:3:3: syntax error: unexpected symbol near '$'");
  });

  it("non-ASCII identifiers and invisible characters", () => {
    expect(errorOf("local é = 1")).toBe("bad.lua:1:7: syntax error: unexpected symbol near 'é'");
    expect(errorOf("local x\u200b = 1")).toBe("bad.lua:1:8: syntax error: unexpected symbol near '<U+200B>'");
    expect(errorOf("local s = '日本'")).toBe("bad.lua:1:12: syntax error: character U+65E5 in a string: only Latin-1 characters are supported in strings");
  });

  it("a UTF-8 byte-order mark and a '#' first line are skipped, as Lua does", () => {
    const m = compileLua("\ufeff" + body("return skb.len"), { file: "bom.lua" });
    expect(m.functions.map((f) => f.name)).toEqual(["socket"]);
    compileLua("#!/usr/bin/env luabpf\n" + body("return 1"), { file: "hash.lua" });
    expect(errorOf("# comment line\nlocal x = 1 @")).toBe("bad.lua:2:13: syntax error: unexpected symbol near '@'");
  });

  it("'...' where a statement or operand cannot be", () => {
    expect(errorOf("... = 1")).toBe("bad.lua:1:1: syntax error: unexpected symbol near '...'");
    expect(errorOf("local x = 1 ...")).toBe("bad.lua:1:13: syntax error: unexpected symbol near '...'");
  });
});

describe("deep nesting is a located error, not a stack overflow", () => {
  const cases: [string, string, RegExp][] = [
    ["2,000 parentheses", `local x = ${"(".repeat(2000)}1${")".repeat(2000)}`, /^bad\.lua:1:211: syntax error: too many nested parentheses \(the limit is 200 levels\)$/],
    ["1,600 unary '~'", `local x = ${"~".repeat(1600)}1`, /^bad\.lua:1:211: syntax error: too many nested unary operators/],
    ["1,000 'not'", body(`return ${"not ".repeat(1000)}true`), /syntax error: too many nested unary operators/],
    ["300 nested ifs", body(`${"if skb.mark > 1 then ".repeat(300)}${"end ".repeat(300)}`), /syntax error: too many nested blocks/],
    ["300 nested loops", body(`${"while skb.mark > 1 do ".repeat(150)}${"for i = 1, 2 do ".repeat(150)}${"end ".repeat(300)}`), /syntax error: too many nested blocks/],
    ["5,000 '..'", `local x = ${"'a' .. ".repeat(5000)}'b'`, /syntax error: too many nested '\.\.' or '\^' operators/],
    ["20,000 '+' in a body", body(`local x = skb.mark ${"+ 1 ".repeat(20000)}return x`), /^bad\.lua:\d+:\d+: expression is nested too deeply \(the limit is 500 levels\)$/],
    ["20,000 'and' in a condition", body(`if skb.mark ${"and 1 ".repeat(20000)}then return 1 end`), /expression is nested too deeply/],
    ["20,000 '+' at the top level", `local N = 1 ${"+ 1 ".repeat(20000)}`, /expression is nested too deeply/],
    ["20,000 field accesses", body(`return skb${".a".repeat(20000)}`), /expression is nested too deeply/],
    ["20,000 calls", body(`return time${"()".repeat(20000)}`), /expression is nested too deeply/],
  ];
  it.each(cases)("%s", (_name, source, expected) => {
    expect(errorOf(source)).toMatch(expected);
  });

  it("up to the limits, nesting compiles", () => {
    const n = MAX_SYNTAX_NESTING - 10;
    compileLua(body(`local x = ${"(".repeat(n)}skb.mark${")".repeat(n)} return x`), { file: "ok.lua" });
    compileLua(body(`local x = skb.mark ${"+ 1 ".repeat(MAX_TREE_DEPTH - 20)} return x`), { file: "ok.lua" });
    compileLua(body(`local x = 0 ${"if skb.mark > 1 then ".repeat(60)}x = 1 ${"end ".repeat(60)} return x`), { file: "ok.lua" });
  });

  it("never throws anything but a CompileError on nested or broken input", () => {
    const inputs = ["(", "((((", "function", "if if if", "{[{[{[", "end end", "repeat until", "a..b..", "- - -", "[[", "--[[", "'\\", "0x", "..."];
    for (const s of inputs) {
      try {
        compileLua(s, { file: "x.lua" });
      } catch (e) {
        expect(e).toBeInstanceOf(CompileError);
        expect(e).not.toBeInstanceOf(InternalError);
        for (const d of (e as CompileError).diagnostics) expect(d.location?.line).toBeGreaterThan(0);
      }
    }
  });
});

describe("the depth check from the parser's heights (nesting.ts) against a walk of the tree", () => {
  /** The check it replaced: an iterative walk of luaparse's own tree (with `loc`) from the root, children through syntax.ts's table. */
  function walkedDepthError(chunk: lua.Chunk): string | undefined {
    const nodes: lua.Node[] = [chunk as unknown as lua.Node];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const depth = depths.pop()!;
      if (depth > MAX_TREE_DEPTH) {
        const what = /Statement$|Clause$/.test(node.type) ? "blocks are nested too deeply" : "expression is nested too deeply";
        return `t.lua:${node.loc!.start.line}:${node.loc!.start.column + 1}: error: ${what} (the limit is ${MAX_TREE_DEPTH} levels)`;
      }
      for (const key of CHILD_KEYS.get(node.type)!) {
        const value = (node as unknown as Record<string, unknown>)[key];
        if (Array.isArray(value)) {
          for (let k = value.length - 1; k >= 0; k--) {
            if (isNode(value[k])) {
              nodes.push(value[k]);
              depths.push(depth + 1);
            }
          }
        } else if (isNode(value)) {
          nodes.push(value);
          depths.push(depth + 1);
        }
      }
    }
    return undefined;
  }

  /** A random program: blocks nested up to 120 levels, holding expressions whose chains (left-deep operators, fields, calls, indexes) come near the limit. */
  function program(random: () => number): string {
    const pick = (n: number): number => Math.floor(random() * n);
    const chain = (): string => {
      const n = pick(4) === 0 ? pick(40) : MAX_TREE_DEPTH - 130 + pick(140);
      switch (pick(5)) {
        case 0:
          return `x${" + 1".repeat(n)}`;
        case 1:
          return `x${" and y or z".repeat(n >> 1)}`;
        case 2:
          return `x${".f".repeat(n)}`;
        case 3:
          return `f${"()".repeat(n)}`;
        default:
          return `t${"[1]".repeat(n)}`;
      }
    };
    const expression = (): string => (pick(3) === 0 ? `(${chain()}) * (${chain()})` : pick(2) === 0 ? `{${chain()}, k = ${chain()}}` : chain());
    const statements = (depth: number): string => {
      const out: string[] = [];
      const count = 1 + pick(2);
      for (let i = 0; i < count; i++) {
        const inner = depth < 120 && pick(2) === 0 ? statements(depth + 1 + pick(30)) : "";
        switch (pick(5)) {
          case 0:
            out.push(`if ${expression()} then ${inner} else a = 1 end`);
            break;
          case 1:
            out.push(`while ${expression()} do ${inner} end`);
            break;
          case 2:
            out.push(`do ${inner} end`);
            break;
          case 3:
            out.push(`local a = ${expression()}`);
            break;
          default:
            out.push(`a = ${expression()}\n${inner}`);
        }
      }
      return out.join("\n");
    };
    return statements(0);
  }

  it("reports the same node (message and location), or none, on random deep programs", () => {
    const passed: number[] = [];
    const failed: number[] = [];
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        let s = seed >>> 0 || 1;
        const random = (): number => {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          return (s >>> 0) / 2 ** 32;
        };
        const text = program(random);
        const expected = walkedDepthError(luaparse.parse(text, { locations: true, luaVersion: "5.3", encodingMode: "pseudo-latin1" }));
        let actual: string | undefined;
        try {
          parseLua(text, "t.lua");
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          actual = e.message;
        }
        expect(actual).toBe(expected);
        (expected === undefined ? passed : failed).push(text.length);
        return true;
      }),
      { numRuns: 100 },
    );
    // Both outcomes occur (about a fifth of the programs are too deep).
    expect(passed.length).toBeGreaterThan(20);
    expect(failed.length).toBeGreaterThan(5);
  });
});

/** A xorshift stream of choices from `seed`: pick(n) is in [0, n). */
function picker(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** "ok", or the message of the compile error `scan` throws. */
function scanOutcome(scan: () => void): string {
  try {
    scan();
    return "ok";
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    return e.message;
  }
}

describe("the nesting scan is skipped where too few tokens could open a level (nesting.ts)", () => {
  // Tokens that open levels, close them, or only look as if they did (in strings, comments, numbers).
  // One level each, and one token of the shortcut's count each (where the count is tight).
  const OPENERS = ["(", "[", "{", "if x then", "function", "do", "repeat"];
  const UNARY = ["not", "-", "~", "#", "x ^", "x ..", "- -", "not not", "while x do", "for i = 1, 2 do"];
  const OTHERS = [")", "]", "}", "end", "until x", "x", "1", "2do", "1e-5", "'(((('", '"if if"', "-- ((((\n", "--[[ do do ]]", "[[ { { ]]", "...", "x.y", "x - 1", "x = y", ";", "\n", "éif", "_do", "do_"];

  it("reports what the full scan reports, on random token sequences around the limit", () => {
    const outcomes = new Map<boolean, number>();
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const pick = picker(seed);
        // 210-270 tokens, mostly openers: some sequences nest too deeply, some just not (a
        // token kind the shortcut failed to count would show as a skipped scan that fails).
        const tokens: string[] = [];
        for (let n = 210 + pick(60); n > 0; n--) {
          const kind = pick(20);
          tokens.push(kind < 17 ? OPENERS[pick(OPENERS.length)]! : kind < 19 ? UNARY[pick(UNARY.length)]! : OTHERS[pick(OTHERS.length)]!);
        }
        const text = tokens.join(" ");
        const full = scanOutcome(() => scanTokens(text, "t.lua"));
        expect(scanOutcome(() => scanNesting(text, "t.lua"))).toBe(full);
        outcomes.set(full === "ok", (outcomes.get(full === "ok") ?? 0) + 1);
        return true;
      }),
      { numRuns: 400 },
    );
    expect(outcomes.get(true)).toBeGreaterThan(20);
    expect(outcomes.get(false)).toBeGreaterThan(20);
  });

  // Every keyword, names one letter away from one, and names of other initials and lengths.
  // What a word decides: whether the `-` after it is unary (a level) or binary.
  const WORDS = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    "a", "an", "andy", "d", "doo", "e", "els", "elseiff", "en", "f", "fo", "functio", "functions", "i", "iff", "l", "n", "no", "nott", "o", "r", "ret", "returns", "t", "the", "u", "w", "whil",
    "sum", "x1", "_t", "Z", "count", "verylongname", "q"];

  it("treats a word as every word is looked up, whether or not it makes a string of it", () => {
    const outcomes = new Map<boolean, number>();
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const pick = picker(seed);
        // Parentheses to just below the limit, then words each followed by a run of `-`:
        // whether a run passes the limit depends on how the word before it was read.
        const tokens: string[] = ["(".repeat(190 + pick(8))];
        for (let n = 1 + pick(6); n > 0; n--) tokens.push(WORDS[pick(WORDS.length)]!, "- ".repeat(1 + pick(12)), "x");
        const text = tokens.join(" ");
        const full = scanOutcome(() => scanTokens(text, "t.lua", { everyWord: true }));
        expect(scanOutcome(() => scanTokens(text, "t.lua", { everyWord: false }))).toBe(full);
        outcomes.set(full === "ok", (outcomes.get(full === "ok") ?? 0) + 1);
        return true;
      }),
      { numRuns: 400 },
    );
    expect(outcomes.get(true)).toBeGreaterThan(20);
    expect(outcomes.get(false)).toBeGreaterThan(20);
  });
});
