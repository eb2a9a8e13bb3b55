#!/usr/bin/env node
// `npm run bench:events`: how many records per second @luabpf/loader reads from a ring buffer
// and from a perf event array, and how many are lost, against the built dist (run `npx tsc -b`
// first; needs root, clang-16, cc and tracefs).
//
// Producer: bench/events/producer.c, a separate process making N getppid system calls as fast as
// it can; bench/events/events.bpf.c, on the syscalls/sys_enter_getppid tracepoint, emits one
// record per call of that process (16, 64 or 256 bytes) to the ring buffer (4 MiB) or the perf
// array (64 pages = 256 KiB per CPU). Consumer: this process, `for await` over the loader's reader
// (epoll on a worker thread), counting records, raw or decoded by a BTF struct type.
// Columns: records the program emitted, records read, lost (ring buffer: reservations the kernel
// refused because the buffer was full, counted by the program; perf: the kernel's
// PERF_RECORD_LOST counts, and "missing" = emitted - read - lost for samples whose loss record
// had not been flushed when the producer ended), read throughput (records read / time from the
// first record to the last), and the producer's own call rate (with the tracepoint attached).
// When read/s is close to calls/s, the reader keeps up and the producer is the bottleneck.
// Last column: this process's CPU time per record read (JavaScript thread + epoll worker).
// Environment: BENCH_EVENTS_N calls per run (default 500000).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  PerfBufferReader,
  RingBufferReader,
  attach,
  bpfAvailable,
  loadObjectFile,
  targetForSection,
  typedMap,
} from "../packages/loader/dist/index.js";

const root = join(import.meta.dirname, "..");
const calls = Number(process.env.BENCH_EVENTS_N ?? 500000);
const available = bpfAvailable();
if (!available.ok) {
  console.error(`bench:events needs bpf(2): ${available.reason}`);
  process.exit(1);
}
if (!existsSync("/sys/kernel/tracing/events")) execFileSync("mount", ["-t", "tracefs", "nodev", "/sys/kernel/tracing"]);

const dir = mkdtempSync(join(tmpdir(), "luabpf-bench-events-"));
const machine = spawnSync("uname", ["-m"], { encoding: "utf8" }).stdout.trim();
const object = join(dir, "events.bpf.o");
const producer = join(dir, "producer");
execFileSync("clang-16", ["-O2", "-g", "-target", "bpf", "-mcpu=v3", `-I/usr/include/${machine}-linux-gnu`, "-c", join(root, "bench/events/events.bpf.c"), "-o", object]);
execFileSync("cc", ["-O2", "-o", producer, join(root, "bench/events/producer.c")]);

const loaded = loadObjectFile(object);
const program = loaded.programs.get("emit");
const link = attach(program, targetForSection(program.section));
const config = typedMap(loaded.maps.get("config"));
const stats = typedMap(loaded.maps.get("stats"));
const u64 = { kind: "int", name: "u64", size: 8, signed: false };
const recordType = { kind: "struct", name: "record", size: 16, members: [{ name: "seq", type: u64, bitOffset: 0 }, { name: "time_ns", type: u64, bitOffset: 64 }] };

async function measure(kind, size, decode, wakeupEvents = 1) {
  stats.set(0, 0n);
  stats.set(1, 0n);
  const options = { ...(decode ? { recordType } : {}), ...(kind === "perf array" ? { wakeupEvents } : {}) };
  const reader = kind === "ring buffer" ? new RingBufferReader(loaded.maps.get("ring"), options) : new PerfBufferReader(loaded.maps.get("perf"), options);
  const child = spawn(producer, [String(calls)], { stdio: ["pipe", "pipe", "inherit"] });
  let producerRate = 0;
  child.stdout.on("data", (d) => (producerRate = Number(String(d).trim())));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  config.set(0, child.pid);
  config.set(1, size);
  config.set(2, kind === "ring buffer" ? 0 : 1);
  let received = 0;
  let first = 0;
  let last = 0;
  let checksum = 0n;
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  child.stdin.end("\n");
  exited.then(async () => {
    // Wait until the buffers are quiet, then stop the reader (the loop below ends).
    for (let before = -1; before !== received; ) {
      before = received;
      await new Promise((r) => setTimeout(r, 50));
    }
    await reader.close();
  });
  for await (const record of reader) {
    if (received++ === 0) first = performance.now();
    last = performance.now();
    if (decode) checksum += record.value.seq;
  }
  await exited;
  const cpu = process.cpuUsage(cpuBefore);
  config.set(0, 0);
  const emitted = Number(stats.get(0));
  const lost = kind === "ring buffer" ? Number(stats.get(1)) : reader.lost;
  // From the first record to the last: the producer's start-up (fork, exec) is not reading time.
  const seconds = Math.max(last - first, 1e-3) / 1000;
  void start;
  void checksum;
  // The reader's CPU time per record (this process: the JavaScript thread and the epoll worker),
  // which a busy machine disturbs much less than the wall-clock rate.
  const cpuPerRecord = received === 0 ? 0 : (cpu.user + cpu.system) / received;
  return { emitted, received, lost, missing: emitted - received - lost, rate: received / seconds, producerRate, cpuPerRecord };
}

const fmt = (n) => Math.round(n).toLocaleString("en-US");
console.log(`event throughput, ${fmt(calls)} getppid calls per run, ${machine}, ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} CPUs`);
console.log(`${"buffer".padEnd(16)}${"bytes".padStart(6)}${"decode".padStart(8)}${"emitted".padStart(11)}${"read".padStart(11)}${"lost".padStart(9)}${"missing".padStart(9)}${"read/s".padStart(12)}${"calls/s".padStart(12)}${"µs cpu/rec".padStart(12)}`);
try {
  const runs = [];
  for (const kind of ["ring buffer", "perf array"]) {
    for (const size of [16, 64, 256]) runs.push([kind, size, false, 1]);
    runs.push([kind, 16, true, 1]);
  }
  runs.push(["perf array", 16, false, 32]);
  for (const [kind, size, decode, wakeup] of runs) {
    {
      {
        const r = await measure(kind, size, decode, wakeup);
        const label = wakeup > 1 ? `${kind} w=${wakeup}` : kind;
        console.log(
          `${label.padEnd(16)}${String(size).padStart(6)}${(decode ? "yes" : "no").padStart(8)}${fmt(r.emitted).padStart(11)}${fmt(r.received).padStart(11)}${fmt(r.lost).padStart(9)}${fmt(r.missing).padStart(9)}${fmt(r.rate).padStart(12)}${fmt(r.producerRate).padStart(12)}${r.cpuPerRecord.toFixed(2).padStart(12)}`,
        );
      }
    }
  }
} finally {
  link.close();
  loaded.close();
  rmSync(dir, { recursive: true, force: true });
}
