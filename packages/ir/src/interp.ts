/**
 * The IR interpreter: the reference semantics that optimisation passes are tested
 * against (run a function before and after a pass, compare results and map state).
 *
 * - Integers are bigints normalized to their type's signed range; arithmetic follows the
 *   eBPF rules in opcodes.ts (`interp/arith.ts`).
 * - Memory is a set of byte objects; a pointer is `(object, offset)`. Stack bytes must be
 *   written before they are read; every access is bounds-checked (`interp/memory.ts`).
 * - Maps are real key/value stores (`interp/maps.ts`); helpers are built in for the map
 *   operations, clock, pid and CPU, and can be supplied by the host (`interp/helpers.ts`).
 * - Each function is compiled per run into closure dispatch tables (`interp/exec.ts`).
 *
 * Traps in the interpreted program are {@link InterpError}s.
 */
import type { Module } from "./module.js";
import { Run } from "./interp/exec.js";
import type { HelperFn } from "./interp/helpers.js";
import { MapState } from "./interp/maps.js";
import type { CtxPointerKind } from "./interp/memory.js";
import { CTX_PLACEHOLDER, InterpError, InterpPointer, MemoryObject, type InterpValue } from "./interp/values.js";

export { evalBinary, evalCast, evalCompare, evalSelect, evalUnary, log2Exact, shiftAmount } from "./interp/arith.js";
export { BUILTIN_HELPERS, type HelperFn, type InterpContext } from "./interp/helpers.js";
export { MapInstance, MapState, type MapBytes } from "./interp/maps.js";
export type { CtxPointerKind } from "./interp/memory.js";
export { ctxPointer, formatValue, InterpError, InterpPointer, MemoryObject, type InterpLocation, type InterpValue, type MemoryKind } from "./interp/values.js";

/** An argument: a value, a JS integer, or `"ctx"` for a pointer to the start of the context. */
export type InterpArg = InterpValue | number | "ctx";

/** Options of {@link interpret}. */
export interface InterpOptions {
  /** Helpers by kernel id; they take precedence over the built-in ones. */
  helpers?: Readonly<Record<number, HelperFn>>;
  /** Map contents to start from; mutated in place and returned (use `clone()` to keep a copy). Default: empty maps. */
  maps?: MapState;
  /** Context bytes (copied). Default: empty. */
  ctx?: Uint8Array;
  /** Packet bytes (copied). Default: empty. */
  packet?: Uint8Array;
  /** ctx offsets whose (4-byte, or pointer-typed) loads yield packet pointers, e.g. `__sk_buff.data`. */
  ctxPointers?: readonly { offset: number; kind: CtxPointerKind }[];
  /** Maximum executed instructions (default 1e6); exceeding it is an InterpError "step limit". */
  maxSteps?: number;
  /** Maximum nesting of `call @f` (default 64). */
  maxCallDepth?: number;
  /** Value returned by `bpf_ktime_get_ns` (default 1e9). */
  time?: bigint;
  /** Value returned by `bpf_get_current_pid_tgid` (default pid = tgid = 4242). */
  pidTgid?: bigint;
  /** Value returned by `bpf_get_smp_processor_id` (default 0). */
  cpu?: number | bigint;
}

/** What a run produced. */
export interface InterpResult {
  /** The return value (0n for a function returning void). */
  value: InterpValue;
  /** Instructions executed, phis and terminators included, callees included. */
  steps: number;
  /** The map state after the run (the `maps` option if given). */
  maps: MapState;
  /** The context bytes after the run. */
  ctx: Uint8Array;
  /** The packet bytes after the run. */
  packet: Uint8Array;
}

/** Default of {@link InterpOptions.pidTgid}. */
export const DEFAULT_PID_TGID = (4242n << 32n) | 4242n;
/** Default of {@link InterpOptions.time}. */
export const DEFAULT_TIME = 1_000_000_000n;

/**
 * Runs function `fnName` of `module` on `args` and returns its result. Throws an
 * {@link InterpError} when the program traps (out-of-bounds or uninitialised access,
 * `unreachable`, step limit, unknown helper or function, ...).
 */
export function interpret(module: Module, fnName: string, args: readonly InterpArg[], options: InterpOptions = {}): InterpResult {
  const fn = module.getFunction(fnName);
  if (!fn) throw new InterpError(`no function @${fnName} in the module`);
  const maps = options.maps ?? new MapState();
  maps.addMissing(module);
  const ctx = new MemoryObject("ctx", "ctx", (options.ctx ?? new Uint8Array(0)).slice());
  const packet = new MemoryObject("packet", "packet", (options.packet ?? new Uint8Array(0)).slice());
  const ctxPointers = new Map<number, CtxPointerKind>();
  for (const { offset, kind } of options.ctxPointers ?? []) ctxPointers.set(offset, kind);
  const run = new Run({
    module,
    maps,
    helpers: options.helpers ?? {},
    ctx,
    packet,
    ctxPointers,
    maxSteps: options.maxSteps ?? 1_000_000,
    maxCallDepth: options.maxCallDepth ?? 64,
    time: options.time ?? DEFAULT_TIME,
    pidTgid: options.pidTgid ?? DEFAULT_PID_TGID,
    cpu: BigInt(options.cpu ?? 0),
  });
  const resolved = args.map((a) => {
    if (a === "ctx") return new InterpPointer(ctx, 0n);
    if (a instanceof InterpPointer && a.object === CTX_PLACEHOLDER) return new InterpPointer(ctx, a.offset);
    return a;
  });
  const value = run.call(fn, resolved, 0);
  return { value, steps: run.steps, maps, ctx: ctx.bytes, packet: packet.bytes };
}
