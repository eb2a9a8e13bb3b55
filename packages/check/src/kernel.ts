/**
 * The kernel side of differential testing: compile a program file with the luabpf driver
 * at one optimisation level, load it (the real verifier decides), run its program with
 * `BPF_PROG_TEST_RUN` on a sequence of inputs, and read every map entry back.
 *
 * Results are plain data (numbers as decimal strings) so that they can be compared with
 * the Lua 5.4 oracle's, printed, and sent between processes.
 */
import { CompileError, InternalError } from "@luabpf/ir";
import { BpfError, LoaderError, loadObject, VerifierError, type LoadedObject, type MapHandle } from "@luabpf/loader";
import { mapTypeById, PROGRAM_TYPES, sectionRule } from "@luabpf/platform";
import { compileSource, type DriverOptions } from "luabpf";

/**
 * One run of a program: for a socket or tc program the packet (from its Ethernet header) and
 * the context fields a test run may set; for a raw tracepoint program the traced call's
 * arguments (the packet is then empty).
 */
export interface ProgramInput {
  /** The frame, from the Ethernet header (empty for a raw tracepoint). */
  readonly packet: Uint8Array;
  /** A raw tracepoint's arguments `args[0]`, `args[1]`, ... as unsigned 64-bit decimal integers. */
  readonly args?: readonly string[];
  /** `skb.mark` (default 0). */
  readonly mark?: number;
  /** `skb.priority` (default 0). */
  readonly priority?: number;
}

/**
 * Map contents: map name → key → value, both as unsigned decimal integers of the map's key
 * and value widths. Array maps list only their non-zero elements (every key of an array
 * exists, holding zero until written); hash maps list every element.
 */
export type MapSnapshot = Record<string, Record<string, string>>;

/** What running a program on a sequence of inputs observed. */
export interface Observation {
  /** The return value of each run, as the kernel reports it (the low 32 bits, unsigned). */
  readonly returns: number[];
  /** Every map after the last run. */
  readonly maps: MapSnapshot;
}

/** The outcome of compiling, loading and running a program file on the kernel. */
export type KernelOutcome =
  | { readonly kind: "ok"; readonly observation: Observation }
  /** The compiler refused the file (a located user error). */
  | { readonly kind: "compile-error"; readonly message: string }
  /** The compiler failed: an internal error or an unexpected exception — always a bug. */
  | { readonly kind: "internal-error"; readonly message: string }
  /** The kernel verifier rejected an object the compiler produced. */
  | { readonly kind: "rejected"; readonly message: string }
  /** The kernel refused something else (a map, a program type). */
  | { readonly kind: "load-error"; readonly message: string };

/**
 * `struct __sk_buff` fields that `BPF_PROG_TEST_RUN` accepts in `ctx_in` for skb programs
 * (the kernel rejects non-zero bytes anywhere else), by byte offset.
 */
const SKB_CTX_IN = { mark: 8, priority: 32 } as const;
/**
 * `sizeof(struct __sk_buff)` (its BTF says 192 on Linux 6.18): the kernel writes the whole
 * context back to `ctx_out`, of the size of `ctx_in`, and refuses a smaller buffer (ENOSPC).
 */
const SKB_CTX_IN_SIZE = 192;

/** The `ctx_in` of a socket or tc test run. */
export function skbContextIn(input: ProgramInput): Uint8Array {
  const bytes = new Uint8Array(SKB_CTX_IN_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(SKB_CTX_IN.mark, (input.mark ?? 0) >>> 0, true);
  view.setUint32(SKB_CTX_IN.priority, (input.priority ?? 0) >>> 0, true);
  return bytes;
}

/** The `ctx_in` of a raw tracepoint test run: its arguments, 64 bits each, little-endian. */
export function rawTracepointContextIn(input: ProgramInput): Uint8Array {
  const args = input.args ?? [];
  const bytes = new Uint8Array(8 * args.length);
  const view = new DataView(bytes.buffer);
  args.forEach((a, k) => view.setBigUint64(8 * k, BigInt.asUintN(64, BigInt(a)), true));
  return bytes;
}

/** Options of {@link runOnKernel}. */
export interface KernelRunOptions {
  /** File name for diagnostics. */
  readonly file?: string;
  readonly optLevel: 0 | 1 | 2;
  /** Inputs, run in order; maps keep their contents from one run to the next. */
  readonly inputs: readonly ProgramInput[];
  /** More driver options (a pipeline, a pass registry), e.g. to test the tester with a broken pass. */
  readonly driver?: Omit<DriverOptions, "file" | "optLevel">;
}

/**
 * Compiles `source`, loads it and runs its (only) socket, tc or raw tracepoint program on each
 * input (a raw tracepoint runs in the calling thread: `task()` is this process).
 * Never throws for a program the compiler or kernel refuses: the outcome says which.
 */
export function runOnKernel(source: string, options: KernelRunOptions): KernelOutcome {
  let object;
  try {
    object = compileSource(source, { ...options.driver, file: options.file ?? "prog.lua", optLevel: options.optLevel }).object;
  } catch (e) {
    if (e instanceof CompileError) return { kind: "compile-error", message: e.message };
    return { kind: "internal-error", message: e instanceof InternalError ? e.message : String((e as Error)?.stack ?? e) };
  }
  // Socket filters, tc classifiers and raw tracepoints (what the section rules of the platform table say the section is).
  const typeOf = (section: string) => sectionRule(section)?.type;
  const runnable = object.programs.filter((p) => RUNNABLE.has(typeOf(p.section) ?? ""));
  if (runnable.length !== 1) return { kind: "load-error", message: `expected one socket, tc or raw tracepoint program, found ${runnable.length}` };
  const program = runnable[0]!;
  let loaded: LoadedObject;
  try {
    loaded = loadObject(object);
  } catch (e) {
    if (e instanceof VerifierError) return { kind: "rejected", message: e.message };
    if (e instanceof BpfError || e instanceof LoaderError) return { kind: "load-error", message: e.message };
    throw e;
  }
  try {
    const handle = loaded.programs.get(program.name)!;
    const returns: number[] = [];
    // How the kernel's test run takes this program type (the platform's table).
    const testRun = PROGRAM_TYPES[typeOf(program.section)!].testRun;
    for (const input of options.inputs) {
      try {
        const run =
          testRun === "ctx"
            ? // A raw tracepoint runs on its arguments alone: no data, no context out, `repeat` 0.
              handle.testRun(new Uint8Array(0), { ctxIn: rawTracepointContextIn(input), ctxOut: false, repeat: 0 })
            : handle.testRun(testRun === "packet_l3" ? asSeenByPacketSocket(input.packet) : input.packet, { ctxIn: skbContextIn(input) });
        returns.push(run.retval);
      } catch (e) {
        if (e instanceof BpfError) return { kind: "load-error", message: `the test run was refused: ${e.message}` };
        throw e;
      }
    }
    const kinds = new Map(object.maps.map((m) => [m.name, m.type]));
    const maps: MapSnapshot = {};
    for (const [name, map] of loaded.maps) maps[name] = snapshot(map, isArrayKind(kinds.get(name)));
    return { kind: "ok", observation: { returns, maps } };
  } finally {
    loaded.close();
  }
}

/** The program types {@link runOnKernel} runs. */
const RUNNABLE: ReadonlySet<string> = new Set(["socket_filter", "sched_cls", "raw_tracepoint"]);

/**
 * \`BPF_PROG_TEST_RUN\` hands a socket filter the packet from its network header (it consumes
 * an Ethernet header first); a copy of the Ethernet header in front makes the program see
 * exactly \`frame\`, as on a packet socket. (The same rule as \`luabpf run\`.)
 */
export function asSeenByPacketSocket(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 14);
  out.set(frame.subarray(0, 14), 0);
  out.set(frame, 14);
  return out;
}

/** Array-like map types (elements always exist), by the platform table. */
function isArrayKind(type: number | undefined): boolean {
  return type !== undefined && (mapTypeById(type)?.isArrayLike() ?? false);
}

/** Little-endian bytes as an unsigned decimal integer. */
export function unsignedLe(bytes: Uint8Array): string {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v.toString();
}

/**
 * A map's entries. A per-CPU map's test runs all happen on the CPU the test ran on; its
 * value is the sum over CPUs (every other CPU's copy is still zero).
 */
function snapshot(map: MapHandle, array: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: [Uint8Array, Uint8Array | Uint8Array[]][] = [...(map.entries() as Iterable<[Uint8Array, Uint8Array | Uint8Array[]]>)];
  const width = BigInt(map.valueSize * 8);
  for (const [key, value] of entries) {
    const v = Array.isArray(value) ? BigInt.asUintN(Number(width), value.reduce((s, x) => s + BigInt(unsignedLe(x)), 0n)).toString() : unsignedLe(value);
    if (array && v === "0") continue;
    out[unsignedLe(key)] = v;
  }
  return sortKeys(out);
}

/** The same record with keys in numeric order (stable printing and comparison). */
export function sortKeys(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))) out[k] = r[k]!;
  return out;
}
