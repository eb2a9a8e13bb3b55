// perf_event_open(2) for the loader: the events tracing programs attach to (tracepoints by the
// id tracefs gives them, uprobes and kprobes through their dynamic PMUs) and the software
// "bpf-output" events behind perf event arrays. Only the fields of `struct perf_event_attr`
// the loader sets are written (offsets from include/uapi/linux/perf_event.h, checked with
// offsetof on this kernel); the rest of the 136 bytes stays zero.
//
// Dynamic PMUs (Linux 4.17+): /sys/bus/event_source/devices/{uprobe,kprobe}/type holds the PMU
// type number, and format/retprobe says which config bit asks for a return probe ("config:0").
// The probe target travels in config1 (a pointer to the path or symbol) and config2 (the file
// offset or symbol offset).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LoaderError, OsError } from "./errors.js";
import { addressOf, nativeBuffer, nativeCopy, rawPerfEventOpen } from "./ffi.js";

/** `enum perf_type_id` values and other perf ABI numbers the loader uses. */
export const Perf = {
  TYPE_SOFTWARE: 1,
  TYPE_TRACEPOINT: 2,
  COUNT_SW_BPF_OUTPUT: 10,
  SAMPLE_RAW: 1 << 10,
  FLAG_FD_CLOEXEC: 1 << 3,
  /** `_IO('$', 0)` and `_IO('$', 1)`. */
  IOC_ENABLE: 0x2400,
  IOC_DISABLE: 0x2401,
  RECORD_LOST: 2,
  RECORD_SAMPLE: 9,
  /** perf_event_attr flags word bits: disabled (bit 0), watermark (bit 14). */
  ATTR_DISABLED: 1n << 0n,
  ATTR_WATERMARK: 1n << 14n,
} as const;

/** Size of `struct perf_event_attr` (PERF_ATTR_SIZE_VER8). */
const PERF_ATTR_SIZE = 136;

/** The fields of `struct perf_event_attr` the loader sets. */
export interface PerfEventAttr {
  type: number;
  config?: bigint;
  sampleType?: number;
  /** Wake the reader after this many samples (or bytes, with `watermark`). */
  wakeupEvents?: number;
  /** Bits of the flags word ({@link Perf}.ATTR_*). */
  flags?: bigint;
  config1?: bigint;
  config2?: bigint;
}

//   0 type u32 | 4 size u32 | 8 config u64 | 16 sample_period u64 | 24 sample_type u64
//   32 read_format u64 | 40 flags (bitfield u64) | 48 wakeup_events u32 | 52 bp_type u32
//   56 config1 u64 | 64 config2 u64 → 136 bytes
function encodeAttr(attr: PerfEventAttr, keepAlive: Buffer[]): Buffer {
  const buffer = nativeBuffer(PERF_ATTR_SIZE);
  buffer.writeUInt32LE(attr.type, 0);
  buffer.writeUInt32LE(PERF_ATTR_SIZE, 4);
  buffer.writeBigUInt64LE(attr.config ?? 0n, 8);
  buffer.writeBigUInt64LE(1n, 16); // sample_period: every event
  buffer.writeBigUInt64LE(BigInt(attr.sampleType ?? 0), 24);
  buffer.writeBigUInt64LE(attr.flags ?? 0n, 40);
  buffer.writeUInt32LE(attr.wakeupEvents ?? 1, 48);
  buffer.writeBigUInt64LE(attr.config1 ?? 0n, 56);
  buffer.writeBigUInt64LE(attr.config2 ?? 0n, 64);
  keepAlive.push(buffer);
  return buffer;
}

/**
 * perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC). `pid` -1 with a `cpu` watches
 * every process on that CPU; a `pid` with cpu -1 follows one process everywhere.
 */
export function perfEventOpen(attr: PerfEventAttr, pid: number, cpu: number, context?: string): number {
  const keepAlive: Buffer[] = [];
  const encoded = encodeAttr(attr, keepAlive);
  const { ret, errno } = rawPerfEventOpen(encoded, pid, cpu, -1, Perf.FLAG_FD_CLOEXEC);
  if (ret < 0) throw new OsError("perf_event_open", errno, context);
  return ret;
}

// ---------------------------------------------------------------------------------------------
// Tracepoints

/** Where tracefs is usually mounted, newest convention first. */
const TRACEFS_ROOTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** The mounted tracefs root, or undefined. */
export function tracefsRoot(): string | undefined {
  return TRACEFS_ROOTS.find((root) => existsSync(join(root, "events")));
}

/**
 * The id of tracepoint `category/name` (tracefs `events/<category>/<name>/id`).
 *
 * @throws LoaderError when tracefs is not mounted or the tracepoint does not exist
 */
export function tracepointId(category: string, name: string): number {
  const root = tracefsRoot();
  if (root === undefined) {
    throw new LoaderError(
      `tracepoint ${category}/${name}: tracefs is not mounted (mount it with: mount -t tracefs nodev /sys/kernel/tracing)`,
    );
  }
  const path = join(root, "events", category, name, "id");
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name) || !existsSync(path)) {
    throw new LoaderError(`tracepoint ${category}/${name} does not exist (no ${path})`);
  }
  return Number(readFileSync(path, "utf8").trim());
}

/** Opens tracepoint `category/name` on every CPU for every process; returns the perf event descriptor. */
export function openTracepoint(category: string, name: string): number {
  const id = tracepointId(category, name);
  return perfEventOpen({ type: Perf.TYPE_TRACEPOINT, config: BigInt(id) }, -1, 0, `tracepoint ${category}/${name}`);
}

// ---------------------------------------------------------------------------------------------
// uprobe / kprobe PMUs

const PMU_ROOT = "/sys/bus/event_source/devices";

/** A dynamic PMU: its type number and the config bit that makes a return probe. */
export interface ProbePmu {
  type: number;
  retprobeBit: number;
}

/** The `uprobe` or `kprobe` PMU, or undefined when this kernel has none. */
export function probePmu(kind: "uprobe" | "kprobe"): ProbePmu | undefined {
  const typePath = join(PMU_ROOT, kind, "type");
  if (!existsSync(typePath)) return undefined;
  const type = Number(readFileSync(typePath, "utf8").trim());
  let retprobeBit = 0;
  const formatPath = join(PMU_ROOT, kind, "format", "retprobe");
  if (existsSync(formatPath)) {
    const match = /^config:(\d+)/.exec(readFileSync(formatPath, "utf8").trim());
    if (match) retprobeBit = Number(match[1]);
  }
  return { type, retprobeBit };
}

/** A uprobe or kprobe to open through its PMU. */
export interface ProbeSpec {
  kind: "uprobe" | "kprobe";
  /** Return probe (uretprobe, kretprobe). */
  retprobe: boolean;
  /** uprobe: the binary's path; kprobe: the kernel symbol. */
  target: string;
  /** uprobe: file offset of the instruction; kprobe: offset from the symbol. */
  offset: bigint;
  /** uprobe: the process to probe, or -1 for all. */
  pid?: number;
}

/**
 * Opens a probe through the uprobe/kprobe PMU. The event follows `pid` (or every process with
 * pid -1, which needs a CPU: CPU 0 with pid -1 still fires on every CPU for uprobes and kprobes,
 * whose events are not per-CPU counters).
 *
 * @throws LoaderError when this kernel has no such PMU (e.g. kprobes disabled)
 */
export function openProbe(spec: ProbeSpec): number {
  const pmu = probePmu(spec.kind);
  const what = `${spec.retprobe ? spec.kind.replace("probe", "retprobe") : spec.kind} ${spec.target}${
    spec.offset ? `+0x${spec.offset.toString(16)}` : ""
  }`;
  if (pmu === undefined) {
    throw new LoaderError(`${what}: this kernel has no ${spec.kind} PMU (${PMU_ROOT}/${spec.kind} is missing)`);
  }
  const target = nativeCopy(Buffer.from(`${spec.target}\0`, "utf8"));
  const pid = spec.pid ?? -1;
  try {
    return perfEventOpen(
      {
        type: pmu.type,
        config: spec.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n,
        config1: addressOf(target),
        config2: spec.offset,
      },
      pid,
      pid === -1 ? 0 : -1,
      what,
    );
  } finally {
    // `target` must stay alive until perf_event_open has copied the string.
    target.fill(0, 0, 0);
  }
}
