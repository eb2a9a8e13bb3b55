// The command line: emit modes, optimisation flags, pass printing, statistics, and `run`.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { writeObject } from "@luabpf/elf";
import { kernelOrSkip } from "@luabpf/loader";
import { compileSource } from "../src/driver.js";
import { cli, example, readExample } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const slots = (asm: string): number => asm.split("\n").filter((l) => /^\s+\d+:\t/.test(l)).length;

describe("luabpf compile", () => {
  test("writes an ELF object next to the input or to -o", async () => {
    const out = join(dir, "pc.o");
    const r = await cli("compile", example("proto-count.lua"), "-o", out);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect([...readFileSync(out).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
  });

  test("--emit asm prints an llvm-objdump style listing", async () => {
    const r = await cli("compile", example("proto-count.lua"), "--emit", "asm");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/file format elf64-bpf/);
    expect(r.stdout).toMatch(/Disassembly of section socket:/);
    expect(r.stdout).toMatch(/<socket>:/);
    expect(r.stdout).toMatch(/\tcall 0x1\n/);
    expect(r.stdout).toMatch(/lock \*\(u64 \*\)\(r0 \+ 0x0\) \+= r1/);
  });

  test("--emit ir prints IR the IR parser accepts", async () => {
    const r = await cli("compile", example("bytes-per-source.lua"), "--emit", "ir");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^map @bytes : hash, key i32, value i64, max_entries 1024/m);
    expect(r.stdout).toMatch(/func @socket\(ptr\.ctx %0\) -> i64 section "socket" type socket_filter/);
    const { parseModule, verifyModule } = await import("@luabpf/ir");
    expect(verifyModule(parseModule(r.stdout))).toEqual([]);
  });

  test("-O2 gives fewer instructions than -O0 over the examples, and never more on any", async () => {
    let total0 = 0;
    let total2 = 0;
    for (const name of ["proto-count.lua", "tcp-port-filter.lua", "bytes-per-source.lua", "tc-drop-udp.lua", "xdp-ifindex.lua", "kprobe-time.lua"]) {
      const o0 = await cli("compile", example(name), "-O0", "--emit", "asm");
      const o2 = await cli("compile", example(name), "-O2", "--emit", "asm");
      expect(o0.code).toBe(0);
      expect(slots(o2.stdout), name).toBeLessThanOrEqual(slots(o0.stdout));
      total0 += slots(o0.stdout);
      total2 += slots(o2.stdout);
    }
    expect(total2).toBeLessThan(total0);
  });

  test("--passes runs a textual pipeline; a bad one is a usage error", async () => {
    const ok = await cli("compile", example("tcp-port-filter.lua"), "--passes", "sccp,dce", "--emit", "asm");
    expect(ok.code).toBe(0);
    const bad = await cli("compile", example("tcp-port-filter.lua"), "--passes", "sccp,frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/frobnicate/);
    expect(bad.stderr).toMatch(/sccp/); // the valid names are listed
  });

  test("--print-after NAME and --print-after-all print the IR after passes", async () => {
    const one = await cli("compile", example("tcp-port-filter.lua"), "--print-after", "dce", "--emit", "asm");
    expect(one.code).toBe(0);
    expect(one.stderr).toMatch(/dce/);
    expect(one.stderr).toMatch(/func @socket/);
    const all = await cli("compile", example("tcp-port-filter.lua"), "--print-after-all", "--emit", "asm");
    expect(all.stderr.match(/func @socket/g)!.length).toBeGreaterThan(one.stderr.match(/func @socket/g)!.length);
  });

  test("--stats reports pass statistics and spills, reloads and copies", async () => {
    const r = await cli("compile", example("bytes-per-source.lua"), "--stats", "-o", join(dir, "s.o"));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/sccp/);
    expect(r.stderr).toMatch(/socket: \d+ instructions, \d+ spills, \d+ reloads, \d+ copies removed/);
  });
});

describe.skipIf(!kernelOrSkip())("luabpf run", () => {
  test("runs a .lua file and prints verdict, return value and maps", async () => {
    const r = await cli("run", example("proto-count.lua"), "--packet", "udp,dport=53", "--repeat", "4");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^program socket \(socket\): drop, return value 0 \(4 runs/m);
    // Maps print as live runs print them: array entries that are zero are left out.
    expect(r.stdout).toMatch(/^@counts\[17\]: 4\n(?!@counts)/m);
  });

  test("runs a .o file", async () => {
    const out = join(dir, "filter.o");
    expect((await cli("compile", example("tcp-port-filter.lua"), "-o", out)).code).toBe(0);
    const r = await cli("run", out, "--packet", "tcp,dport=80,len=120");
    expect(r.stdout).toMatch(/program socket \(socket\): accept \(keep 120 bytes\), return value 120/);
  });

  test("prints the verifier's own message when the kernel rejects a program", async () => {
    // r0 = *(u64 *)(r2 + 0); exit — r2 is not initialised.
    const code = new Uint8Array([0x79, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const bad = join(dir, "bad.o");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(bad, writeObject({ license: "GPL", programs: [{ name: "bad", section: "socket", code, relocations: [] }], maps: [] }));
    const r = await cli("run", bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/R2 !read_ok/);
  });

  test("several --packet options: IPv6, VLAN, payload text and hex, a cut packet; maps print once", async () => {
    const r = await cli(
      "run", example("xdp-drop-dns.lua"),
      "--packet", "udp,dport=53", "--packet", "udp6,dport=53,hex=0001", "--packet", "udp,dport=53,vlan=3",
      "--packet", "udp,dport=53,cut=40", "--packet", "udp,dport=54,payload=a, b",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => l.startsWith("packet ") || l.startsWith("program "))).toEqual([
      "packet udp,dport=53 (42 bytes):",
      "program xdp (xdp): XDP_DROP, return value 1",
      "packet udp6,dport=53,hex=0001 (64 bytes):",
      "program xdp (xdp): XDP_DROP, return value 1",
      "packet udp,dport=53,vlan=3 (46 bytes):",
      "program xdp (xdp): XDP_PASS, return value 2",
      "packet udp,dport=53,cut=40 (40 bytes):",
      "program xdp (xdp): XDP_PASS, return value 2",
      "packet udp,dport=54,payload=a, b (46 bytes):",
      "program xdp (xdp): XDP_PASS, return value 2",
    ]);
    expect(r.stdout).toMatch(/^@dropped\[0\]: 1\n@dropped\[1\]: 1\n/m);
    expect(r.stdout.match(/@dropped/g)).toHaveLength(2);
  });

  test("a bad packet spec is an error", async () => {
    const r = await cli("run", example("proto-count.lua"), "--packet", "tcp,dport=notaport");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dport/);
  });
});

test("the driver API compiles in process", () => {
  const r = compileSource(readExample("xdp-ifindex.lua"), { file: "xdp.lua" });
  expect(r.object.programs.map((p) => p.section)).toEqual(["xdp"]);
  expect(existsSync(join(dir, "nothing"))).toBe(false);
});
