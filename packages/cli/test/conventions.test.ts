// The command line's conventions (clang/bpftool habits), through the real process:
// `--name value` = `--name=value`, `-o -`, `-` for stdin, several inputs, `-o DIR`,
// `--link`, every `--emit` honouring `-o`, exit statuses, help, colour, JSON diagnostics.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { readObject } from "@luabpf/elf";
import { parseModule, verifyModule } from "@luabpf/ir";
import { CompileError, InternalError } from "@luabpf/ir";
import { IoError, UsageError } from "../src/errors.js";
import { exitStatusOf, main } from "../src/main.js";
import { example, luabpf, readExample } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-conv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const counter = (section: string, mapName = "counts", size = 256): string => `local bpf = require('bpf')
local ${mapName} = bpf.map('array', ${size}, 'uint32_t', 'uint64_t')
bpf.${section}(function (skb)
  xadd(${mapName}[0], 1)
  return 0
end)
`;
const BROKEN = "local bpf = require('bpf')\nbpf.socket(function (skb)\n  return nope\nend)\n";

describe("options", () => {
  test("--name value and --name=value mean the same", () => {
    const a = luabpf(["compile", example("proto-count.lua"), "--emit", "asm", "-O", "1"]);
    const b = luabpf(["compile", example("proto-count.lua"), "--emit=asm", "-O1"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/<socket>:/);
    expect(b).toEqual(a);
  });

  test("an unknown option is a usage error: exit 2, one message, the synopsis, not the whole usage", () => {
    const r = luabpf(["compile", example("proto-count.lua"), "--emitt=asm"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^luabpf: error: unknown option '--emitt' \(did you mean '--emit'\?\)\nusage: luabpf compile \[options\] FILE\.lua\.\.\.\n/);
    expect(r.stderr).not.toMatch(/--print-after-all|commands:/);
  });

  test("a bad option value, a missing value and an unknown command are usage errors", () => {
    expect(luabpf(["compile", example("proto-count.lua"), "--emit", "elf"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--emit' takes obj, asm, ir, dot, dot=cfg or dot=interference, not 'elf'/) });
    expect(luabpf(["compile", example("proto-count.lua"), "-O3"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/-O' takes 0, 1 or 2, not '3'/) });
    expect(luabpf(["compile", example("proto-count.lua"), "--passes"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/'--passes' needs a value/) });
    expect(luabpf(["compile", example("proto-count.lua"), "--stats=yes"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/'--stats' does not take a value/) });
    expect(luabpf(["compile"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/compile needs an input file/) });
    expect(luabpf(["frob", "x.lua"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'frob' \(commands: compile, run/) });
    expect(luabpf([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: luabpf COMMAND/) });
  });

  test("unknown pass names in --print-after and --passes are usage errors listing the valid names", () => {
    for (const args of [["--print-after", "dce", "--print-after", "frobnicate"], ["--passes=sccp,frobnicate"]]) {
      const r = luabpf(["compile", example("proto-count.lua"), "--emit=ir", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown pass 'frobnicate'.*valid passes: .*simplify-cfg/);
      expect(r.stdout).toBe("");
    }
    const ok = luabpf(["compile", example("proto-count.lua"), "--emit=ir", "--print-after=dce"]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/dce/);
  });

  test("luabpf help compile and luabpf compile --help print that command's options", () => {
    const a = luabpf(["help", "compile"]);
    const b = luabpf(["compile", "--help"]);
    expect(a.code).toBe(0);
    expect(b).toEqual(a);
    for (const o of ["-o PATH", "--emit=KIND", "--[no-]source", "--link", "--verify", "-O0|1|2", "--passes=LIST", "--print-after=PASS", "--color=auto|always|never", "--diagnostics-format=text|json"]) {
      expect(a.stdout).toContain(o);
    }
    expect(luabpf(["help", "run"]).stdout).toMatch(/--packet=SPEC/);
    expect(luabpf(["help", "nope"])).toMatchObject({ code: 2 });
    expect(luabpf(["--help"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/compile .*\n.*run /) });
    expect(luabpf(["--version"]).stdout).toMatch(/^luabpf \d+\.\d+\.\d+\n$/);
  });
});

describe("inputs and outputs", () => {
  test("-o - writes the object to standard output, byte for byte what -o FILE writes", () => {
    const out = join(dir, "pc.o");
    expect(luabpf(["compile", example("proto-count.lua"), "-o", out]).code).toBe(0);
    const r = luabpf(["compile", example("proto-count.lua"), "-o", "-"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(Buffer.compare(r.stdoutBytes, readFileSync(out))).toBe(0);
  });

  test("'-' reads standard input; diagnostics call it <stdin>", () => {
    const r = luabpf(["compile", "-", "--emit=ir"], { input: readExample("proto-count.lua") });
    expect(r.code).toBe(0);
    expect(verifyModule(parseModule(r.stdout))).toEqual([]);
    const obj = luabpf(["compile", "-", "-o", "-"], { input: readExample("proto-count.lua") });
    expect(readObject(obj.stdoutBytes).programs.map((p) => p.section)).toEqual(["socket"]);
    const bad = luabpf(["compile", "-", "-o", join(dir, "never.o")], { input: BROKEN });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^<stdin>:3:10: error: .*nope.*\n  return nope\n         \^\n$/);
    expect(existsSync(join(dir, "never.o"))).toBe(false);
  });

  test("several inputs: one object each next to its input, or in the -o directory", () => {
    const a = file("multi-a.lua", counter("socket"));
    const b = file("multi-b.lua", counter("xdp"));
    expect(luabpf(["compile", a, b]).code).toBe(0);
    expect(readObject(readFileSync(join(dir, "multi-a.o"))).programs[0]!.section).toBe("socket");
    expect(readObject(readFileSync(join(dir, "multi-b.o"))).programs[0]!.section).toBe("xdp");
    const out = join(dir, "out-dir");
    expect(luabpf(["compile", a, b, "-o", out]).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["multi-a.o", "multi-b.o"]);
    const asm = join(dir, "asm-dir");
    mkdirSync(asm);
    expect(luabpf(["compile", a, b, "--emit=asm", "-o", asm]).code).toBe(0);
    expect(readdirSync(asm).sort()).toEqual(["multi-a.s", "multi-b.s"]);
    expect(readFileSync(join(asm, "multi-b.s"), "utf8")).toMatch(/multi-b\.o:\tfile format elf64-bpf/);
    // -o naming an existing file with several inputs is a usage error.
    const r = luabpf(["compile", a, b, "-o", a]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/with several inputs, -o names a directory/);
  });

  test("one bad input among several: the good ones are written, the exit status is 1", () => {
    const good = file("good.lua", counter("socket"));
    const bad = file("bad.lua", BROKEN);
    const out = join(dir, "mixed");
    const r = luabpf(["compile", bad, good, "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.lua:3:10: error:/);
    expect(readdirSync(out)).toEqual(["good.o"]);
  });

  test("--link links the inputs into one object; maps of the same name become one", () => {
    const a = file("link-a.lua", counter("socket"));
    const b = file("link-b.lua", counter("xdp") + "");
    const c = file("link-c.lua", counter("tc", "other", 16));
    const out = join(dir, "linked.o");
    const r = luabpf(["compile", "--link", a, b, c, "-o", out]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const obj = readObject(readFileSync(out));
    expect(obj.programs.map((p) => [p.name, p.section])).toEqual([["socket", "socket"], ["xdp", "xdp"], ["tc", "tc"]]);
    expect(obj.maps.map((m) => m.name)).toEqual(["counts", "other"]);
    // Both programs relocate against the one map.
    expect(obj.programs[0]!.relocations.map((x) => x.symbol)).toEqual(["counts"]);
    expect(obj.programs[1]!.relocations.map((x) => x.symbol)).toEqual(["counts"]);
    // Same name, different map: an error naming both files, no object.
    const d = file("link-d.lua", counter("socket", "counts", 64));
    const clash = luabpf(["compile", "--link", a, d, "-o", join(dir, "clash.o")]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/map 'counts' is declared differently in .*link-a\.lua \(array, key i32, value i64, max_entries 256\) and in .*link-d\.lua \(.*max_entries 64\)/);
    expect(existsSync(join(dir, "clash.o"))).toBe(false);
    // Two programs of the same name get distinct names.
    const twice = luabpf(["compile", "--link", a, a, "-o", "-"]);
    expect(readObject(twice.stdoutBytes).programs.map((p) => p.name)).toEqual(["socket", "socket_2"]);
    expect(luabpf(["compile", "--link", a, b]).code).toBe(2);
  });

  test.each([
    ["obj", (s: Buffer) => expect([...s.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46])],
    ["asm", (s: Buffer) => expect(s.toString()).toMatch(/Disassembly of section socket:/)],
    ["ir", (s: Buffer) => expect(verifyModule(parseModule(s.toString()))).toEqual([])],
    ["dot", (s: Buffer) => expect(s.toString()).toMatch(/^digraph "socket" \{\n[^]*bb\d+ -> bb\d+/)],
    ["dot=interference", (s: Buffer) => expect(s.toString()).toMatch(/^graph "socket" \{\n[^]*v\d+ \[label="v\d+: r\d"/)],
  ])("--emit %s honours -o FILE and -o -", (emit, check) => {
    const out = join(dir, `emit.${emit.replace("=", "-")}`);
    const r = luabpf(["compile", example("proto-count.lua"), `--emit=${emit}`, "-o", out]);
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    check(readFileSync(out));
    const s = luabpf(["compile", example("proto-count.lua"), `--emit=${emit}`, "-o", "-"]);
    expect(Buffer.compare(s.stdoutBytes, readFileSync(out))).toBe(0);
  });

  test("--emit dot after a chosen pipeline shows that point's CFG", () => {
    const src = example("tcp-port-filter.lua");
    const raw = luabpf(["compile", src, "--emit=dot", "--passes="]).stdout;
    const opt = luabpf(["compile", src, "--emit=dot", "-O2"]).stdout;
    const nodes = (s: string): number => (s.match(/^\s+bb\d+ \[label=/gm) ?? []).length;
    expect(nodes(raw)).toBeGreaterThan(nodes(opt));
  });

  test("--emit dot and dot=interference show every function, BPF-to-BPF functions included", () => {
    const src = file("calls.lua", "local function score(n)\n  if n > 100 then return 2 end\n  return 1\nend\nbpf.socket(function (skb)\n  return score(skb.len)\nend)\n");
    const graphs = (emit: string): string[] => [...luabpf(["compile", src, `--emit=${emit}`, "--inline-threshold", "0", "-o", "-"]).stdout.matchAll(/^(?:di)?graph "([^"]+)" \{$/gm)].map((m) => m[1]!);
    expect(graphs("dot")).toEqual(["socket", "score"]);
    expect(graphs("dot=interference")).toEqual(["socket", "score"]);
  });

  test("warnings have the machine-readable form too, and -Werror makes them errors", () => {
    const src = file("warn.lua", "local a = bpf.map('array', 4)\nbpf.socket(function (skb)\n  a[1] = nil\n  return 0\nend)\n");
    const message = "assigning nil to an element of array map 'a' does nothing: array elements always exist (store 0 to clear it)";
    const w = luabpf(["compile", src, "--diagnostics-format=json", "-o", join(dir, "warn.o")]);
    expect(w.code).toBe(0);
    expect(w.stderr.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([{ severity: "warning", category: "compile", message, location: { file: src, line: 3, column: 3 } }]);
    const e = luabpf(["compile", src, "--diagnostics-format=json", "-Werror", "-o", join(dir, "werror.o")]);
    expect(e.code).toBe(1);
    expect(e.stderr.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([{ severity: "error", category: "compile", message, location: { file: src, line: 3, column: 3 } }]);
    expect(existsSync(join(dir, "werror.o"))).toBe(false);
  });

  test("I/O errors are bad input: one line, exit 1, no usage", () => {
    const r = luabpf(["compile", example("proto-count.lua"), "-o", join(dir, "no/such/dir/x.o")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^luabpf: error: cannot write .*no\/such\/dir\/x\.o: No such file or directory\n$/);
    const m = luabpf(["compile", join(dir, "missing.lua")]);
    expect(m).toMatchObject({ code: 1, stderr: expect.stringMatching(/^luabpf: error: cannot read .*missing\.lua: No such file or directory\n$/) });
  });

  test("a FIFO named by -o is written in place, not replaced by a regular file", async () => {
    const fifo = join(dir, "out.fifo");
    const got = join(dir, "from-fifo.o");
    execFileSync("mkfifo", [fifo]);
    // The reader must be another process: luabpf blocks opening the FIFO until it is read.
    const reader = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", fifo, got], { stdio: "ignore" });
    const done = new Promise<number | null>((resolve) => reader.on("exit", resolve));
    const r = luabpf(["compile", example("proto-count.lua"), "-o", fifo]);
    const stillFifo = lstatSync(fifo).isFIFO();
    if (!stillFifo) reader.kill(); // replaced: nothing will ever open it again
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(stillFifo).toBe(true);
    expect(await done).toBe(0);
    const direct = luabpf(["compile", example("proto-count.lua"), "-o", "-"]);
    expect(new Uint8Array(readFileSync(got))).toEqual(new Uint8Array(direct.stdoutBytes));
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  test("a character device named by -o (a private /dev/null) stays a device", (ctx) => {
    // mknod needs root; CI runs as root (LUABPF_REQUIRE_KERNEL), elsewhere skip with the reason.
    if (process.getuid?.() !== 0) {
      if (process.env.LUABPF_REQUIRE_KERNEL) throw new Error("mknod needs root");
      ctx.skip("mknod needs root");
    }
    const nul = join(dir, "null");
    execFileSync("mknod", [nul, "c", "1", "3"]);
    const r = luabpf(["compile", example("proto-count.lua"), "-o", nul]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(lstatSync(nul).isCharacterDevice()).toBe(true);
    expect(readFileSync(nul).length).toBe(0);
    const ir = luabpf(["compile", example("proto-count.lua"), "--emit", "ir", "-o", nul]);
    expect(ir).toMatchObject({ code: 0, stdout: "" });
    expect(lstatSync(nul).isCharacterDevice()).toBe(true);
  });

  test("a regular -o file is still replaced by a rename (a new inode), never rewritten in place", () => {
    const out = join(dir, "renamed.o");
    writeFileSync(out, "old contents");
    const before = statSync(out).ino;
    const r = luabpf(["compile", example("proto-count.lua"), "-o", out]);
    expect(r.code).toBe(0);
    expect(statSync(out).ino).not.toBe(before);
    expect(readObject(new Uint8Array(readFileSync(out))).programs.length).toBeGreaterThan(0);
  });

  test("a compile error exits 1 with file:line:col, the line and a caret, and leaves no output", () => {
    const bad = file("err.lua", BROKEN);
    const r = luabpf(["compile", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${bad}:3:10: error: unknown global 'nope'\n  return nope\n         ^\n`);
    expect(existsSync(bad.replace(/\.lua$/, ".o"))).toBe(false);
  });
});

test("exit statuses: 1 bad input, 2 usage, 70 only for internal errors", () => {
  expect(exitStatusOf(new CompileError({ severity: "error", message: "x" }))).toBe(1);
  expect(exitStatusOf(new IoError("x.lua", "read", "ENOENT", "No such file or directory"))).toBe(1);
  expect(exitStatusOf(new UsageError("bad"))).toBe(2);
  expect(exitStatusOf(new InternalError("broken"))).toBe(70);
  expect(exitStatusOf(new TypeError("a bug"))).toBe(70);
});

describe("diagnostics", () => {
  const bad = (): string => file("colour.lua", BROKEN);

  test("--color=always colours as clang does; never and NO_COLOR with auto do not", () => {
    const r = luabpf(["compile", bad(), "--color=always"], { env: { NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("\x1b[1m");
    expect(r.stderr).toMatch(/\x1b\[0;1;31merror: \x1b\[0m\x1b\[1m.*nope/);
    expect(r.stderr).toMatch(/\x1b\[0;1;32m\s*\^\x1b\[0m/);
    expect(luabpf(["compile", bad(), "--color=never"]).stderr).not.toContain("\x1b[");
    // A pipe is not a terminal: auto means no colour.
    expect(luabpf(["compile", bad()]).stderr).not.toContain("\x1b[");
  });

  test("--color=auto colours a terminal unless NO_COLOR is set (in process, with a terminal)", async () => {
    const run = async (env: Record<string, string>): Promise<string> => {
      let err = "";
      await main(["compile", bad()], { stdout: () => {}, stderr: (s) => (err += s), stderrIsTTY: true, env });
      return err;
    };
    expect(await run({})).toContain("\x1b[0;1;31merror: ");
    expect(await run({ NO_COLOR: "1" })).not.toContain("\x1b[");
    expect(await run({ NO_COLOR: "" })).toContain("\x1b[");
  });

  test("--diagnostics-format=json: one JSON object per diagnostic, for every kind of error", () => {
    const c = luabpf(["compile", bad(), "--diagnostics-format=json"]);
    expect(c.code).toBe(1);
    const lines = c.stderr.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([{ severity: "error", category: "compile", message: expect.stringMatching(/nope/), location: { file: bad(), line: 3, column: 10 } }]);
    const u = luabpf(["compile", bad(), "--diagnostics-format", "json", "--frob"]);
    expect(u.code).toBe(2);
    expect(u.stderr.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([{ severity: "error", category: "usage", message: "unknown option '--frob'" }]);
    const io = luabpf(["compile", join(dir, "missing.lua"), "--diagnostics-format=json"]);
    expect(JSON.parse(io.stderr)).toMatchObject({ severity: "error", category: "io", message: expect.stringMatching(/cannot read/) });
  });
});
