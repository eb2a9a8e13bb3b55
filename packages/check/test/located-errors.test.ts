// Findings of kind "error without a location" or "valid declaration the kernel refuses":
// each now gives a located error at compile time.
import { CompileError } from "@luabpf/ir";
import { BpfError, close, kernelOrSkip, mapCreate } from "@luabpf/loader";
import { HTAB_MAX_ENTRIES, MapType } from "@luabpf/platform";
import { compileSource } from "luabpf";
import { describe, expect, test } from "vitest";

function errorOf(source: string, optLevel: 0 | 2 = 2): string {
  try {
    compileSource(source, { file: "prog.lua", optLevel });
  } catch (e) {
    expect(e).toBeInstanceOf(CompileError);
    return (e as CompileError).message;
  }
  throw new Error("expected a compile error");
}

const kernel = kernelOrSkip();

describe("located errors", () => {
  test("a stack frame over 512 bytes is reported at the program's body", () => {
    const n = 80;
    const locals = Array.from({ length: n }, (_, i) => `  local v${i} = skb.mark * ${i + 3} + skb.len`).join("\n");
    const source = `local m = bpf.map("hash", 16, "uint32_t", "uint64_t")\nbpf.socket(function (skb)\n${locals}\n  m[1] = 5\n  return ${Array.from({ length: n }, (_, i) => `v${i}`).join(" + ")}\nend)\n`;
    expect(errorOf(source, 0)).toMatch(/^prog\.lua:3:\d+: error: program socket needs a \d+-byte stack frame; eBPF allows at most 512 bytes$/);
  });

  test.each(["hash", "percpu_hash", "lru_hash"])("%s maps of more than 2^27 entries are refused at compile time", (kind) => {
    const source = (n: number) => `local m = bpf.map("${kind}", ${n}, "uint32_t", "uint64_t")\nbpf.socket(function (skb) m[1] = 1 return 0 end)\n`;
    expect(errorOf(source(2 ** 31))).toBe(`prog.lua:1:${kind.length + 23}: error: ${kind} maps hold at most 134217728 (2^27) entries: the kernel refuses larger hash tables`);
    expect(() => compileSource(source(HTAB_MAX_ENTRIES), { file: "prog.lua" })).not.toThrow();
  });

  // The rule above is the kernel's: keep it honest (E2BIG is decided before any allocation).
  test.skipIf(!kernel).each(["hash", "percpu_hash", "lru_hash", "lru_percpu_hash"] as const)("the kernel refuses a %s map of 2^27 + 1 entries (E2BIG)", (kind) => {
    let error: unknown;
    try {
      close(mapCreate({ type: MapType[kind], keySize: 4, valueSize: 8, maxEntries: HTAB_MAX_ENTRIES + 1, name: "probe" }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as Error).message).toContain("E2BIG");
  });
});
