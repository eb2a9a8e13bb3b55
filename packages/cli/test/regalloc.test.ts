// --regalloc: the linear-scan allocator (chosen for huge functions, or forced) on the kernel.
// Every example forced through it passes the independent allocation checker and the
// verifier, and its packet programs return in the kernel (BPF_PROG_TEST_RUN) what the same
// example compiled with iterated register coalescing returns; a generated program above the
// size threshold gets linear scan under the default `auto`, with spills, and computes the
// right result. Not timed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { buildPacket, kernelOrSkip } from "@luabpf/loader";
import { LINEAR_SCAN_THRESHOLD, REGALLOC_KINDS, type RegAllocKind } from "@luabpf/passes";
import { compileCommand } from "../src/commands/compile.js";
import { codegen, compileSource, frontend, optimize } from "../src/driver.js";
import { cli, example, packetResults, ROOT } from "./helpers.js";

const kernel = kernelOrSkip();
const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort();
const PACKETS = ["tcp,dport=80", "tcp,sport=443,dport=22,len=200", "udp,dport=53,len=300", "icmp", "udp,dport=53,len=700,ttl=1"];

describe("every example forced through linear scan", () => {
  // The allocation checker proves every allocation of these compiles.
  beforeAll(() => void vi.stubEnv("LUABPF_CHECK_REGALLOC", "1"));
  afterAll(() => void vi.unstubAllEnvs());

  test("there are examples", () => expect(examples.length).toBeGreaterThanOrEqual(6));

  test.each(examples)("%s: passes the checker and the verifier, and computes what IRC's code computes", (name) => {
    const source = readFileSync(example(name), "utf8");
    const compile = (regalloc: RegAllocKind) => compileSource(source, { file: name, regalloc });
    const linear = compile("linear");
    const irc = compile("irc");
    // Default -O2 programs are far below the threshold: auto is IRC, byte for byte.
    expect(compile("auto").programs.map((p) => p.insns)).toEqual(irc.programs.map((p) => p.insns));
    if (!kernel) return;
    const got = packetResults(linear.object, PACKETS);
    expect(got.size).toBeGreaterThan(0);
    expect(got).toEqual(packetResults(irc.object, PACKETS));
  });
});

/** A socket filter with `LIVE` values updated round-robin: more live values than registers (the bench's `live` shape). */
const LIVE = 24;
function liveShape(units: number): string {
  const lines = ["local bpf = require('bpf')", "bpf.socket(function (skb)", "  local n = skb.len"];
  for (let j = 0; j < LIVE; j++) lines.push(`  local x${j} = n + ${j}`);
  for (let k = 0; k < units; k++) lines.push(`  x${k % LIVE} = x${k % LIVE} + (x${(k + 7) % LIVE} ~ ${k})`);
  lines.push(`  return ${Array.from({ length: LIVE }, (_, j) => `x${j}`).join(" + ")}`, "end)");
  return lines.join("\n") + "\n";
}
/** What `liveShape(units)` returns for a packet of `len` bytes (64-bit Lua integers; the kernel reports 32 bits). */
function liveShapeResult(units: number, len: number): number {
  const x = Array.from({ length: LIVE }, (_, j) => BigInt(len + j));
  for (let k = 0; k < units; k++) x[k % LIVE] = BigInt.asUintN(64, x[k % LIVE]! + (x[(k + 7) % LIVE]! ^ BigInt(k)));
  return Number(BigInt.asUintN(32, x.reduce((a, b) => a + b, 0n)));
}

describe("a function above the threshold", () => {
  test("gets linear scan under auto, with spills, loads in the verifier and returns the right value", () => {
    // About 4 machine instructions per unit: just above the threshold.
    const units = Math.ceil(LINEAR_SCAN_THRESHOLD / 4) + 500;
    const module = frontend(liveShape(units), "live.lua");
    optimize(module, { optLevel: 2 });
    const auto = codegen(module, undefined, { cpu: 4 });
    const linear = codegen(module, undefined, { cpu: 4, regalloc: "linear" });
    expect(auto.programs[0]!.insns).toEqual(linear.programs[0]!.insns);
    expect(auto.programs[0]!.stats.spilledVRegs).toBeGreaterThan(0);
    if (!kernel) return;
    const packets = ["tcp,dport=80", "udp,dport=53,len=300"];
    // skb.len is the frame's length: test runs pull the extra Ethernet header again.
    expect([...packetResults(auto.object, packets).values()]).toEqual([packets.map((spec) => liveShapeResult(units, buildPacket(spec).length))]);
  });
});

describe("the --regalloc option", () => {
  test("takes auto, irc and linear (the allocator kinds), says the threshold, and refuses other names", async () => {
    const spec = compileCommand.options.regalloc!;
    expect(spec.choices).toEqual(REGALLOC_KINDS);
    expect(spec.description).toContain(`more than ${LINEAR_SCAN_THRESHOLD.toLocaleString("en-US")} machine instructions`);
    const src = example("xdp-header-sum.lua");
    const asm = async (...args: string[]): Promise<string> => {
      const r = await cli("compile", src, "--emit", "asm", ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await asm("--regalloc=irc")).toBe(await asm());
    expect(await asm("--regalloc", "auto")).toBe(await asm());
    expect(await asm("--regalloc=linear")).not.toBe(await asm());
    const bad = await cli("compile", src, "--regalloc=greedy", "-o", "/dev/null");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--regalloc' takes auto, irc or linear, not 'greedy'/);
  });
});
