// The parser front: LuaJIT cdata literal suffixes found outside strings and comments,
// with every column kept; binary input rejected with a location.
import { CompileError } from "@luabpf/ir";
import { describe, expect, it } from "vitest";
import { extractCdataSuffixes, parseLua } from "../src/parse.js";

describe("LuaJIT 64-bit literals", () => {
  it("records ULL/LL suffixes by offset and blanks them, leaving strings and comments alone", () => {
    const src = "local a = 5ULL + 0x1ull -- 7LL\nlocal s = '9ULL' .. [[3LL]] return 12LL, 3.5, x1LL";
    const { text, suffixes } = extractCdataSuffixes(src);
    expect(text.length).toBe(src.length);
    expect(text).toBe("local a = 5    + 0x1    -- 7LL\nlocal s = '9ULL' .. [[3LL]] return 12  , 3.5, x1LL");
    expect([...suffixes.entries()]).toEqual([
      [src.indexOf("5ULL"), "ULL"],
      [src.indexOf("0x1ull"), "ULL"],
      [src.indexOf("12LL"), "LL"],
    ]);
  });

  it("lets the parser see the literal and the lowering ask for its suffix", () => {
    const { chunk, cdataSuffix } = parseLua("local x = 18446744073709551615ULL\nlocal y = 2", "t.lua");
    const [a, b] = chunk.body as { init: { type: string }[] }[];
    expect(cdataSuffix(a!.init[0] as never)).toBe("ULL");
    expect(cdataSuffix(b!.init[0] as never)).toBeUndefined();
  });
});

describe("binary input", () => {
  it("is rejected with the position of the first binary byte", () => {
    try {
      parseLua("local x = 1\n\x7fELF\x02\x01\x00\x00", "prog.o");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CompileError);
      expect((e as CompileError).message).toBe("prog.o:2:1: error: this is not a Lua source file (it contains binary data)");
    }
  });
});
