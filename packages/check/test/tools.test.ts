// The tools themselves: the worker pool sees crashes and hangs, the differential tester
// catches a miscompile, the reducer shrinks a failing program, the generator writes valid
// programs, and the scripts' command lines answer --help and mistakes plainly.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { defaultRegistry, defineFunctionPass } from "@luabpf/passes";
import { buildPacket, kernelOrSkip } from "@luabpf/loader";
import { afterAll, describe, expect, test } from "vitest";
import { compareObservations, difftest } from "../src/difftest.js";
import { defaultGenerator } from "../src/generate.js";
import { runOnKernel } from "../src/kernel.js";
import { runOracle } from "../src/oracle.js";
import { cpuTimeMs, WorkerPool } from "../src/pool.js";
import { candidateEdits, reduceProgram } from "../src/reduce.js";

const kernel = kernelOrSkip();

describe("the worker pool", () => {
  const pool = new WorkerPool({ workers: 1, timeoutMs: 5000 });
  const SLOW_START = 600_000; // each crash or hang starts a new worker: seconds on an idle machine, minutes on a shared one
  afterAll(() => pool.close());

  test("classifies a worker that dies as a crash and one that does not answer as a hang, and goes on", async () => {
    expect((await pool.run({ kind: "misbehave", how: "exit" })).kind).toBe("crash");
    expect((await pool.run({ kind: "misbehave", how: "hang" })).kind).toBe("hang");
    const ok = await pool.run({ kind: "compile", source: "bpf.socket(function (skb) return skb.len end)", optLevel: 2 });
    expect(ok.kind === "done" && ok.response.kind === "classified" ? ok.response.class : ok.kind).toBe("ok");
    const bad = await pool.run({ kind: "compile", source: "bpf.socket(function (skb) return skb.nope end)", optLevel: 0 });
    expect(bad.kind === "done" && bad.response.kind === "classified" ? bad.response.class : bad.kind).toBe("located");
  }, SLOW_START);

  test("times tasks by the worker's CPU time, which busy work increases and waiting does not", async () => {
    const before = cpuTimeMs(process.pid)!;
    const spinUntil = process.cpuUsage().user + 300_000;
    while (process.cpuUsage().user < spinUntil);
    const busy = cpuTimeMs(process.pid)! - before;
    expect(busy).toBeGreaterThanOrEqual(250);
    await new Promise((r) => setTimeout(r, 300));
    expect(cpuTimeMs(process.pid)! - before - busy).toBeLessThan(200);
    expect(cpuTimeMs(2 ** 30)).toBeUndefined();
  });
});

describe("the generator", () => {
  test("is deterministic and writes programs Lua 5.4 runs without error", () => {
    const g = defaultGenerator();
    expect(g.generate(42).source).toBe(g.generate(42).source);
    for (let seed = 1; seed <= 25; seed++) {
      const p = g.generate(seed);
      const r = runOracle(p.source, p.inputs);
      expect(r.kind === "ok" ? "ok" : `seed ${seed}: ${r.message}\n${p.source}`).toBe("ok");
    }
  });

  test("never names one variable twice in a multiple assignment (Lua 5.4 leaves the order undefined)", () => {
    // Found by the long differential run (seed 42): a shadowed local and its shadow were both
    // offered as targets, giving `v0, v0 = 0, skb.len`, which Lua assigns right to left.
    const g = defaultGenerator();
    const twice = /^\s*(\w+), \1 =/m;
    expect(twice.test("  v0, v0 = 0, skb.len")).toBe(true);
    for (let seed = 1; seed <= 3000; seed++) {
      const source = g.generate(seed).source;
      expect(twice.test(source) ? `seed ${seed}:\n${source}` : "ok").toBe("ok");
    }
  });

  test("grows: a construct added to one generator appears in its programs only", () => {
    const g = defaultGenerator().addStatement({ name: "marker", weight: 1000, emit: () => "local marker = 1" });
    expect(g.generate(1).source).toContain("local marker = 1");
    expect(defaultGenerator().generate(1).source).not.toContain("marker");
  });
});

describe("the reducer", () => {
  test("shrinks a program to what keeps the property", async () => {
    const source = defaultGenerator().generate(7, { statements: 20 }).source + "\n-- keep: xadd(out[1], 5)\n";
    const prop = (s: string): boolean => s.includes("bpf.socket(function (skb)") || s.includes("bpf.tc(function (skb)");
    const { source: reduced, tests } = await reduceProgram(source, (s) => prop(s) && candidateEdits(s).length > 0);
    expect(tests).toBeGreaterThan(0);
    expect(reduced.length).toBeLessThan(source.length / 2);
    expect(prop(reduced)).toBe(true);
  });

  test("stops at its deadline with the smallest program found so far, and says so", async () => {
    const source = defaultGenerator().generate(7, { statements: 20 }).source;
    let calls = 0;
    const slow = (s: string): boolean => {
      calls++;
      return s.includes("bpf.socket(function (skb)") || s.includes("bpf.tc(function (skb)");
    };
    const full = await reduceProgram(source, slow);
    expect(full.stopped).toBe(false);
    calls = 0;
    const cut = await reduceProgram(source, slow, { deadline: Date.now() - 1 });
    expect(cut).toEqual({ source, tests: 0, stopped: true });
    expect(calls).toBe(0);
    const few = await reduceProgram(source, slow, { maxTests: 3 });
    expect(few.stopped).toBe(true);
    expect(few.tests).toBe(3);
    expect(few.source.length).toBeGreaterThan(full.source.length);
  });
});

describe.skipIf(!kernel)("the differential tester", () => {
  /** A deliberately wrong pass: every `add` becomes `sub`. */
  const miscompile = defineFunctionPass({
    name: "add-to-sub",
    description: "test only: a miscompile",
    run(fn) {
      let changed = false;
      for (const inst of [...fn.instructions()]) {
        if (inst.opcode !== "add") continue;
        const sub = fn.createInstruction("sub", inst.type, inst.typeParam, [...inst.operands]);
        sub.loc = inst.loc;
        sub.insertBefore(inst);
        inst.replaceAllUsesWith(sub);
        inst.erase();
        changed = true;
      }
      return changed;
    },
  });

  test("catches a miscompile, and the reducer shrinks it to the operation at fault", async () => {
    const source = `local out = bpf.map("array", 8, "uint32_t", "uint64_t")
bpf.socket(function (skb)
  local a = skb.mark * 3
  local b = a - 1
  out[0] = b
  out[1] = a + skb.mark
  return a
end)`;
    const inputs = [{ packet: buildPacket("tcp"), mark: 5 }];
    const registry = defaultRegistry.clone().register(miscompile);
    const oracle = runOracle(source, inputs);
    if (oracle.kind !== "ok") throw new Error(oracle.message);
    const fails = (s: string): boolean => {
      const o = runOracle(s, inputs);
      const k = runOnKernel(s, { optLevel: 0, inputs, driver: { registry, passes: "add-to-sub" } });
      return o.kind === "ok" && k.kind === "ok" && compareObservations(k.observation, o) !== undefined;
    };
    const bad = runOnKernel(source, { optLevel: 0, inputs, driver: { registry, passes: "add-to-sub" } });
    expect(bad.kind).toBe("ok");
    if (bad.kind !== "ok") return;
    expect(compareObservations(bad.observation, oracle)).toBe("map out[1] is 10, Lua 20");
    expect(difftest(source, inputs).kind).toBe("match");
    const { source: reduced } = await reduceProgram(source, fails);
    expect(reduced).toContain("a + skb.mark");
    expect(reduced).not.toContain("b = a - 1");
  });
});

describe("the scripts' command lines", () => {
  const run = (script: string, ...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "--conditions=@luabpf/source", fileURLToPath(new URL(`../src/bin/${script}.ts`, import.meta.url)), ...args], { encoding: "utf8" });

  test.each(["difftest", "fuzz", "superopt"])("%s: --help prints the usage; a mistake is one error line and the usage, status 2, no stack trace", (script) => {
    const help = run(script, "--help");
    expect([help.status, help.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^usage: npm run ${script} -- \\[`))]);
    const bad = run(script, "--no-such-option");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^${script}: error: Unknown option '--no-such-option'\\nusage: npm run ${script} -- `));
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  test("fuzz names an unknown input source the same way", () => {
    const bad = run("fuzz", "--sources", "bytes,nope");
    expect([bad.status, bad.stderr.split("\n")[0]]).toEqual([2, "fuzz: error: unknown source 'nope' (known: bytes, text, tokens, grammar, nesting, elf)"]);
  }, 60_000);
});
