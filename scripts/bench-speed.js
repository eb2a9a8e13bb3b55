#!/usr/bin/env node
// `npm run bench:speed`: compile speed, against the built dist (`npm run build` first). Three tables:
//
//  1. warm in-process compiles of every example at -O2 (Lua source to ELF bytes): after a
//     warm-up, µs per compile for each phase (parse, ssa, passes, verify, isel, regalloc,
//     emit, elf) and in total, the median of several timed batches;
//  2. process CPU time (user + system, from bash's `time`) of `luabpf compile` against a
//     bare `node -e 0`, measured pairwise — each round runs every command once, in rotating
//     order — and clang-16 on the example's C twin; medians of the times and of the ratios;
//  3. scaling: generated programs of 1k to 1M IR instructions in five shapes (bench/speed/
//     programs.js), each compiled in a process of its own after a small warm-up compile of
//     the same shape: ms per phase, ns per IR instruction and peak RSS.
//
// Benchmarks only: nothing here fails on a slow machine. The machine is shared, so ratios
// measured in one run mean more than absolute times; the load average is printed with them.
//
//   node scripts/bench-speed.js [--quick] [--max-ir N] [--shapes a,b] [--tables 1,2,3]
//
// --quick (CI): two examples, five process rounds, scaling to 10k instructions only.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generate, SHAPES } from "../bench/speed/programs.js";

const root = join(import.meta.dirname, "..");
const driverPath = join(root, "packages/cli/dist/driver.js");
const PHASES = ["parse", "ssa", "passes", "verify", "isel", "regalloc", "emit", "elf"];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pad = (s, n) => String(s).padStart(n);
const fmt = (x, digits = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "max-ir": { type: "string" },
    shapes: { type: "string" },
    tables: { type: "string", default: "1,2,3" },
    child: { type: "string" },
  },
});

if (opts.child) {
  await child(JSON.parse(opts.child));
} else {
  const quick = opts.quick;
  const tables = new Set(opts.tables.split(","));
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  if (tables.has("1")) await warmTable(quick);
  if (tables.has("2")) processTable(quick);
  if (tables.has("3")) scalingTable(quick);
}

// ---- 1. warm in-process ----------------------------------------------------------------

async function warmTable(quick) {
  const { compileToElf } = await import(driverPath);
  let examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".lua")).sort();
  if (quick) examples = examples.slice(0, 2);
  console.log(`\n1. warm in-process compile at -O2 (Lua source to ELF bytes), µs per compile, median of ${quick ? 3 : 9} batches`);
  console.log(`${"example".padEnd(24)}${PHASES.map((p) => pad(p, 9)).join("")}${pad("total", 9)}`);
  const totals = [];
  for (const ex of examples) {
    const source = readFileSync(join(root, "examples", ex), "utf8");
    const options = { file: `examples/${ex}`, optLevel: 2 };
    const warmEnd = performance.now() + (quick ? 50 : 500);
    for (let n = 0; performance.now() < warmEnd || n < 20; n++) compileToElf(source, options);
    const t0 = performance.now();
    compileToElf(source, options);
    const batch = Math.max(5, Math.min(20000, Math.round(25 / Math.max(performance.now() - t0, 0.001))));
    const rows = [];
    for (let b = 0; b < (quick ? 3 : 9); b++) {
      const times = {};
      const s = performance.now();
      for (let i = 0; i < batch; i++) compileToElf(source, { ...options, times });
      rows.push({ total: ((performance.now() - s) * 1000) / batch, times });
    }
    // The phases of the batch with the median total (phases of one batch add up to about its total).
    rows.sort((a, b) => a.total - b.total);
    const mid = rows[rows.length >> 1];
    totals.push(mid.total);
    console.log(`${ex.padEnd(24)}${PHASES.map((p) => pad(fmt(((mid.times[p] ?? 0) * 1000) / batch), 9)).join("")}${pad(fmt(mid.total), 9)}`);
  }
  console.log(`${"median over examples".padEnd(24)}${" ".repeat(9 * PHASES.length)}${pad(fmt(median(totals)), 9)}`);
  console.log(`${"slowest example".padEnd(24)}${" ".repeat(9 * PHASES.length)}${pad(fmt(Math.max(...totals)), 9)}`);
}

// ---- 2. process start-up ---------------------------------------------------------------

/** CPU milliseconds (user + system) of one run of `argv`, from bash's `time`; -1 when it fails. */
function cpuMs(argv) {
  const r = spawnSync("bash", ["-c", 'TIMEFORMAT="%3U %3S"; { time "$@" >/dev/null 2>&1; } 2>&1', "bash", ...argv], { encoding: "utf8" });
  const m = /([\d.]+)\s+([\d.]+)\s*$/.exec(r.stdout);
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : -1;
}

function processTable(quick) {
  const tmp = mkdtempSync(join(tmpdir(), "luabpf-speed-"));
  try {
    const example = "proto-count";
    const commands = [
      { name: "node -e 0", argv: [process.execPath, "-e", "0"] },
      {
        name: `luabpf compile examples/${example}.lua -o x.o`,
        argv: [process.execPath, join(root, "packages/cli/bin/luabpf.js"), "compile", join(root, `examples/${example}.lua`), "-o", join(tmp, "x.o")],
      },
    ];
    const multiarch = (() => {
      try {
        return execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
      } catch {
        return "x86_64-linux-gnu";
      }
    })();
    const hasClang = spawnSync("sh", ["-c", "command -v clang-16"]).status === 0;
    if (hasClang) {
      commands.push({
        name: `clang-16 -O2 -target bpf -mcpu=v3 -c bench/size/${example}.c`,
        argv: ["clang-16", "-O2", "-target", "bpf", "-mcpu=v3", `-I/usr/include/${multiarch}`, "-c", join(root, `bench/size/${example}.c`), "-o", join(tmp, "c.o")],
      });
    }
    for (const c of commands) if (cpuMs(c.argv) < 0) throw new Error(`${c.name} failed`);
    const rounds = quick ? 5 : 21;
    const cpu = commands.map(() => []);
    const ratio = commands.map(() => []);
    for (let r = 0; r < rounds; r++) {
      const t = [];
      for (let k = 0; k < commands.length; k++) {
        const i = (k + r) % commands.length;
        t[i] = cpuMs(commands[i].argv);
      }
      t.forEach((x, i) => {
        cpu[i].push(x);
        ratio[i].push(x / t[0]);
      });
    }
    console.log(`\n2. process CPU time (user + system), median of ${rounds} interleaved rounds; ratio to node -e 0 measured pairwise`);
    console.log(`${"command".padEnd(56)}${pad("CPU ms", 9)}${pad("× node", 9)}`);
    commands.forEach((c, i) => console.log(`${c.name.padEnd(56)}${pad(fmt(median(cpu[i])), 9)}${pad(median(ratio[i]).toFixed(2), 9)}`));
    if (!hasClang) console.log("(clang-16 not installed: no C twin row)");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- 3. scaling ------------------------------------------------------------------------

function scalingTable(quick) {
  const maxIr = Number(opts["max-ir"] ?? (quick ? 10_000 : 1_000_000));
  const shapes = opts.shapes ? opts.shapes.split(",") : SHAPES;
  const sizes = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= maxIr);
  console.log("\n3. scaling at -O2 -mcpu=v4 (gotol for long jumps): generated programs, each compiled in a process of its own after a warm-up compile");
  console.log(
    `${"shape".padEnd(9)}${pad("IR insns", 10)}${pad("eBPF", 9)}${PHASES.filter((p) => p !== "elf").map((p) => pad(p, 9)).join("")}${pad("elf", 7)}${pad("total ms", 10)}${pad("ns/IR", 8)}${pad("RSS MB", 8)}`,
  );
  const budgetMs = quick ? 60_000 : 600_000;
  const growth = [];
  for (const shape of shapes) {
    const perUnit = irPerUnit(shape);
    let previous;
    const nsPerInsn = {};
    for (const size of sizes) {
      const units = Math.max(1, Math.round(size / perUnit));
      if (previous && previous.total * (size / previous.ir) * 1.5 > budgetMs) {
        console.log(`${shape.padEnd(9)}${pad(size, 10)}  skipped (estimated over ${budgetMs / 1000} s)`);
        continue;
      }
      const r = spawnSync(process.execPath, ["--max-old-space-size=4096", import.meta.filename, "--child", JSON.stringify({ shape, units })], {
        encoding: "utf8",
        maxBuffer: 1 << 24,
      });
      if (r.status !== 0) {
        console.log(`${shape.padEnd(9)}${pad(size, 10)}  failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ")}`);
        break;
      }
      const res = JSON.parse(r.stdout.trim().split("\n").pop());
      previous = res;
      nsPerInsn[size] = (res.total * 1e6) / res.ir;
      console.log(
        `${shape.padEnd(9)}${pad(res.ir, 10)}${pad(res.ebpf, 9)}${PHASES.filter((p) => p !== "elf").map((p) => pad(fmt(res.times[p] ?? 0), 9)).join("")}${pad(fmt(res.times.elf ?? 0), 7)}${pad(fmt(res.total), 10)}${pad(Math.round(nsPerInsn[size]), 8)}${pad(Math.round(res.maxRssKb / 1024), 8)}`,
      );
    }
    const big = sizes.filter((s) => nsPerInsn[s] !== undefined).pop();
    if (nsPerInsn[10_000] && big && big > 10_000) growth.push(`${shape} ${(nsPerInsn[big] / nsPerInsn[10_000]).toFixed(2)}× (10k→${big / 1000}k)`);
  }
  if (growth.length > 0) console.log(`time per IR instruction, growth from 10k: ${growth.join(", ")}`);
}

/** IR instructions per unit of `shape` (from a small compile in this process). */
function irPerUnit(shape) {
  const r = spawnSync(process.execPath, [import.meta.filename, "--child", JSON.stringify({ shape, units: 200, countOnly: true })], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`counting ${shape} failed: ${r.stderr}`);
  return JSON.parse(r.stdout).ir / 200;
}

/** In a child process: compile one generated program, print its figures as JSON. */
async function child({ shape, units, countOnly }) {
  const { frontend, optimize, codegen } = await import(driverPath);
  const { writeObject } = await import(join(root, "packages/elf/dist/index.js"));
  const irCount = (m) => m.functions.reduce((n, f) => n + f.instructionCount, 0);
  if (countOnly) {
    console.log(JSON.stringify({ ir: irCount(frontend(generate(shape, units), "gen.lua")) }));
    return;
  }
  const compile = (source, times) => {
    const module = frontend(source, "gen.lua", times);
    const ir = irCount(module);
    optimize(module, { optLevel: 2, times });
    const { programs, object } = codegen(module, undefined, { times, cpu: 4 });
    const t = performance.now();
    writeObject(object);
    if (times) times.elf = performance.now() - t;
    return { ir, ebpf: programs.reduce((n, p) => n + p.insns.length, 0) };
  };
  compile(generate(shape, Math.max(1, Math.round(units / 100))), undefined);
  const source = generate(shape, units);
  const times = {};
  const t0 = performance.now();
  const { ir, ebpf } = compile(source, times);
  const total = performance.now() - t0;
  console.log(JSON.stringify({ ir, ebpf, times, total, maxRssKb: process.resourceUsage().maxRSS }));
}

void existsSync;
