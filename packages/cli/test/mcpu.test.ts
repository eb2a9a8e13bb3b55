// -mcpu=v1..v4: every example compiled for each eBPF ISA version uses no instruction newer
// than its target, passes the kernel's verifier, and its packet programs return in the kernel
// (BPF_PROG_TEST_RUN) what they return when compiled for the default v3. Not timed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { lookupForm, type CpuVersion } from "@luabpf/backend-ebpf";
import { CompileError } from "@luabpf/ir";
import { kernelOrSkip } from "@luabpf/loader";
import { compileSource } from "../src/driver.js";
import { cli, example, packetResults, ROOT } from "./helpers.js";

const kernel = kernelOrSkip();
const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort();
const PACKETS = ["tcp,dport=80", "tcp,sport=443,dport=22,len=200", "udp,dport=53,len=300", "icmp"];

/** Return values of `name` compiled for `cpu`: program name → one per packet (undefined: not test-runnable). */
function runAt(name: string, cpu: CpuVersion): Map<string, number[] | undefined> {
  const { programs, object } = compileSource(readFileSync(example(name), "utf8"), { file: name, cpu });
  for (const p of programs) {
    const newest = Math.max(...p.insns.map((i) => lookupForm(i)!.cpu));
    expect(newest, `${name} ${p.name} at v${cpu}`).toBeLessThanOrEqual(cpu);
  }
  if (!kernel) return new Map();
  return packetResults(object, PACKETS);
}

describe("every example at every -mcpu", () => {
  test("there are examples", () => expect(examples.length).toBeGreaterThanOrEqual(6));

  test.each(examples)("%s: v1, v2 and v4 load and agree with v3", (name) => {
    const v3 = runAt(name, 3);
    expect(v3.size > 0 || !kernel).toBe(true);
    for (const cpu of [1, 2, 4] as const) {
      let got;
      try {
        got = runAt(name, cpu);
      } catch (e) {
        // Only a fetching atomic add has no form before v3, and that is a located compile error.
        if (cpu < 3 && e instanceof CompileError && /needs -mcpu=v3/.test(e.message)) {
          expect(e.diagnostics[0]!.location).toBeDefined();
          continue;
        }
        throw e;
      }
      expect(got, `${name} at v${cpu}`).toEqual(v3);
    }
  });
});

describe("the -mcpu option", () => {
  test("takes clang's spellings -mcpu=vN and --mcpu vN, and refuses other versions", async () => {
    const src = example("proto-count.lua");
    const asm = async (...args: string[]): Promise<string> => {
      const r = await cli("compile", src, "--emit", "asm", ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await asm("-mcpu=v3")).toBe(await asm());
    expect(await asm("--mcpu", "v1")).toBe(await asm("-mcpu=v1"));
    const bad = await cli("compile", src, "-mcpu=v5", "-o", "/dev/null");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/-mcpu takes v1, v2, v3 or v4, not 'v5'/);
  });
});
