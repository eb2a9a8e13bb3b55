/**
 * `npm run fuzz -- [--count N] [--seed S] [--workers W] [--sources a,b] [--timeout MS] [--slow MS] [--out DIR]`
 *
 * Runs N fuzz inputs (fuzz.ts) through the compiler and the ELF reader in worker processes
 * and prints the counts per source and class, every distinct finding (written with its
 * input to DIR, default `.check/fuzz`) and the slowest inputs. Exits 1 when an input ended
 * as an unlocated error, an internal error, a crash or a hang.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine } from "./command-line.js";
import { FUZZ_SOURCES, fuzz, type FuzzSource } from "../fuzz.js";

const { values, sources } = parseCommandLine("fuzz", "npm run fuzz -- [--count N] [--seed S] [--workers W] [--sources a,b] [--timeout MS] [--slow MS] [--out DIR]", () => {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "10000" },
      seed: { type: "string", default: "1" },
      workers: { type: "string", default: "2" },
      sources: { type: "string", default: FUZZ_SOURCES.join(",") },
      timeout: { type: "string", default: "120000" },
      slow: { type: "string", default: "2000" },
      out: { type: "string", default: ".check/fuzz" },
      json: { type: "string" },
    },
  });
  const sources = values.sources!.split(",").map((s) => s.trim()) as FuzzSource[];
  for (const s of sources) if (!FUZZ_SOURCES.includes(s)) throw new Error(`unknown source '${s}' (known: ${FUZZ_SOURCES.join(", ")})`);
  return { values, sources };
});

const report = await fuzz({
  count: Number(values.count),
  seed: Number(values.seed),
  workers: Number(values.workers),
  sources,
  timeoutMs: Number(values.timeout),
  slowMs: Number(values.slow),
  progressEvery: 2000,
  onProgress: (done, r) => {
    const bad = r.findings.reduce((n, f) => n + f.count, 0);
    process.stderr.write(`${done}/${values.count} inputs, ${r.seconds.toFixed(0)} s, ${bad} failing, ${r.slow.length} slow\n`);
  },
});

console.log(`fuzz: ${report.inputs} inputs (seed ${values.seed}) in ${report.seconds.toFixed(0)} s`);
console.log("source    ok       located  unlocated internal crash hang");
for (const s of sources) {
  const c = report.bySource[s];
  console.log(`${s.padEnd(9)} ${String(c.ok).padEnd(8)} ${String(c.located).padEnd(8)} ${String(c.unlocated).padEnd(9)} ${String(c.internal).padEnd(8)} ${String(c.crash).padEnd(5)} ${c.hang}`);
}
if (report.findings.length > 0) {
  mkdirSync(values.out!, { recursive: true });
  console.log(`\n${report.findings.length} distinct finding(s):`);
  report.findings.forEach((f, k) => {
    const file = join(values.out!, `finding-${k + 1}-${f.class}.${f.input.source === "elf" ? "o" : "lua"}`);
    writeFileSync(file, f.input.bytes ?? `-- ${f.signature}\n-- -O${f.input.optLevel}, from ${f.input.source}\n${f.input.text}`);
    console.log(`  ${f.count} × ${f.signature}\n    ${file}: ${f.message.split("\n")[0]!.slice(0, 200)}`);
  });
}
if (report.slow.length > 0) {
  console.log(`\n${report.slow.length} input(s) slower than ${values.slow} ms of CPU time (slowest first):`);
  for (const f of report.slow.slice(0, 15)) console.log(`  ${f.message}: ${f.input.source}, ${f.input.text?.length ?? f.input.bytes?.length} bytes, -O${f.input.optLevel}`);
}
if (values.json) {
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        inputs: report.inputs,
        seconds: report.seconds,
        bySource: report.bySource,
        findings: report.findings.map((f) => ({ class: f.class, signature: f.signature, count: f.count })),
        slow: report.slow.map((f) => ({ ms: Math.round(f.ms), cpuMs: f.cpuMs === undefined ? undefined : Math.round(f.cpuMs), source: f.input.source, bytes: f.input.text?.length ?? f.input.bytes?.length, optLevel: f.input.optLevel })),
      },
      null,
      2,
    ),
  );
}
process.exitCode = report.findings.length > 0 ? 1 : 0;
