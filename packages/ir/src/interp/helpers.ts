/**
 * The interpreter's implementations of eBPF helpers, keyed by the helper's name in the
 * platform table (@luabpf/platform, which holds the ids, prototypes and effects): the map
 * helpers, with the kernel's return conventions (0 or a negative errno), and deterministic
 * stand-ins for the clock, the current task and the CPU number. Hosts add or override
 * helpers through `interpret(..., { helpers })`.
 */
import { BPF_FUNC, UpdateFlag, type HelperName } from "@luabpf/platform";
import type { Module } from "../module.js";
import type { MapInstance, MapState } from "./maps.js";
import { InterpError, InterpPointer, type InterpValue } from "./values.js";

/** What a helper can see and do: read and write memory, reach maps, read the run's settings. */
export interface InterpContext {
  readonly module: Module;
  readonly maps: MapState;
  /** Value of `bpf_ktime_get_ns`. */
  readonly time: bigint;
  /** Value of `bpf_get_current_pid_tgid`. */
  readonly pidTgid: bigint;
  /** Value of `bpf_get_smp_processor_id`. */
  readonly cpu: bigint;
  /** Copies `size` bytes at pointer `p` (bounds and initialisation checked). */
  readBytes(p: InterpValue, size: number): Uint8Array;
  /** Writes `bytes` at pointer `p` (bounds checked; marks stack bytes initialised). */
  writeBytes(p: InterpValue, bytes: Uint8Array): void;
  /** The map a `mapref` pointer designates. */
  mapOf(p: InterpValue): MapInstance;
}

/**
 * A helper implementation. Numbers are accepted as results for convenience; integer
 * results are wrapped to the call's type.
 */
export type HelperFn = (args: InterpValue[], ctx: InterpContext) => InterpValue | number;

function arg(args: InterpValue[], i: number, helper: string): InterpValue {
  const v = args[i];
  if (v === undefined) throw new InterpError(`${helper}: missing argument ${i + 1}`);
  return v;
}

function intArg(args: InterpValue[], i: number, helper: string): bigint {
  const v = arg(args, i, helper);
  if (typeof v !== "bigint") throw new InterpError(`${helper}: argument ${i + 1} must be an integer`);
  return v;
}

/** A buffer size argument: a u32 the kernel would accept (at most the 512-byte stack; the verifier refuses more). */
function sizeArg(args: InterpValue[], i: number, helper: string): number {
  const v = intArg(args, i, helper);
  if (v < 0n || v > 512n) throw new InterpError(`${helper}: size argument ${i + 1} is ${v}, not 0..512`);
  return Number(v);
}

/** The implementations, by helper name. */
const IMPLEMENTATIONS: Partial<Record<HelperName, HelperFn>> = {
  map_lookup_elem: (args, ctx) => {
    const map = ctx.mapOf(arg(args, 0, "map_lookup_elem"));
    const key = ctx.readBytes(arg(args, 1, "map_lookup_elem"), map.keySize);
    const o = map.lookupObject(key);
    return o ? new InterpPointer(o, 0n) : 0n;
  },
  map_update_elem: (args, ctx) => {
    const map = ctx.mapOf(arg(args, 0, "map_update_elem"));
    const key = ctx.readBytes(arg(args, 1, "map_update_elem"), map.keySize);
    const value = ctx.readBytes(arg(args, 2, "map_update_elem"), map.valueSize);
    const flags = BigInt.asUintN(64, intArg(args, 3, "map_update_elem"));
    // Flags the interpreter does not model (BPF_F_LOCK, ...) are refused like unknown ones.
    return map.update(key, value, flags > BigInt(UpdateFlag.EXIST) ? -1 : Number(flags));
  },
  map_delete_elem: (args, ctx) => {
    const map = ctx.mapOf(arg(args, 0, "map_delete_elem"));
    return map.delete(ctx.readBytes(arg(args, 1, "map_delete_elem"), map.keySize));
  },
  ktime_get_ns: (_args, ctx) => ctx.time,
  // Stand-ins for the current task and the outside world: root, a fixed name, no reader.
  get_current_uid_gid: () => 0n,
  get_current_comm: (args, ctx) => {
    const size = sizeArg(args, 1, "get_current_comm");
    const name = new TextEncoder().encode("luabpf-interp").slice(0, Math.max(0, size - 1));
    const out = new Uint8Array(size);
    out.set(name);
    ctx.writeBytes(arg(args, 0, "get_current_comm"), out);
    return 0n;
  },
  perf_event_output: (args, ctx) => {
    ctx.readBytes(arg(args, 3, "perf_event_output"), sizeArg(args, 4, "perf_event_output"));
    return -2n; // -ENOENT: no reader holds this CPU's slot
  },
  ringbuf_output: (args, ctx) => {
    ctx.readBytes(arg(args, 1, "ringbuf_output"), sizeArg(args, 2, "ringbuf_output"));
    return 0n;
  },
  trace_printk: (args, ctx) => BigInt(ctx.readBytes(arg(args, 0, "trace_printk"), sizeArg(args, 1, "trace_printk")).length),
  get_stackid: () => -14n, // -EFAULT: the interpreter has no stack to walk
  // No kernel or user memory: the read fails and the kernel zero-fills the destination.
  ...Object.fromEntries(
    (["probe_read", "probe_read_str", "probe_read_kernel", "probe_read_user", "probe_read_kernel_str", "probe_read_user_str"] as const).map((name) => [
      name,
      ((args, ctx) => {
        ctx.writeBytes(arg(args, 0, name), new Uint8Array(sizeArg(args, 1, name)));
        return -14n;
      }) satisfies HelperFn,
    ]),
  ),
  get_smp_processor_id: (_args, ctx) => ctx.cpu,
  get_current_pid_tgid: (_args, ctx) => ctx.pidTgid,
  // No kernel memory: the current task is a null pointer (reads through it fail, as above).
  get_current_task: () => 0n,
  // No ring buffer memory: a reservation fails (null, as when the buffer is full).
  ringbuf_reserve: (args) => {
    intArg(args, 1, "ringbuf_reserve");
    return 0n;
  },
  ringbuf_submit: () => 0n,
  ringbuf_discard: () => 0n,
};

/** The built-in helpers, by id. */
export const BUILTIN_HELPERS: Readonly<Record<number, HelperFn>> = Object.freeze(
  Object.fromEntries(Object.entries(IMPLEMENTATIONS).map(([name, fn]) => [BPF_FUNC[name as HelperName], fn])),
);
