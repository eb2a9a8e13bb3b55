/**
 * The declarations of the `bpf` module at the top level: maps (`bpf.map`) and programs in
 * every form bcc's bpf.lua accepts, plus luabpf's own:
 *
 *   local prog = bpf(function (skb) ... end)      -- compiled now, attached later
 *   bpf.socket('lo', prog)                        -- or bpf.socket(fn), bpf.socket(fd, fn)
 *   bpf.tc(fn), bpf.xdp(fn)                       -- luabpf (an optional interface first)
 *   bpf.kprobe('myprobe:sys_write', fn, true)     -- probe name:symbol, retprobe, pid, cpu, group fd
 *   bpf.kretprobe('sys_write', fn)                -- luabpf
 *   bpf.uprobe('/bin/bash:readline', fn, true)    -- path:symbol, retprobe, pid, cpu, group fd
 *   bpf.uretprobe('/bin/bash:readline', fn)       -- luabpf
 *   bpf.tracepoint('sched/sched_switch', fn)      -- category/name, pid, cpu, group fd
 *   bpf.raw_tracepoint('sched_switch', fn)        -- luabpf: args[0], args[1], ...
 *   bpf.fentry('fn', f), bpf.fexit('fn', f)       -- luabpf: f's parameters are fn's arguments
 *   bpf.tp_btf('sched_process_fork', f)           -- luabpf: a BTF tracepoint, f's parameters its arguments
 *
 * A program's section follows libbpf's naming (`kprobe/sys_write`, `uprobe//bin/bash:readline`,
 * `tracepoint/sched/sched_switch`); what the attach call said besides (interface, probe
 * name, pid, cpu, ...) is recorded for the loader (`ProgramDecl.attach`). A function is
 * compiled with its upvalues as they are at the declaration (bcc compiles it then).
 * `bpf(fn)` that no attach call takes is a socket filter, bcc's default context.
 */
import type * as lua from "luaparse";
import { arrayOf, i8, C_INTS, cArrayOf, cIsComplete, cSizeof, cTypedefOf, dataTypeOfC, describeCType, type CType, type MapKind } from "@luabpf/ir";
import { isMapTypeName, MAP_TYPE_NAMES, mapType } from "@luabpf/platform";
import { PROGRAM_KINDS, MAP_DEFAULTS } from "../builtins.js";
import { describeStatic, NIL, type FunctionValue, type MapInfo, type ProgramDecl, type StaticValue } from "../values.js";
import { ctypeArg } from "./library.js";
import type { TopLevelInterpreter } from "./interpreter.js";

/** How each `bpf.<name>` program declaration is written. */
interface DeclarationForm {
  /** The program kind of builtins.ts (its program type, context, section prefix). */
  readonly kind: string;
  /** The first argument is a target string: `symbol`, `name:symbol`, `path:symbol`, `category/name`. */
  readonly target?: "kprobe" | "uprobe" | "tracepoint";
  /** A retprobe flag follows the function (bcc's kprobe/uprobe): true turns `kind` into `retKind`. */
  readonly retKind?: string;
  /** Names of the arguments after the function (recorded for the loader). */
  readonly extra: readonly string[];
  readonly usage: string;
}

export const PROGRAM_DECLARATIONS: Readonly<Record<string, DeclarationForm>> = {
  socket: { kind: "socket", extra: [], usage: "bpf.socket('eth0', function (skb) ... end)" },
  tc: { kind: "tc", extra: [], usage: "bpf.tc(function (skb) ... end)" },
  xdp: { kind: "xdp", extra: [], usage: "bpf.xdp(function (ctx) ... end)" },
  kprobe: { kind: "kprobe", target: "kprobe", retKind: "kretprobe", extra: ["retprobe", "pid", "cpu", "group_fd"], usage: "bpf.kprobe('name:symbol', function (ptregs) ... end[, retprobe])" },
  kretprobe: { kind: "kretprobe", target: "kprobe", extra: ["pid", "cpu", "group_fd"], usage: "bpf.kretprobe('symbol', function (ptregs) ... end)" },
  uprobe: { kind: "uprobe", target: "uprobe", retKind: "uretprobe", extra: ["retprobe", "pid", "cpu", "group_fd"], usage: "bpf.uprobe('/path/to/binary:symbol', function (ptregs) ... end[, retprobe])" },
  uretprobe: { kind: "uretprobe", target: "uprobe", extra: ["pid", "cpu", "group_fd"], usage: "bpf.uretprobe('/path/to/binary:symbol', function (ptregs) ... end)" },
  tracepoint: { kind: "tracepoint", target: "tracepoint", extra: ["pid", "cpu", "group_fd"], usage: "bpf.tracepoint('category/name', function (args) ... end)" },
  raw_tracepoint: { kind: "raw_tracepoint", target: "kprobe", extra: [], usage: "bpf.raw_tracepoint('name', function (args) ... end)" },
  fentry: { kind: "fentry", target: "kprobe", extra: [], usage: "bpf.fentry('kernel_function', function (arg1, arg2, ...) ... end)" },
  fexit: { kind: "fexit", target: "kprobe", extra: [], usage: "bpf.fexit('kernel_function', function (arg1, ..., ret) ... end)" },
  tp_btf: { kind: "tp_btf", target: "kprobe", extra: [], usage: "bpf.tp_btf('tracepoint', function (arg1, arg2, ...) ... end)" },
};

/**
 * `bpf.<form>(...)` or `bpf(fn)` (form "bpf"): declares a program; returns the program
 * value (what bcc returns is a handle of the loaded program).
 */
export function declareProgram(t: TopLevelInterpreter, formName: string, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[]): StaticValue {
  const at = (i: number): lua.Node => argNodes[i] ?? node;
  if (formName === "bpf") {
    const f = args[0] ?? NIL;
    if (f.kind !== "function") return t.fail(at(0), `bpf(...) compiles a function, not ${describeStatic(f)} (usage: local prog = bpf(function (skb) ... end))`);
    if (args.length > 1) return t.fail(at(1), "bpf(...) takes one function");
    const decl = newProgram(t, "socket", withClosure(t, f), node, {}, "");
    decl.attached = false;
    return { kind: "program", program: decl };
  }
  const form = PROGRAM_DECLARATIONS[formName]!;
  const usage = `usage: ${form.usage}`;
  let i = 0;
  const attach: Record<string, string | number | boolean> = {};
  let target = "";
  if (form.target) {
    const v = args[0] ?? NIL;
    if (v.kind !== "string" || v.value === "") return t.fail(at(0), `bpf.${formName} needs the ${targetWhat(form.target)} as a string first argument (${usage})`);
    const parsed = parseTarget(t, form.target, v.value, at(0));
    target = parsed.target;
    Object.assign(attach, parsed.attach);
    i = 1;
  } else if (args.length >= 2 && args[0]?.kind !== "function" && args[0]?.kind !== "program") {
    // bcc: an interface name, a socket fd, or an ljsyscall socket.
    const sock = args[0]!;
    if (sock.kind === "string") attach.interface = sock.value;
    else if (sock.kind === "integer") attach.fd = Number(sock.value);
    else if (sock.kind !== "opaque") return t.fail(at(0), `the first of two arguments to bpf.${formName} must be an interface name string (${usage})`);
    i = 1;
  }
  const fnArg = args[i] ?? NIL;
  if (args.length <= i) return t.fail(node, `bpf.${formName} needs a function (${usage})`);
  let kindName = form.kind;
  const rest = args.slice(i + 1);
  if (rest.length > form.extra.length) return t.fail(at(i + 1 + form.extra.length), `too many arguments to bpf.${formName} (${usage})`);
  rest.forEach((v, k) => {
    const name = form.extra[k]!;
    if (name === "retprobe") {
      if (v.kind !== "nil" && v.kind !== "boolean") t.fail(at(i + 1 + k), `the retprobe argument of bpf.${formName} must be true or false`);
      if (v.kind === "boolean" && v.value) kindName = form.retKind!;
      return;
    }
    if (v.kind === "integer") attach[name] = Number(v.value);
    else if (v.kind !== "nil") t.fail(at(i + 1 + k), `the ${name} argument of bpf.${formName} must be a number`);
  });
  if (fnArg.kind === "program") {
    // `bpf.socket('lo', prog)` with `prog = bpf(function ... end)`.
    const p = fnArg.program;
    if (p.attached) {
      const copy = newProgram(t, kindName, p.fn, node, attach, target);
      return { kind: "program", program: copy };
    }
    retarget(t, p, kindName, node, attach, target);
    return fnArg;
  }
  if (fnArg.kind !== "function") {
    if (fnArg.kind === "string") return t.fail(at(i), `bpf.${formName} needs a function; Lua source in a string is not supported (${usage})`);
    return t.fail(at(i), `bpf.${formName} needs a function, not ${describeStatic(fnArg)} (${usage})`);
  }
  return { kind: "program", program: newProgram(t, kindName, withClosure(t, fnArg), node, attach, target) };
}

function targetWhat(target: "kprobe" | "uprobe" | "tracepoint"): string {
  return target === "kprobe" ? "kernel symbol to probe" : target === "uprobe" ? "binary and symbol to probe ('/path:symbol')" : "tracepoint ('category/name')";
}

/** Splits bcc's target strings: `name:symbol` (kprobe), `path:symbol` (uprobe), `category/name` (tracepoint). */
function parseTarget(t: TopLevelInterpreter, kind: "kprobe" | "uprobe" | "tracepoint", text: string, node: lua.Node): { target: string; attach: Record<string, string> } {
  switch (kind) {
    case "kprobe": {
      // bcc: 'probe_name:symbol' (the name of the trace event it creates); a bare symbol is luabpf's form.
      const colon = text.indexOf(":");
      if (colon < 0) return { target: text, attach: { symbol: text } };
      const symbol = text.slice(colon + 1);
      if (symbol === "") return t.fail(node, `no kernel symbol after ':' in '${text}'`);
      return { target: symbol, attach: { probe: text.slice(0, colon), symbol } };
    }
    case "uprobe": {
      const colon = text.lastIndexOf(":");
      // A C++ symbol contains '::': split at the first ':' that follows the path.
      const first = text.indexOf(":");
      const split = first >= 0 ? first : colon;
      if (split <= 0 || split === text.length - 1) return t.fail(node, `expected '/path/to/binary:symbol', not '${text}'`);
      const path = text.slice(0, split);
      const symbol = text.slice(split + 1);
      return { target: `${path}:${symbol}`, attach: { path, symbol } };
    }
    case "tracepoint": {
      if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(text)) return t.fail(node, `expected a tracepoint 'category/name', not '${text}'`);
      return { target: text, attach: { tracepoint: text } };
    }
  }
}

function withClosure(t: TopLevelInterpreter, f: FunctionValue): FunctionValue {
  // Spelled out: a spread of the value was ~1 % of a warm front end.
  return { kind: "function", node: f.node, env: f.env, name: f.name, closure: { env: f.env, time: t.clock.now } };
}

function newProgram(t: TopLevelInterpreter, kindName: string, fn: FunctionValue, node: lua.Node, attach: Record<string, string | number | boolean>, target: string): ProgramDecl {
  const kind = PROGRAM_KINDS[kindName];
  if (!kind) return t.fail(node, `${kindName} programs are not supported`);
  const decl: ProgramDecl = { kindName, kind, section: kind.section(target), fn, node, attach, attached: true };
  t.programs.push(decl);
  return decl;
}

function retarget(t: TopLevelInterpreter, p: ProgramDecl, kindName: string, node: lua.Node, attach: Record<string, string | number | boolean>, target: string): void {
  const kind = PROGRAM_KINDS[kindName];
  if (!kind) return t.fail(node, `${kindName} programs are not supported`);
  p.kindName = kindName;
  p.kind = kind;
  p.section = kind.section(target);
  p.attach = attach;
  p.attached = true;
}

// ---- maps ----

const MAP_ARGUMENTS = ["map type", "max_entries", "key type", "value type"];

/** bcc's `struct bpf_stacktrace`: the value of a stack_trace map (127 frames). */
const STACK_FRAMES = 127;

/** `bpf.map(type, max_entries, key_type, value_type)` with bcc's defaults. */
export function declareMap(t: TopLevelInterpreter, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[]): StaticValue {
  const at = (i: number): lua.Node => argNodes[i] ?? node;
  if (args.length > MAP_ARGUMENTS.length) {
    return t.fail(at(MAP_ARGUMENTS.length), `too many arguments to bpf.map (expected at most ${MAP_ARGUMENTS.length}: map type, max_entries, key type, value type)`);
  }
  const type = args[0];
  const known = (): string => SUPPORTED_MAP_KINDS.join(", ");
  if (!type) return t.fail(node, "bpf.map needs a map type, e.g. bpf.map('hash', 1024, 'uint32_t', 'uint64_t')");
  if (type.kind !== "string") return t.fail(at(0), `the map type must be a string (one of ${known()})`);
  if (!SUPPORTED_MAP_KINDS.includes(type.value as MapKind)) {
    const why = isMapTypeName(type.value) ? `map type '${type.value}' is not supported by luabpf programs` : `unknown map type '${type.value}'`;
    return t.fail(at(0), `${why} (expected one of ${known()})`);
  }
  const kind = type.value as MapKind;
  const info = mapType(kind);
  let maxEntries: number = MAP_DEFAULTS.maxEntries;
  const maxArg = args[1];
  if (maxArg && maxArg.kind !== "nil") {
    if (maxArg.kind === "integer" && maxArg.value > 0n && maxArg.value <= 0xffff_ffffn) maxEntries = Number(maxArg.value);
    else return t.fail(at(1), "max_entries must be a positive integer (below 2^32)");
    const limit = info.maxEntries;
    if (limit !== undefined && maxEntries > limit) {
      return t.fail(at(1), `${kind} maps hold at most ${limit} (2^${Math.log2(limit)}) entries: the kernel refuses larger hash tables`);
    }
  }
  let key: CType;
  let value: CType;
  if (kind === "stack_trace") {
    // bcc: stack traces are keyed by a stack id and hold `struct bpf_stacktrace`.
    key = cTypedefOf("int32_t", C_INTS.int);
    value = cArrayOf(cTypedefOf("uint64_t", C_INTS["unsigned long long"]), STACK_FRAMES);
  } else {
    key = mapCType(t, args[2], at(2), "key");
    value = mapCType(t, args[3], at(3), "value");
  }
  const keySize = info.requiredKeySize();
  const valueSize = info.requiredValueSize();
  if (keySize === 0) {
    // Ring buffers: no key or value; max_entries is the buffer size in bytes.
    if (maxEntries < 4096 || (maxEntries & (maxEntries - 1)) !== 0) return t.fail(at(1), `a ${kind} map's max_entries is its size in bytes: a power of two of at least 4096`);
  } else {
    if (keySize !== undefined && cSizeof(key) !== keySize) {
      return t.fail(at(2), `${kind} maps need a ${keySize}-byte key type such as uint32_t`);
    }
    if (valueSize !== undefined && cSizeof(value) !== valueSize) return t.fail(at(3), `${kind} maps need a ${valueSize}-byte value type such as uint32_t`);
    if (cSizeof(key) === 0) return t.fail(at(2), `the map key type '${describeCType(key)}' has no size`);
    if (cSizeof(value) === 0) return t.fail(at(3), `the map value type '${describeCType(value)}' has no size`);
  }
  const decl = {
    name: "",
    kind,
    key: keySize === 0 ? arrayOf(i8, 0) : dataTypeOfC(key),
    value: keySize === 0 ? arrayOf(i8, 0) : dataTypeOfC(value),
    maxEntries,
    flags: 0,
    ...(keySize === 0 ? {} : { keyType: key, valueType: value }),
  };
  const map: MapInfo = { decl, kind, key, value, localName: undefined, node };
  t.maps.push(map);
  return { kind: "map", map };
}

/** The map kinds programs can use (lookups, updates, perf output, ring buffers, stack ids). */
export const SUPPORTED_MAP_KINDS: readonly MapKind[] = ["array", "hash", "percpu_array", "percpu_hash", "lru_hash", "lru_percpu_hash", "perf_event_array", "stack_trace", "ringbuf"].filter((k) =>
  (MAP_TYPE_NAMES as readonly string[]).includes(k),
) as MapKind[];

function mapCType(t: TopLevelInterpreter, v: StaticValue | undefined, node: lua.Node, what: "key" | "value"): CType {
  if (!v || v.kind === "nil") return ctypeArg(t, { kind: "string", value: what === "key" ? MAP_DEFAULTS.key : MAP_DEFAULTS.value }, node);
  if (v.kind !== "string" && v.kind !== "ctype") return t.fail(node, `the map ${what} type must be a C type: a name such as 'uint32_t' or ffi.typeof(...)`);
  const ct = ctypeArg(t, v, node);
  if (!cIsComplete(ct)) return t.fail(node, `the map ${what} type '${describeCType(ct)}' is incomplete`);
  return ct;
}
