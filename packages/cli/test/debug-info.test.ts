// Objects a developer can debug: the Lua lines travel through every stage into `.BTF.ext`
// line info and DWARF. Checked by the tools a developer uses: `bpftool prog dump xlated
// ... linum` on programs libbpf loaded, the kernel verifier's rejection reported at its Lua
// line by `luabpf compile --verify` and `luabpf run`, `llvm-objdump -S` (whose listing
// `--emit asm` reproduces), and `llvm-dwarfdump --verify`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { kernelOrSkip } from "@luabpf/loader";
import { withoutAttachNotice } from "@luabpf/test-support";
import { cli, ensureBpffs, haveTool, luabpf, ROOT, run } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-debug-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kernel = kernelOrSkip();

const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort();
/** Paths as a user types them, relative to the repository root (the processes' working directory). */
const examplePath = (name: string): string => `examples/${name}`;

const compiled = new Map<string, string>();
/** Compiles `path` with the real command (once per path); returns the object's path. */
function compile(path: string, options: string[] = []): string {
  const key = [path, ...options].join(" ");
  const known = compiled.get(key);
  if (known) return known;
  const out = join(dir, relative(ROOT, path).replace(/[/\\]/g, "_").replace(/\.lua$/, `${options.join("")}.o`));
  const r = luabpf(["compile", path, ...options, "-o", out]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  compiled.set(key, out);
  return out;
}

/** A program whose statements sit on known lines. */
const CALLS_PROGRAM = `local counts = bpf.map('array', 4)
local function classify(n)
  if n > 100 then
    return 1
  end
  return 0
end
bpf.socket(function (skb)
  local k = classify(skb.len)
  xadd(counts[k], 1)
  return 0
end)
`;

const LINES_PROGRAM = `local bpf = require('bpf')
local counts = bpf.map('hash', 16, 'uint32_t', 'uint64_t')
bpf.socket(function (skb)
  local n = skb.len
  counts[1] = n
  if n > 100 then
    return 1
  end
  return 0
end)
`;

interface XlatedInsn {
  index: number;
  text: string;
  /** The source annotation in force: file, line, column and the source text bpftool shows. */
  file: string;
  line: number;
  column: number;
  source: string;
}

/** Parses `bpftool prog dump xlated ... linum`: instructions with the source line in force. */
function parseXlated(out: string): XlatedInsn[] {
  const insns: XlatedInsn[] = [];
  let at: Omit<XlatedInsn, "index" | "text"> | undefined;
  for (const line of out.split("\n")) {
    const src = /^; (.*) \[file:(.+) line_num:(\d+) line_col:(\d+)\]$/.exec(line);
    if (src) {
      at = { source: src[1]!, file: src[2]!, line: Number(src[3]), column: Number(src[4]) };
      continue;
    }
    const insn = /^\s*(\d+): \([0-9a-f]{2}\) (.*)$/.exec(line);
    if (insn) {
      expect(at, `instruction ${insn[1]} has a source line`).toBeDefined();
      insns.push({ index: Number(insn[1]), text: insn[2]!, ...at! });
    }
  }
  return insns;
}

/** Loads `object` with libbpf (bpftool prog loadall) and dumps each program's xlated code with line numbers. */
function xlated(object: string): Map<string, XlatedInsn[]> {
  ensureBpffs();
  const pins = `/sys/fs/bpf/luabpf-debug-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const load = run("bpftool", ["prog", "loadall", object, pins]);
    expect(withoutAttachNotice(load.stderr)).toBe("");
    expect(load.status).toBe(0);
    const out = new Map<string, XlatedInsn[]>();
    for (const name of readdirSync(pins)) {
      const dump = run("bpftool", ["prog", "dump", "xlated", "pinned", join(pins, name), "linum"]);
      expect(dump.status).toBe(0);
      out.set(name, parseXlated(dump.stdout));
    }
    return out;
  } finally {
    rmSync(pins, { recursive: true, force: true });
  }
}

describe.skipIf(!haveTool("bpftool") || !kernel)("bpftool prog dump xlated ... linum shows the Lua lines", () => {
  test.each(examples)("%s: every instruction is annotated with its .lua file and a line of it", (name) => {
    const source = readFileSync(join(ROOT, "examples", name), "utf8").split("\n");
    const programs = xlated(compile(examplePath(name)));
    expect(programs.size).toBeGreaterThan(0);
    for (const [program, insns] of programs) {
      expect(insns.length, program).toBeGreaterThan(0);
      for (const i of insns) {
        expect(i.file).toBe(examplePath(name));
        expect(i.line).toBeGreaterThan(0);
        // The text bpftool shows is that line of the file (the kernel trims leading blanks).
        expect(i.source).toBe(source[i.line - 1]!.trim());
        expect(i.column).toBeGreaterThan(0);
      }
    }
  });

  test("a local function called as a BPF-to-BPF call (not inlined) loads with libbpf, and its instructions carry their lines", () => {
    const path = join(dir, "calls.lua");
    writeFileSync(path, CALLS_PROGRAM);
    const insns = xlated(compile(path, ["--inline-threshold", "0"])).get("socket")!;
    // bpftool dumps the subprogram after the program: the call, then the callee's code on its own lines.
    const call = insns.findIndex((i) => /call pc[+-]\d+#\S*classify/.test(i.text));
    expect(call).toBeGreaterThanOrEqual(0);
    expect(insns[call]!.line).toBe(9);
    const callee = insns.filter((i) => i.line <= 6);
    const caller = insns.filter((i) => i.line >= 9);
    expect(callee.length).toBeGreaterThan(0);
    expect(callee.length + caller.length).toBe(insns.length);
    expect(Math.min(...callee.map((i) => i.index))).toBeGreaterThan(Math.max(...caller.map((i) => i.index)));
    expect(callee.every((i) => i.file === path && i.line >= 3)).toBe(true);
  });

  test("instructions sit on the line of the statement they come from", () => {
    const path = join(dir, "lines.lua");
    writeFileSync(path, LINES_PROGRAM);
    // -O1: each statement keeps its own code (-O2 if-converts the two returns into one select).
    const insns = xlated(compile(path, ["-O1"])).get("socket")!;
    const lineOf = (pattern: RegExp): number[] => insns.filter((i) => pattern.test(i.text)).map((i) => i.line);
    expect(insns.every((i) => i.file === path)).toBe(true);
    expect(lineOf(/^r\d = \*\(u32 \*\)\(r1 \+\d+\)$/)).toEqual([4]); // skb.len (the kernel rewrites the offset)
    expect(lineOf(/call \S*map_update_elem/)).toEqual([5]);
    expect(lineOf(/^if r\d s<= 0x64 goto/)).toEqual([6]);
    expect(lineOf(/^r0 = 1$/)).toEqual([7]);
    // One exit: `return 0`'s r0 is set before the branch, which jumps over `r0 = 1` (peephole.ts).
    expect(lineOf(/^r0 = 0$/)).toEqual([9]);
    expect(lineOf(/^exit$/)).toEqual([7]);
    // The lines appear in the order of the source within each straight-line run.
    expect(new Set(insns.map((i) => i.line))).toEqual(new Set([4, 5, 6, 7, 9]));
  });
});

const NAMED_PROGRAM = `local bpf = require('bpf')
local by_proto = bpf.map('hash', 256, 'int32_t', 'int64_t')
local function count_proto(skb)
  xadd(by_proto[pkt.ip.proto], 1)
  return 0
end
bpf.socket(count_proto)
`;

describe.skipIf(!haveTool("bpftool") || !kernel)("BTF that says the truth, through the real command", () => {
  test("a program is named after its Lua function; signed map types are signed; the context is struct __sk_buff *", () => {
    const path = join(dir, "named.lua");
    writeFileSync(path, NAMED_PROGRAM);
    const object = compile(path);
    const btf = run("bpftool", ["btf", "dump", "file", object]);
    expect(btf.status).toBe(0);
    const id = (re: RegExp): string => {
      const m = re.exec(btf.stdout);
      expect(m, String(re)).not.toBeNull();
      return m![1]!;
    };
    const int = id(/^\[(\d+)\] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED$/m);
    const longLong = id(/^\[(\d+)\] INT 'long long' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED$/m);
    expect(btf.stdout).toMatch(new RegExp(`TYPEDEF 'int32_t' type_id=${int}$`, "m"));
    expect(btf.stdout).toMatch(new RegExp(`TYPEDEF 'int64_t' type_id=${longLong}$`, "m"));
    const skb = id(/^\[(\d+)\] STRUCT '__sk_buff' size=\d+ vlen=\d+$/m);
    const ptr = id(new RegExp(`^\\[(\\d+)\\] PTR '\\(anon\\)' type_id=${skb}$`, "m"));
    const proto = id(new RegExp(`^\\[(\\d+)\\] FUNC_PROTO '\\(anon\\)' ret_type_id=${int} vlen=1\n\t'skb' type_id=${ptr}$`, "m"));
    expect(btf.stdout).toMatch(new RegExp(`FUNC 'count_proto' type_id=${proto} linkage=global$`, "m"));
    // libbpf loads it under that name, with no complaint about the context argument.
    ensureBpffs();
    const pins = `/sys/fs/bpf/luabpf-named-${process.pid}`;
    try {
      const load = run("bpftool", ["-d", "prog", "loadall", object, pins]);
      expect(load.status, load.stderr).toBe(0);
      expect(load.stderr).not.toMatch(/arg#0|UNKNOWN/);
      expect(readdirSync(pins)).toEqual(["count_proto"]);
    } finally {
      rmSync(pins, { recursive: true, force: true });
    }
  });
});

const REJECTED = `local bpf = require('bpf')
bpf.xdp(function (ctx)
  local size = ctx.data_end - 1
  return size
end)
`;

describe.skipIf(!kernel)("verifier rejections at their Lua line", () => {
  const bad = join(dir, "reject.lua");
  writeFileSync(bad, REJECTED);

  test("luabpf compile --verify: file:line:col: error: verifier: ..., the source line and caret, then the annotated log", () => {
    const out = join(dir, "reject.o");
    const r = luabpf(["compile", bad, "--verify", "-o", out]);
    expect(r.code).toBe(1);
    const [first, line, caret, title, ...log] = r.stderr.split("\n");
    expect(first).toBe(`${bad}:3:16: error: verifier: R0 pointer arithmetic on pkt_end prohibited`);
    expect(line).toBe("  local size = ctx.data_end - 1");
    expect(caret).toBe("               ^");
    expect(title).toBe("verifier log:");
    // The log shows the Lua line of each instruction, as the kernel does with line info.
    expect(log.join("\n")).toContain(`  ; local size = ctx.data_end - 1 @ reject.lua:3\n  0: (61) r0 = *(u32 *)(r1 +4)`);
    expect(log.join("\n")).toMatch(/R0 pointer arithmetic on pkt_end prohibited/);
    expect(existsSync(out)).toBe(false);
  });

  test("luabpf run reports the same rejection; JSON diagnostics carry it with the log", () => {
    const r = luabpf(["run", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(`${bad}:3:16: error: verifier: R0 pointer arithmetic on pkt_end prohibited`);
    const j = luabpf(["compile", bad, "--verify", "-o", join(dir, "x.o"), "--diagnostics-format=json"]);
    const d = JSON.parse(j.stderr.trim());
    expect(d).toMatchObject({ severity: "error", category: "verifier", message: "verifier: R0 pointer arithmetic on pkt_end prohibited", location: { file: bad, line: 3, column: 16 } });
    expect(d.detail).toMatch(/processed \d+ insns/);
  });

  test.skipIf(!haveTool("bpftool"))("libbpf's verifier log shows the Lua lines too (bpftool -d prog loadall)", () => {
    const object = join(dir, "reject-libbpf.o");
    expect(luabpf(["compile", bad, "-o", object]).code).toBe(0);
    ensureBpffs();
    const pins = `/sys/fs/bpf/luabpf-reject-${process.pid}`;
    try {
      const r = run("bpftool", ["-d", "prog", "loadall", object, pins]);
      expect(r.status).not.toBe(0);
      // The kernel's own annotation, from the object's .BTF.ext line info (it prints the base name).
      expect(r.stderr).toContain(`; local size = ctx.data_end - 1 @ reject.lua:3\n0: (61) r0 = *(u32 *)(r1 +4)`);
      expect(r.stderr).not.toMatch(/arg#0 reference type/);
    } finally {
      rmSync(pins, { recursive: true, force: true });
    }
  });

  test("a program the kernel accepts passes --verify and is written", () => {
    const out = join(dir, "ok.o");
    const r = luabpf(["compile", examplePath("xdp-ifindex.lua"), "--verify", "-o", out]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(out)).toBe(true);
  });
});

/** The `; source` lines of an objdump-style listing with the instruction slot they precede. */
function sourceMarks(listing: string): string[] {
  const marks: string[] = [];
  let pending: string[] = [];
  for (const line of listing.split("\n")) {
    if (line.startsWith("; ")) pending.push(line);
    const insn = /^\s+(\d+):\t/.exec(line);
    if (insn) {
      for (const p of pending) marks.push(`${insn[1]} ${p}`);
      pending = [];
    }
  }
  return marks;
}
const insnColumn = (listing: string): string[] =>
  listing
    .split("\n")
    .filter((l) => /^\s+\d+:\t/.test(l))
    .map((l) => l.split("\t")[1]!);

describe.skipIf(!haveTool("llvm-objdump-19") || !haveTool("llvm-dwarfdump-19"))("DWARF and llvm-objdump -S", () => {
  test.each(examples)("%s: --emit asm interleaves the source exactly where llvm-objdump -S does; --no-source does not", async (name) => {
    const object = compile(examplePath(name));
    // From another directory: DW_AT_comp_dir lets objdump find the relative source name.
    const theirs = run("llvm-objdump-19", ["-S", object]);
    expect(theirs.stderr).toBe("");
    const ours = await cli("compile", join(ROOT, examplePath(name)), "--emit=asm");
    expect(ours.code).toBe(0);
    expect(sourceMarks(ours.stdout).length).toBeGreaterThan(0);
    expect(sourceMarks(ours.stdout)).toEqual(sourceMarks(theirs.stdout));
    expect(insnColumn(ours.stdout)).toEqual(insnColumn(theirs.stdout));
    const plain = await cli("compile", join(ROOT, examplePath(name)), "--emit=asm", "--no-source");
    expect(plain.stdout).not.toMatch(/^;/m);
    expect(insnColumn(plain.stdout)).toEqual(insnColumn(ours.stdout));
    const verify = run("llvm-dwarfdump-19", ["--verify", object]);
    expect(verify.stdout).toMatch(/No errors\./);
    expect(run("llvm-dwarfdump-19", ["--debug-info", object]).stdout).toContain(`DW_AT_comp_dir\t("${ROOT}")`);
  });
});
