// Kernel tests of the event readers: records of a tracepoint program read from a ring buffer and
// from a perf event array, decoded by their BTF record type; lost-record accounting of perf
// buffers (received + lost = emitted, exactly); waiting without busy polling; closing a reader
// that is waiting; and every descriptor closed afterwards.
import { closeSync, openSync } from "node:fs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  PerfBufferReader,
  RingBufferReader,
  attach,
  formatValue,
  kernelOrSkip,
  loadObjectFile,
  onCpu,
  onlineCpus,
  targetForSection,
  toJsonValue,
  typedMap,
  type Attachment,
  type LoadedObject,
} from "../src/index.js";
import { compileBpfC, hasTool, mountTracefs, openDescriptorCount, sleep } from "@luabpf/test-support";

const kernel = kernelOrSkip();
const C_DIR = new URL("./c/", import.meta.url);
const tools = ["clang-16"].filter((tool) => !hasTool(tool));
if (kernel && tools.length > 0 && process.env.CI) throw new Error(`event tests need ${tools.join(", ")}`);

function openFiles(count: number): void {
  for (let i = 0; i < count; i++) closeSync(openSync("/proc/self/stat", "r"));
}

interface Event {
  pid: number;
  seq: number;
  comm: string;
}

describe.skipIf(!kernel || tools.length > 0)("event readers", () => {
  let object: LoadedObject;
  let attachment: Attachment;
  let descriptorsBefore: number;

  beforeAll(() => mountTracefs());

  beforeEach(() => {
    descriptorsBefore = openDescriptorCount();
    object = loadObjectFile(compileBpfC(C_DIR, "trace_events"));
    // Only this process's openat calls produce events.
    typedMap(object.maps.get("config")!).set(0, process.pid);
    const program = object.programs.get("count_openat")!;
    attachment = attach(program, targetForSection(program.section)!);
  });

  afterEach(() => {
    attachment.close();
    object.close();
    expect(openDescriptorCount()).toBe(descriptorsBefore);
  });

  const emitted = () => Number(typedMap(object.maps.get("sequence")!).get(0));

  it("a ring buffer delivers every record in order, decoded by the record type from BTF", async () => {
    const map = object.maps.get("rb")!;
    expect(map.recordType).toMatchObject({ kind: "struct", name: "event" });
    const reader = new RingBufferReader(map);
    const start = emitted();
    setTimeout(() => openFiles(20), 20);
    const seen: Event[] = [];
    for await (const record of reader) {
      expect(record.data.byteLength).toBe(24);
      seen.push(record.value as unknown as Event);
      if (seen.length === 20) break; // leaving the loop closes the reader
    }
    expect(seen.map((event) => event.seq)).toEqual(Array.from({ length: 20 }, (_, i) => start + i));
    expect(seen.every((event) => event.pid === process.pid && event.comm.length > 0)).toBe(true);
    expect(formatValue(seen[0] as never)).toBe(`pid=${process.pid} seq=${start} comm=${seen[0]!.comm}`);
    expect(toJsonValue(seen[0] as never)).toEqual({ pid: process.pid, seq: start, comm: seen[0]!.comm });
    expect(reader.lost).toBe(0);
  });

  it("a perf event array delivers records from the CPUs they were written on", async () => {
    const reader = new PerfBufferReader(object.maps.get("perf")!);
    try {
      const start = emitted();
      openFiles(30);
      const events: Array<{ cpu: number | undefined; value: Event }> = [];
      while (events.length < 30) {
        const { value } = await reader.next();
        events.push({ cpu: value!.cpu, value: value!.value as unknown as Event });
      }
      // Across CPUs the order may interleave; every sequence number arrives exactly once.
      expect(events.map((e) => e.value.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => start + i));
      expect(events.every((e) => e.cpu !== undefined && onlineCpus().includes(e.cpu))).toBe(true);
      expect(reader.lost).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it("a perf buffer that overflows reports exactly the records it lost", async () => {
    // One data page per CPU holds about a hundred 40-byte samples; nothing reads while 2000 are
    // written, all on one CPU (the thread is pinned, so the overflow is on a known buffer).
    const cpus = onlineCpus(); // reads a file: before the reader, or its openat would be a record
    const reader = new PerfBufferReader(object.maps.get("perf")!, { pagesPerCpu: 1 });
    try {
      const start = emitted();
      onCpu(cpus[0]!, () => openFiles(2000));
      const records = reader.readAvailable();
      // The kernel writes its PERF_RECORD_LOST (with the count) only once the reader has freed
      // space and the next sample comes on that CPU: one more event on every CPU flushes it.
      for (let attempt = 0; attempt < 20 && records.length + reader.lost < emitted() - start; attempt++) {
        for (const cpu of cpus) onCpu(cpu, () => openFiles(1));
        records.push(...reader.readAvailable());
        if (records.length + reader.lost < emitted() - start) await sleep(10);
      }
      const produced = emitted() - start;
      expect(produced).toBeGreaterThanOrEqual(2000 + cpus.length);
      expect(reader.lost).toBeGreaterThan(0);
      expect(records.length + reader.lost).toBe(produced);
      expect(reader.received).toBe(records.length);
    } finally {
      await reader.close();
    }
  });

  it("waiting for records does not spin, and close() ends a pending next()", async () => {
    const reader = new RingBufferReader(object.maps.get("rb")!);
    reader.readAvailable();
    const cpuBefore = process.cpuUsage();
    const pending = reader.next();
    await sleep(300);
    const used = process.cpuUsage(cpuBefore);
    // A busy poll would burn the whole 300 ms; an epoll wait on a worker thread uses ~nothing.
    expect((used.user + used.system) / 1000).toBeLessThan(100);
    await reader.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it("two readers share one waiting thread and both wake", async () => {
    const ring = new RingBufferReader(object.maps.get("rb")!);
    const perf = new PerfBufferReader(object.maps.get("perf")!);
    try {
      ring.readAvailable();
      perf.readAvailable();
      const both = Promise.all([ring.next(), perf.next()]);
      await sleep(20);
      openFiles(1);
      const [fromRing, fromPerf] = await both;
      expect((fromRing.value!.value as unknown as Event).seq).toBe((fromPerf.value!.value as unknown as Event).seq);
    } finally {
      await ring.close();
      await perf.close();
    }
  });

  it("a record type given by the caller overrides the declared one", async () => {
    const reader = new RingBufferReader(object.maps.get("rb")!, { recordType: { kind: "int", name: "u32", size: 4, signed: false } });
    try {
      openFiles(1);
      const record = (await reader.next()).value!;
      expect(record.value).toBe(process.pid);
    } finally {
      await reader.close();
    }
  });

  it("a perf buffer can batch wakeups; what is not yet announced is still read by readAvailable()", async () => {
    expect(() => new PerfBufferReader(object.maps.get("perf")!, { wakeupEvents: 0 })).toThrow(/wakeupEvents/);
    const reader = new PerfBufferReader(object.maps.get("perf")!, { wakeupEvents: 8 });
    try {
      const start = emitted();
      openFiles(20); // at least 10 on one CPU: that CPU wakes the reader
      const first = await reader.next();
      const rest = reader.readAvailable();
      const seqs = [first.value!, ...rest].map((r) => (r.value as unknown as Event).seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: emitted() - start }, (_, i) => start + i));
    } finally {
      await reader.close();
    }
  });

  it("refuses maps of the wrong type", () => {
    expect(() => new RingBufferReader(object.maps.get("perf")!)).toThrow(/not a ring buffer/);
    expect(() => new PerfBufferReader(object.maps.get("rb")!)).toThrow(/not a perf event array/);
  });
});
