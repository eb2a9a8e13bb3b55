/**
 * `npm run difftest -- [--count N] [--seed S] [--workers W] [--out DIR] [--no-reduce] [--reduce-seconds T] [--json FILE] [--regalloc KIND]`
 *
 * Generates N random programs (seeds S, S+1, ...), runs each in Lua 5.4 and on the kernel at
 * -O0 and -O2 in worker processes, and prints how many matched and every distinct failure.
 * Failures are reduced (reduce.ts; at most T seconds each, default 120: a program the
 * verifier works long on makes every reduction step slow) and written to DIR (default
 * `.check/difftest`) with their inputs. `--regalloc` compiles with that register allocator
 * (auto, irc, linear: as `luabpf compile --regalloc`). Exits 1 when anything but `match`/`invalid` happened. Needs root (bpf(2)) and lua5.4.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine } from "./command-line.js";
import { difftest, signature, type DiffKind, type DiffResult } from "../difftest.js";
import { defaultGenerator } from "../generate.js";
import type { ProgramInput } from "../kernel.js";
import { WorkerPool } from "../pool.js";
import { REGALLOC_KINDS, type RegAllocKind } from "luabpf";
import { reduceProgram } from "../reduce.js";

const { values } = parseCommandLine("difftest", "npm run difftest -- [--count N] [--seed S] [--workers W] [--out DIR] [--no-reduce] [--reduce-seconds T] [--json FILE] [--regalloc KIND]", () =>
  parseArgs({
    options: {
      count: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      workers: { type: "string", default: "2" },
      out: { type: "string", default: ".check/difftest" },
      "no-reduce": { type: "boolean", default: false },
      "reduce-seconds": { type: "string", default: "120" },
      json: { type: "string" },
      regalloc: { type: "string" },
    },
  }),
);
const regalloc = values.regalloc as RegAllocKind | undefined;
if (regalloc !== undefined && !REGALLOC_KINDS.includes(regalloc)) {
  process.stderr.write(`difftest: --regalloc takes ${REGALLOC_KINDS.join(", ")}, not '${regalloc}'\n`);
  process.exit(2);
}
const count = Number(values.count);
const firstSeed = Number(values.seed);
const generator = defaultGenerator();
const pool = new WorkerPool({ workers: Number(values.workers) });
const counts: Record<DiffKind | "timeout", number> = { match: 0, mismatch: 0, rejected: 0, "compile-error": 0, "internal-error": 0, "load-error": 0, invalid: 0, timeout: 0 };
const failures = new Map<string, { seed: number; result: DiffResult; count: number }>();
const started = performance.now();
let next = firstSeed;
let done = 0;

async function lane(): Promise<void> {
  while (next < firstSeed + count) {
    const seed = next++;
    const p = generator.generate(seed);
    const outcome = await pool.run({ kind: "difftest", source: p.source, inputs: p.inputs, ...(regalloc ? { regalloc } : {}) });
    done++;
    let result: DiffResult;
    if (outcome.kind === "done" && outcome.response.kind === "diff") result = outcome.response.result;
    else result = { kind: "internal-error", detail: outcome.kind === "crash" ? outcome.detail : outcome.kind === "hang" ? "no answer within the timeout" : "bad worker response" };
    counts[result.kind]++;
    if (result.kind !== "match" && result.kind !== "invalid") {
      const sig = signature(result);
      const f = failures.get(sig);
      if (f) f.count++;
      else {
        failures.set(sig, { seed, result, count: 1 });
        process.stderr.write(`seed ${seed}: ${sig}\n`);
      }
    }
    if (done % 250 === 0) process.stderr.write(`${done}/${count} programs, ${((performance.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}\n`);
  }
}

function describeInputs(inputs: readonly ProgramInput[]): string {
  return inputs.map((i, k) => `-- input ${k + 1}: mark=${i.mark ?? 0} priority=${i.priority ?? 0} packet=${Buffer.from(i.packet).toString("hex")}`).join("\n");
}

try {
  await Promise.all(Array.from({ length: Number(values.workers) }, lane));
} finally {
  pool.close();
}
const seconds = (performance.now() - started) / 1000;
console.log(`difftest: ${count} programs (seeds ${firstSeed}..${firstSeed + count - 1}) in ${seconds.toFixed(0)} s`);
console.log(Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", "));
if (failures.size > 0) {
  mkdirSync(values.out!, { recursive: true });
  let n = 0;
  for (const [sig, f] of failures) {
    n++;
    const p = generator.generate(f.seed);
    let source = p.source;
    if (!values["no-reduce"]) {
      process.stderr.write(`reducing finding ${n} of ${failures.size} (seed ${f.seed}): at most ${values["reduce-seconds"]} s; --no-reduce skips this\n`);
      const r = await reduceProgram(source, (candidate) => signature(difftest(candidate, p.inputs, undefined, regalloc ? { regalloc } : undefined)) === sig, { maxTests: 400, deadline: Date.now() + 1000 * Number(values["reduce-seconds"]) });
      source = r.source;
      if (r.stopped) process.stderr.write(`  stopped after ${r.tests} runs: the program written is reduced only that far\n`);
    }
    const file = join(values.out!, `finding-${n}-${f.result.kind}.lua`);
    writeFileSync(file, `-- ${sig}\n-- seed ${f.seed}, ${f.count} program(s) with this signature\n${describeInputs(p.inputs)}\n${source}`);
    console.log(`  ${f.count} × ${sig}\n    seed ${f.seed}, ${values["no-reduce"] ? "program (not reduced)" : "reduced program"}: ${file}`);
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify({ count, firstSeed, seconds, counts, failures: [...failures].map(([sig, f]) => ({ signature: sig, seed: f.seed, count: f.count })) }, null, 2));
process.exitCode = failures.size > 0 ? 1 : 0;
