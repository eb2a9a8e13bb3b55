// The tools themselves: the worker pool sees crashes and hangs, the differential tester
// catches a miscompile, the reducer shrinks a failing program, the generator writes valid
// programs.
import { defaultRegistry, defineFunctionPass } from "@luabpf/passes";
import { buildPacket, kernelOrSkip } from "@luabpf/loader";
import { afterAll, describe, expect, test } from "vitest";
import { compareObservations, difftest } from "../src/difftest.js";
import { defaultGenerator } from "../src/generate.js";
import { runOnKernel } from "../src/kernel.js";
import { runOracle } from "../src/oracle.js";
import { WorkerPool } from "../src/pool.js";
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
        (inst as { opcode: string }).opcode = "sub";
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
