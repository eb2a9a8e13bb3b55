/**
 * Running a function of a module in the IR interpreter from the command line (`opt --run`,
 * `experiment`): arguments from text, a context laid out for the function's program type
 * (its packet-pointer fields pointing into the packet, `len` and `protocol` set from the packet),
 * maps that start empty, the interpreter's built-in helpers; the outcome as text — the
 * return value, the instructions executed and every map's entries.
 */
import { CONTEXT_STRUCTS, PROGRAM_TYPES, type ProgramTypeName } from "@luabpf/platform";
import { InterpError, interpret, MapState, type CtxPointerKind, type Function, type InterpArg, type Module } from "@luabpf/ir";
import { UsageError } from "./errors.js";

/** What to run. */
export interface InterpRunRequest {
  /** Function name (without `@`). */
  fn: string;
  /** Arguments as text: integers (`12`, `-1`, `0xff`) or `ctx` (a pointer to the context). Default: `ctx` for a context parameter. */
  args?: readonly string[];
  /** Packet bytes (default: none). */
  packet?: Uint8Array;
  /** Context bytes (default: the program type's context struct, zeroed, with packet pointers and `len`). */
  ctx?: Uint8Array;
  /** Instruction limit (default 1e6). */
  maxSteps?: number;
}

/** What a run did. */
export interface InterpRunOutcome {
  /** The call as text, `@f(ctx, 3)`. */
  call: string;
  /** The return value, or undefined when the program trapped. */
  value: string | undefined;
  /** The trap's message. */
  trap: string | undefined;
  /** Instructions executed (phis and terminators included). */
  steps: number;
  /** The maps after the run, as printed. */
  maps: string[];
}

const PACKET_POINTERS: readonly string[] = ["packet", "packet_end", "packet_meta"];

/** The context bytes and packet-pointer fields for `fn`'s program type, if it is a program. */
function contextFor(fn: Function, packet: Uint8Array): { ctx: Uint8Array; ctxPointers: { offset: number; kind: CtxPointerKind }[] } {
  const type = fn.program ? PROGRAM_TYPES[fn.program.type as ProgramTypeName] : undefined;
  const struct = type?.context ? CONTEXT_STRUCTS[type.context] : undefined;
  if (!struct) return { ctx: new Uint8Array(256), ctxPointers: [] };
  const ctx = new Uint8Array(struct.size);
  const view = new DataView(ctx.buffer);
  const ctxPointers: { offset: number; kind: CtxPointerKind }[] = [];
  for (const f of struct.fields) {
    if (f.pointer && PACKET_POINTERS.includes(f.pointer)) ctxPointers.push({ offset: f.offset, kind: f.pointer as CtxPointerKind });
    if (f.name === "len" && f.size === 4) view.setUint32(f.offset, packet.length, true);
    // skb->protocol: the EtherType as the kernel stores it (network byte order in a u32).
    if (f.name === "protocol" && f.size === 4 && packet.length >= 14) view.setUint32(f.offset, (packet[13]! << 8) | packet[12]!, true);
  }
  return { ctx, ctxPointers };
}

function parseArg(text: string): InterpArg {
  if (text === "ctx") return "ctx";
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(text)) throw new UsageError(`--run: argument '${text}' is not an integer or 'ctx'`, "opt");
  return text.startsWith("-") ? -BigInt(text.slice(1)) : BigInt(text);
}

/** Formats one map's entries: unsigned little-endian integers up to 8 bytes, hex beyond. */
function formatBytes(b: Uint8Array): string {
  if (b.length > 8) return "0x" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v.toString();
}

/** Runs `req.fn` of `module` (which is not changed) and describes the outcome. */
export function interpretFunction(module: Module, req: InterpRunRequest): InterpRunOutcome {
  const fn = module.getFunction(req.fn);
  if (!fn) throw new UsageError(`--run: no function @${req.fn} (functions: ${module.functions.map((f) => `@${f.name}`).join(", ")})`, "opt");
  const given = req.args ?? [];
  const texts = given.length === 0 && fn.params.length === 1 && fn.params[0]!.type.kind === "ptr" ? ["ctx"] : [...given];
  if (texts.length !== fn.params.length) throw new UsageError(`--run: @${fn.name} takes ${fn.params.length} argument(s), ${texts.length} given`, "opt");
  const args = texts.map(parseArg);
  const packet = req.packet ?? new Uint8Array(0);
  const layout = contextFor(fn, packet);
  const maps = new MapState();
  const call = `@${fn.name}(${texts.join(", ")})`;
  let value: string | undefined;
  let trap: string | undefined;
  let steps = 0;
  try {
    const r = interpret(module, fn.name, args, { maps, packet, ctx: req.ctx ?? layout.ctx, ctxPointers: layout.ctxPointers, maxSteps: req.maxSteps ?? 1_000_000 });
    value = typeof r.value === "bigint" ? r.value.toString() : String(r.value);
    steps = r.steps;
  } catch (e) {
    if (!(e instanceof InterpError)) throw e;
    trap = e.message;
  }
  maps.addMissing(module);
  const lines: string[] = [];
  for (const name of maps.names().sort()) {
    const m = maps.get(name);
    if (!m.hasStorage) {
      lines.push(`map @${name}: (not simulated: ${m.kind})`);
      continue;
    }
    const entries = m.entries();
    lines.push(`map @${name}:${entries.length === 0 ? " (empty)" : ""}`);
    for (const [k, v] of entries) lines.push(`  ${formatBytes(k)}: ${formatBytes(v)}`);
  }
  return { call, value, trap, steps, maps: lines };
}

/** The outcome as `opt --run` prints it. */
export function formatRunOutcome(o: InterpRunOutcome): string {
  const head = o.trap !== undefined ? `${o.call} trapped: ${o.trap}` : `${o.call} = ${o.value}`;
  return [head, ...(o.trap !== undefined ? [] : [`executed ${o.steps} instructions`]), ...o.maps].join("\n") + "\n";
}
