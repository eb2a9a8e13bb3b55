// The BTF prototypes of BPF-to-BPF functions (Lua functions compiled into `.text`, not
// inlined) say what clang says for the C twin: each parameter with its real C type (a Lua
// number is `long long`, a boolean `_Bool`, C data a pointer to its struct, the context a
// pointer to the program type's context struct) and the result type (`void` for a function
// that returns nothing). Read back with `bpftool btf dump file`, and loaded by libbpf
// (`bpftool prog loadall`) and by our loader (`luabpf compile --verify`): the verifier checks
// the subprograms' BTF against their code.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelOrSkip } from "@luabpf/loader";
import { withoutAttachNotice } from "@luabpf/test-support";
import { afterAll, describe, expect, test } from "vitest";
import { ensureBpffs, haveTool, luabpf, run } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-subbtf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOCKET = `local ffi = require('ffi')
ffi.cdef [[ struct pair { int a; unsigned int b; }; ]]
local counts = bpf.map('array', 4)
local pairs_m = bpf.map('hash', 16, 'uint32_t', 'struct pair')
local function classify(n, big)
  if big and n > 100 then
    return 1
  end
  return 0
end
local function bump(p, d)
  p.a = p.a + d
end
local function maybe(n)
  if n > 3 then return nil end
  return n
end
bpf.socket(function (skb)
  local k = classify(skb.len, skb.len > 10)
  xadd(counts[k], 1)
  local v = pairs_m[1]
  if v then bump(v, 2) end
  local m = maybe(skb.len)
  if m then xadd(counts[2], m) end
  return 0
end)
`;

const KPROBE = `local ffi = require('ffi')
ffi.cdef [[ struct pair { int a; unsigned int b; }; ]]
local first = bpf.map('array', 1)
local pairs_m = bpf.map('hash', 16, 'uint32_t', 'struct pair')
local function first_byte(p)
  return p[0]
end
local function touch(v)
  if v then v.b = 1 end
end
bpf.kprobe('do_nanosleep', function (ptregs)
  first[0] = first_byte(ffi.cast('unsigned char *', ptregs.di))
  touch(pairs_m[ptregs.si])
end)
`;

const compiled = new Map<string, string>();
/** Compiles `source` without inlining (once per name); returns the object's path. */
function compile(name: string, source: string, extra: string[] = []): string {
  const known = compiled.get(name);
  if (known) return known;
  const path = join(dir, `${name}.lua`);
  writeFileSync(path, source);
  const out = join(dir, `${name}.o`);
  const r = luabpf(["compile", path, "--inline-threshold", "0", ...extra, "-o", out]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  compiled.set(name, out);
  return out;
}

/** The static FUNCs of `bpftool btf dump file` as C declarations: `long long classify(long long n, _Bool big)`. */
function staticFunctions(object: string): string[] {
  const dump = run("bpftool", ["btf", "dump", "file", object]);
  expect(dump.status).toBe(0);
  const types = new Map<number, { kind: string; name: string; ref: number; params: { name: string; type: number }[]; linkage?: string }>();
  let last: { params: { name: string; type: number }[] } | undefined;
  for (const line of dump.stdout.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      const [, id, kind, name, rest] = head;
      const ref = Number(/(?:type_id|ret_type_id)=(\d+)/.exec(rest!)?.[1] ?? -1);
      const linkage = /linkage=(\w+)/.exec(rest!)?.[1];
      const entry = { kind: kind!, name: name!, ref, params: [], ...(linkage ? { linkage } : {}) };
      types.set(Number(id), entry);
      last = entry;
      continue;
    }
    const param = /^\t'([^']*)' type_id=(\d+)$/.exec(line);
    if (param && last) last.params.push({ name: param[1]!, type: Number(param[2]) });
  }
  const c = (id: number): string => {
    if (id === 0) return "void";
    const t = types.get(id)!;
    switch (t.kind) {
      case "PTR":
        return `${c(t.ref)} *`;
      case "STRUCT":
        return `struct ${t.name}`;
      case "UNION":
        return `union ${t.name}`;
      default:
        return t.name;
    }
  };
  return [...types.values()]
    .filter((t) => t.kind === "FUNC" && t.linkage === "static")
    .map((f) => {
      const proto = types.get(f.ref)!;
      return `${c(proto.ref)} ${f.name}(${proto.params.map((p) => `${c(p.type)} ${p.name}`).join(", ")})`;
    });
}

/** Loads `object` with libbpf; the load must be clean. */
function loadWithLibbpf(object: string): void {
  ensureBpffs();
  const pins = `/sys/fs/bpf/luabpf-subbtf-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const load = run("bpftool", ["prog", "loadall", object, pins]);
    expect(withoutAttachNotice(load.stderr)).toBe("");
    expect(load.status).toBe(0);
  } finally {
    rmSync(pins, { recursive: true, force: true });
  }
}

describe.skipIf(!haveTool("bpftool"))("BTF prototypes of BPF-to-BPF functions", () => {
  test("numbers, booleans, C data, the context and a tagged result have their C types", () => {
    expect(staticFunctions(compile("socket", SOCKET))).toEqual([
      "long long classify(long long n, _Bool big)",
      "void bump(struct pair * p, long long d)",
      "long long maybe(long long n, struct __sk_buff * ctx, unsigned long long * result_tag)",
    ]);
  });

  test("a C pointer into kernel memory and a map value that may be absent (with its null flag)", () => {
    expect(staticFunctions(compile("kprobe", KPROBE))).toEqual([
      "long long first_byte(unsigned char * p)",
      "void touch(struct pair * v, _Bool v_nonnull)",
    ]);
  });

  test.skipIf(!haveTool("llvm-dwarfdump-19"))("DWARF describes the same prototypes; the functions are static (not DW_AT_external), the program is", () => {
    const dump = run("llvm-dwarfdump-19", ["--debug-info", compile("socket", SOCKET)]);
    expect(dump.status).toBe(0);
    const subprograms = new Map<string, string>();
    for (const block of dump.stdout.split(/DW_TAG_subprogram/).slice(1)) {
      const text = block.split(/\n\n0x[0-9a-f]+:\s+DW_TAG_(?!formal_parameter)/)[0]!;
      subprograms.set(/DW_AT_name\s+\("([^"]+)"\)/.exec(text)![1]!, text);
    }
    const classify = subprograms.get("classify")!;
    expect(classify).toMatch(/DW_AT_type\s+\(0x[0-9a-f]+ "long long"\)/);
    expect(classify).toMatch(/DW_AT_name\s+\("big"\)\s+DW_AT_type\s+\(0x[0-9a-f]+ "_Bool"\)/);
    expect(classify).not.toMatch(/DW_AT_external/);
    expect(subprograms.get("bump")).not.toMatch(/DW_AT_external/);
    expect(subprograms.get("socket")).toMatch(/DW_AT_external/);
  });

  test.skipIf(!kernelOrSkip())("the objects load with libbpf and with luabpf's loader (the verifier reads the subprograms' BTF)", () => {
    for (const [name, source] of [["socket", SOCKET], ["kprobe", KPROBE]] as const) {
      loadWithLibbpf(compile(name, source));
      compile(`${name}-verified`, source, ["--verify"]);
    }
  });
});
