#!/usr/bin/env node
// `npm run bench:speed`: compile speed, against the built dist (run `npx tsc -b` first).
//  1. warm in-process compile time (compileSource + writeObject) of every example at -O0 and -O2:
//     after a warm-up, the median of several timed batches, in µs per compile;
//  2. a `luabpf compile` process against a bare `node -e 0` (median of 10 spawnSync runs each);
//  3. scaling: generated programs of growing size, with the time per phase (frontend, passes,
//     backend, elf) and ns per emitted eBPF instruction — flat means no quadratic hot spot.
// Environment: BENCH_MAX_STMTS caps the scaling table (default 250000 statements, ~1M instructions).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { codegen, compileSource, optimize } from "../packages/cli/dist/driver.js";
import { writeObject } from "../packages/elf/dist/index.js";
import { compileLua } from "../packages/frontend-lua/dist/index.js";

const root = join(import.meta.dirname, "..");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const pad = (s, n) => String(s).padStart(n);

// 1. Warm in-process compiles.
console.log("warm in-process compile (compileSource + writeObject), µs per compile, median of 7 batches");
console.log(`${"example".padEnd(22)}${pad("-O0", 10)}${pad("-O2", 10)}`);
const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".lua")).sort();
for (const ex of examples) {
  const source = readFileSync(join(root, "examples", ex), "utf8");
  const cells = [];
  for (const optLevel of [0, 2]) {
    const once = () => writeObject(compileSource(source, { file: `examples/${ex}`, optLevel }).object);
    const warmEnd = performance.now() + 300;
    let n = 0;
    while (performance.now() < warmEnd || n < 50) {
      once();
      n++;
    }
    // Batch size: about 20 ms per batch.
    const t0 = performance.now();
    once();
    const per = Math.max(performance.now() - t0, 0.001);
    const batch = Math.max(5, Math.min(5000, Math.round(20 / per)));
    const times = [];
    for (let b = 0; b < 7; b++) {
      const s = performance.now();
      for (let i = 0; i < batch; i++) once();
      times.push(((performance.now() - s) * 1000) / batch);
    }
    cells.push(median(times).toFixed(1));
  }
  console.log(`${ex.padEnd(22)}${pad(cells[0], 10)}${pad(cells[1], 10)}`);
}

// 2. Process start-up.
const tmp = mkdtempSync(join(tmpdir(), "luabpf-speed-"));
try {
  const bin = join(root, "packages/cli/bin/luabpf.js");
  const time = (args) => {
    const ts = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      const r = spawnSync(process.execPath, args, { encoding: "utf8" });
      ts.push(performance.now() - s);
      if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
    }
    return median(ts);
  };
  const bare = time(["-e", "0"]);
  const cli = time([bin, "compile", join(root, "examples/proto-count.lua"), "-o", join(tmp, "out.o")]);
  console.log(`\nprocess (median of 10): node -e 0 ${bare.toFixed(1)} ms; luabpf compile examples/proto-count.lua ${cli.toFixed(1)} ms (+${(cli - bare).toFixed(1)} ms)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// 3. Scaling.
/** A socket program of n statements `local a_k = skb.len + k`, summed, plus an if every 8 statements. */
function generate(n) {
  const lines = ["local bpf = require('bpf')", "bpf.socket(function (skb)", "  local sum = 0"];
  for (let k = 0; k < n; k++) {
    lines.push(`  local a_${k} = skb.len + ${k}`);
    if (k % 8 === 7) lines.push(`  if a_${k} > ${k * 3} then sum = sum + a_${k} end`);
    else lines.push(`  sum = sum + a_${k}`);
  }
  lines.push("  return sum", "end)");
  return lines.join("\n") + "\n";
}
const maxStmts = Number(process.env.BENCH_MAX_STMTS ?? 250000);
console.log("\nscaling (-O2): generated socket programs, ms per phase, ns per emitted instruction");
console.log(`${pad("stmts", 8)}${pad("insns", 9)}${pad("frontend", 10)}${pad("passes", 10)}${pad("backend", 10)}${pad("elf", 8)}${pad("total", 10)}${pad("ns/insn", 9)}`);
const started = performance.now();
for (const n of [250, 2500, 25000, 250000]) {
  if (n > maxStmts) break;
  if (n > 25000 && performance.now() - started > 20000) {
    console.log(`${pad(n, 8)}  skipped (the smaller sizes already took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    break;
  }
  const source = generate(n);
  const t0 = performance.now();
  const module = compileLua(source, { file: "gen.lua" });
  const t1 = performance.now();
  optimize(module, { optLevel: 2 });
  const t2 = performance.now();
  const { programs, object } = codegen(module);
  const t3 = performance.now();
  writeObject(object);
  const t4 = performance.now();
  const insns = programs.reduce((s, p) => s + p.insns.length, 0);
  const f = (x) => pad(x.toFixed(1), 10);
  console.log(`${pad(n, 8)}${pad(insns, 9)}${f(t1 - t0)}${f(t2 - t1)}${f(t3 - t2)}${pad((t4 - t3).toFixed(1), 8)}${f(t4 - t0)}${pad(Math.round(((t4 - t0) * 1e6) / insns), 9)}`);
}
