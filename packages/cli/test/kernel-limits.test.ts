// The kernel's limits are compile errors at a source location, not verifier surprises:
// jumps beyond 16-bit offsets are one below -mcpu=v4 and become gotol with it (the program
// length limit: backend-ebpf test/limits.test.ts). Not timed.
import { describe, expect, test } from "vitest";
import { buildPacket, kernelOrSkip } from "@luabpf/loader";
import { gotol, lookupForm } from "@luabpf/backend-ebpf";
import { compileSource } from "../src/driver.js";
import { cli, packetResults } from "./helpers.js";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const kernel = kernelOrSkip();

/** A socket filter whose `if` body has `n` statements: the branch around it spans about 3n instructions. */
function longIf(n: number): string {
  const lines = ["local bpf = require('bpf')", "bpf.socket(function (skb)", "  local x = skb.len", "  local sum = 0", "  if x > 1 then"];
  for (let k = 0; k < n; k++) lines.push(`    sum = sum + (x ~ ${k})`);
  lines.push("  end", "  return sum", "end)");
  return lines.join("\n") + "\n";
}
/** What `longIf(n)` returns for a packet of `len` bytes (the kernel's return value is 32 bits). */
function longIfResult(n: number, len: number): number {
  let sum = 0n;
  if (len > 1) for (let k = 0; k < n; k++) sum += BigInt(len ^ k);
  return Number(BigInt.asUintN(32, sum));
}

describe("jumps beyond a 16-bit offset", () => {
  const N = 12_000;
  const source = longIf(N);

  test("are a located compile error below -mcpu=v4 (v3 is the default): file:line:col, exit 1, no object", async () => {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-limits-"));
    try {
      writeFileSync(join(dir, "long.lua"), source);
      const r = await cli("compile", join(dir, "long.lua"), "-o", join(dir, "long.o"));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/long\.lua:\d+:\d+: error: program socket is too large: a jump spans \d+ instructions, beyond the ±32,767 of a 16-bit jump offset on -mcpu=v3; compile with -mcpu=v4/);
      expect(existsSync(join(dir, "long.o"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("become gotol with -mcpu=v4, which the verifier accepts and the kernel runs", () => {
    const { object, programs } = compileSource(source, { file: "long.lua", cpu: 4 });
    const insns = programs[0]!.insns;
    expect(insns.length).toBeGreaterThan(3 * N);
    expect(insns.some((i) => i.code === gotol(0).code)).toBe(true);
    expect(Math.max(...insns.map((i) => lookupForm(i)!.cpu))).toBe(4);
    if (!kernel) return;
    const packets = ["tcp,dport=80", "udp,dport=53,len=300"];
    // skb.len is the frame's length: test runs pull the extra Ethernet header again.
    expect([...packetResults(object, packets).values()]).toEqual([packets.map((spec) => longIfResult(N, buildPacket(spec).length))]);
  });
});
