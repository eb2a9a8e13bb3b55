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
  get_smp_processor_id: (_args, ctx) => ctx.cpu,
  get_current_pid_tgid: (_args, ctx) => ctx.pidTgid,
};

/** The built-in helpers, by id. */
export const BUILTIN_HELPERS: Readonly<Record<number, HelperFn>> = Object.freeze(
  Object.fromEntries(Object.entries(IMPLEMENTATIONS).map(([name, fn]) => [BPF_FUNC[name as HelperName], fn])),
);
