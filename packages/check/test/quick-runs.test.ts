// Quick runs of the long tools (the long runs are `npm run difftest` and `npm run fuzz`,
// docs/testing.md): a few dozen random programs against Lua 5.4 on the kernel at -O0 and
// -O2, and a few hundred fuzz inputs of every source. Any failure is a bug to fix and to
// keep in cases.ts / the regression tests.
import { kernelOrSkip } from "@luabpf/loader";
import { afterAll, describe, expect, test } from "vitest";
import { signature } from "../src/difftest.js";
import { FUZZ_SOURCES, fuzz } from "../src/fuzz.js";
import { defaultGenerator } from "../src/generate.js";
import { WorkerPool } from "../src/pool.js";

const kernel = kernelOrSkip();
/** Seeds change with the day, so that CI explores; a failure prints its seed and program. */
const DAY = Math.floor(Date.now() / 86_400_000);
/** About 30 s each on an idle 2-core machine; ten times that when the machine is shared. */
const LOADED_MACHINE_TIMEOUT = 600_000;

describe.skipIf(!kernel)("differential testing, quick run", () => {
  const pool = new WorkerPool({ workers: 2 });
  afterAll(() => pool.close());

  test("random programs compute in the kernel at -O0 and -O2 what they compute in Lua 5.4", async () => {
    const generator = defaultGenerator();
    const first = (DAY % 100_000) * 100;
    const seeds = Array.from({ length: 40 }, (_, k) => first + k);
    const failures: string[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < seeds.length) {
        const seed = seeds[next++]!;
        const p = generator.generate(seed);
        const outcome = await pool.run({ kind: "difftest", source: p.source, inputs: p.inputs });
        const kind = outcome.kind === "done" && outcome.response.kind === "diff" ? outcome.response.result : undefined;
        if (!kind) failures.push(`seed ${seed}: worker ${outcome.kind}`);
        else if (kind.kind !== "match") failures.push(`seed ${seed}: ${signature(kind)}\n${kind.detail.slice(0, 2000)}\n${p.source}`);
      }
    };
    await Promise.all([lane(), lane()]);
    expect(failures).toEqual([]);
  }, LOADED_MACHINE_TIMEOUT);
});

describe("fuzzing, quick run", () => {
  test("every input of every source compiles or gives a located error; no internal error, crash or hang", async () => {
    const report = await fuzz({ count: 180, seed: DAY, quick: true });
    expect(report.inputs).toBe(180);
    for (const s of FUZZ_SOURCES) expect(report.bySource[s].ok + report.bySource[s].located).toBeGreaterThan(0);
    expect(report.findings.map((f) => `${f.signature}\n  (${f.input.source}, -O${f.input.optLevel}) ${JSON.stringify(f.input.text?.slice(0, 500) ?? "object bytes")}`)).toEqual([]);
  }, LOADED_MACHINE_TIMEOUT);
});
