/**
 * The library of program bodies: bcc's built-ins (builtins.lua) and the parts of `ffi`,
 * `bit`, `math` and `table` bcc compiles, each lowered to IR:
 *
 *   time() cpu() pid_tgid() uid_gid()   call helper ktime_get_ns / get_smp_processor_id /
 *                                       get_current_pid_tgid / get_current_uid_gid ()
 *   comm(buf)                           call helper get_current_comm (&buf, sizeof buf)
 *   perf_submit(map, data)              call helper perf_event_output (ctx, map, BPF_F_CURRENT_CPU, &data, sizeof data)
 *   table.insert(map, data)             the same (ring buffers: ringbuf_output (map, &data, sizeof data, 0))
 *   stack_id(map, flags)                call helper get_stackid (ctx, map, flags)
 *   probe_read(dst, src[, n])           call helper probe_read_kernel|user (&dst, n or sizeof dst, src)
 *   load_bytes(off, buf)                call helper skb_load_bytes (ctx, off, &buf, sizeof buf)
 *   print(fmt, a, b, c)                 call helper trace_printk (fmt on the stack, sizeof fmt, a, b, c)
 *   xadd(r, n)                          atomic.add (maps.ts)
 *   ffi.new(T[, init...])              a zero-filled stack object, then LuaJIT's initializers (initializers.ts)
 *   ffi.string(x[, n])                  a string constant, or a char view of C data (n bytes from a pointer: probe_read)
 *   ffi.cast / copy / fill / sizeof / typeof / offsetof / alignof
 *   bit.band ... bit.tobit              64-bit ALU operations (bitmath.ts defines them)
 *   math.log2 / log10 / log             floor(log2(x)) by a branch-free binary search (sign-bit tests); bcc's scalings
 *   math.min / max / abs                select
 *   ntoh(x[, bits]) hton(x[, bits])     bswap of the operand's width (its C type's when known, else 64)
 *   BPF.F_*                             helper flag constants (BPF.F_FAST_STACK_CMP, ...)
 */
import { BPF_FUNC, HelperFlag, TC_ACTIONS, XDP_ACTIONS } from "@luabpf/platform";
import { cAlignof, cFindMember, cIsComplete, cResolve, cScalarInt, cSizeof, describeCType, i16, i32, i64, intTypeOfSize, type CType, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { BIT_ARITY, mathLog, type BitFunction } from "../bitmath.js";
import { CDeclError, parseCTypeName } from "../ctypes/index.js";
import { constantValue } from "../runtime.js";
import { silentError } from "../diagnostics.js";
import { PROTOCOL_CONSTANTS } from "../dissectors.js";
import { describeStatic, StaticTable, type StaticValue } from "../values.js";
import type { BodyLowering } from "./body.js";
import { initializerOf, initializeNew } from "./initializers.js";
import { atomicAdd } from "./maps.js";
import { copyPlace, describeRValue, isAggregate, loadPointer, newStackObject, placeAddress, probeRead, requireAddress, zeroFill } from "./memory.js";
import { packetAdvance } from "./packet.js";
import { stringBytes, storeStringBytes } from "./strings.js";
import { callTracing, dataLocPointer, TRACING_GLOBALS } from "./tracing.js";
import { NIL_VALUE, staticValue, type Place, type RValue } from "./values.js";

/** Names every program body can use besides the top level's (bcc's environment of bodies). */
const GLOBALS: Readonly<Record<string, StaticValue>> = {
  xadd: { kind: "library", name: "xadd" },
  time: { kind: "library", name: "time" },
  cpu: { kind: "library", name: "cpu" },
  pid_tgid: { kind: "library", name: "pid_tgid" },
  uid_gid: { kind: "library", name: "uid_gid" },
  comm: { kind: "library", name: "comm" },
  perf_submit: { kind: "library", name: "perf_submit" },
  stack_id: { kind: "library", name: "stack_id" },
  probe_read: { kind: "library", name: "probe_read" },
  load_bytes: { kind: "library", name: "load_bytes" },
  ntoh: { kind: "library", name: "bpf.ntoh" },
  hton: { kind: "library", name: "bpf.hton" },
  BPF: { kind: "library", name: "BPF" },
  ...Object.fromEntries(TRACING_GLOBALS.map((name) => [name, { kind: "library", name } as StaticValue])),
};

type TableEntries = ReadonlyMap<string, { key: StaticValue; value: StaticValue }>;

/** Each group of {@link PROTOCOL_CONSTANTS} as the entries of a compile-time table (made on first use). */
let protocolGroups: readonly [string, TableEntries][] | undefined;

function protocolGroupEntries(): readonly [string, TableEntries][] {
  protocolGroups ??= Object.entries(PROTOCOL_CONSTANTS).map(([group, entries]) => {
    const t = new StaticTable();
    for (const [k, v] of Object.entries(entries)) t.set({ kind: "string", value: k }, { kind: "integer", value: BigInt(v) });
    return [group, t.entries];
  });
  return protocolGroups;
}

/**
 * The protocol constants bcc's bodies see as `c` (proto.lua): `c.eth.ip`, `c.ip.proto_udp`,
 * ... Each use gets tables of its own (a table's identity keys the specialisations of the
 * Lua functions it is passed to), copied from prebuilt entries.
 */
function protoConstants(): StaticValue {
  const c = new StaticTable();
  for (const [group, entries] of protocolGroupEntries()) c.set({ kind: "string", value: group }, { kind: "table", table: new StaticTable(entries) });
  return { kind: "table", table: c };
}

/** Program verdicts by name (`XDP_DROP`, `TC_ACT_SHOT`, ...), from the platform's tables. */
const VERDICTS: Readonly<Record<string, bigint>> = Object.freeze({
  ...Object.fromEntries(XDP_ACTIONS.map((name, value) => [name, BigInt(value)])),
  ...Object.fromEntries(Object.entries(TC_ACTIONS).map(([value, name]) => [name, BigInt(value)])),
});

/** A body-only global, or undefined. */
export function BODY_GLOBALS(L: BodyLowering, id: lua.Identifier): StaticValue | undefined {
  const name = id.name;
  if (name === "pkt" || name === "eth") {
    if (!L.program.kind.packetAccess) L.fail(id, `'${name}' (packet access) is only available in socket, tc and XDP programs, not in ${L.program.kindName} programs`);
    return { kind: "packet", position: { header: "eth", offset: 0, index: undefined } };
  }
  if (name === "c") return protoConstants();
  if (Object.hasOwn(VERDICTS, name)) return { kind: "integer", value: VERDICTS[name]! };
  if (name === "bpf" || name === "ffi" || name === "bit" || name === "math" || name === "table") return { kind: "library", name };
  return Object.hasOwn(GLOBALS, name) ? GLOBALS[name] : undefined;
}

/** `v.name` for a library, a C type or ffi.C in a body. */
export function libraryMember(L: BodyLowering, v: StaticValue, name: string, node: lua.Node): RValue {
  if (v.kind === "ctype") {
    const r = cResolve(v.type);
    if ((r.kind === "struct" || r.kind === "union") && r.constants.has(name)) return L.ops.number(L.b.const(r.constants.get(name)!));
    return L.fail(node, `${describeCType(v.type)} has no constant '${name}'`);
  }
  if (v.kind === "cnamespace") {
    const c = v.scope.lookupConstant(name);
    if (!c) return L.fail(node, `ffi.C.${name} is not a constant declared with ffi.cdef`);
    return L.ops.number(L.b.const(c.value));
  }
  if (v.kind !== "library") return L.fail(node, `attempt to index ${describeStatic(v)}`);
  if (v.name === "BPF") {
    const flag = name.startsWith("F_") ? name.slice(2) : name;
    if (Object.hasOwn(HelperFlag, flag)) return L.ops.number(L.b.const(HelperFlag[flag as keyof typeof HelperFlag]));
    return L.fail(node, `BPF.${name} is not a known constant (known: ${Object.keys(HelperFlag).map((k) => `F_${k}`).join(", ")})`);
  }
  if (v.name === "ffi" && name === "C") return staticValue({ kind: "cnamespace", scope: L.unit.top.cscope });
  if (v.name === "math" && (name === "maxinteger" || name === "mininteger")) return L.ops.number(L.b.const(name === "maxinteger" ? 0x7fff_ffff_ffff_ffffn : -0x8000_0000_0000_0000n));
  const qualified = `${v.name}.${name}`;
  if (v.name === "bpf" && name === "map") return L.fail(node, "bpf.map can only be called at the top level of the file");
  if (["bpf", "ffi", "bit", "math", "table", "string"].includes(v.name)) return staticValue({ kind: "library", name: qualified });
  return L.fail(node, `attempt to index ${describeStatic(v)} (field '${name}')`);
}

/** Calls library function `name` in a body. */
export function callLibrary(L: BodyLowering, name: string, e: lua.Expression, callee: lua.Expression, argNodes: readonly lua.Expression[]): RValue {
  const args = () => argNodes.map((a) => L.expression(a));
  const arity = (n: number, usage: string) => {
    if (argNodes.length !== n) L.fail(argNodes[n] ?? e, `${usage} takes ${n === 0 ? "no arguments" : n === 1 ? "one argument" : `${n} arguments`}`);
  };
  const helper0 = (h: keyof typeof BPF_FUNC) => {
    if (argNodes.length > 0) return L.fail(argNodes[0]!, `${name}() takes no arguments`);
    return L.ops.number(L.b.callHelper(BPF_FUNC[h], []));
  };
  if (name.startsWith("bit.")) return bitCall(L, name.slice(4), argNodes, e);
  switch (name) {
    case "time":
      return helper0("ktime_get_ns");
    case "cpu":
      return helper0("get_smp_processor_id");
    case "pid_tgid":
      return helper0("get_current_pid_tgid");
    case "uid_gid":
      return helper0("get_current_uid_gid");
    case "xadd": {
      if (argNodes.length !== 2) return L.fail(argNodes[2] ?? e, "xadd takes two arguments: xadd(map[key], n)");
      const target = L.expression(argNodes[0]!);
      const n = L.number(L.expression(argNodes[1]!), argNodes[1]!, "perform arithmetic on");
      atomicAdd(L, target, n, argNodes[0]!, e);
      return NIL_VALUE;
    }
    case "comm": {
      arity(1, "comm(buffer)");
      const buf = bufferArg(L, L.expression(argNodes[0]!), argNodes[0]!, "comm(buffer)");
      const addr = placeAddress(L, buf, argNodes[0]!, "comm(buffer)");
      return L.ops.number(L.at(e, () => L.b.callHelper(BPF_FUNC.get_current_comm, [addr, L.b.const(cSizeof(buf.type))])));
    }
    case "perf_submit":
    case "table.insert":
      return submit(L, name, argNodes, e);
    case "stack_id": {
      if (argNodes.length < 1 || argNodes.length > 2) return L.fail(argNodes[2] ?? e, "stack_id takes a stack_trace map and optional flags: stack_id(map, flags)");
      const map = mapArg(L, argNodes[0]!, "stack_id(map, flags)");
      if (map.kind !== "stack_trace") return L.fail(argNodes[0]!, `stack_id needs a stack_trace map, not the ${map.kind} map '${map.decl.name}'`);
      const flags = argNodes[1] ? L.number(L.expression(argNodes[1]), argNodes[1], "use as flags") : L.b.const(0);
      return L.ops.number(L.at(e, () => L.b.callHelper(BPF_FUNC.get_stackid, [L.ctx, L.b.mapRef(map.decl.name), flags])));
    }
    case "probe_read":
      return copy(L, argNodes, e, "probe_read");
    case "ffi.copy":
      return copy(L, argNodes, e, "ffi.copy");
    case "load_bytes": {
      arity(2, "load_bytes(offset, buffer)");
      if (!L.program.kind.packetAccess || L.program.kind.context.struct !== "__sk_buff") return L.fail(callee, `load_bytes reads the packet of socket and tc programs, not of ${L.program.kindName} programs`);
      const off = L.number(L.expression(argNodes[0]!), argNodes[0]!, "use as an offset");
      const buf = bufferArg(L, L.expression(argNodes[1]!), argNodes[1]!, "load_bytes(offset, buffer)");
      const addr = placeAddress(L, buf, argNodes[1]!, "load_bytes");
      return L.ops.number(L.at(e, () => L.b.callHelper(BPF_FUNC.skb_load_bytes, [L.ctx, off, addr, L.b.const(cSizeof(buf.type))])));
    }
    case "print":
      return print(L, argNodes, e);
    case "ffi.new":
      return ffiNew(L, argNodes, e);
    case "ffi.string":
      return ffiString(L, argNodes, e);
    case "ffi.cast":
      return ffiCast(L, argNodes, e);
    case "ffi.sizeof":
    case "ffi.alignof": {
      if (argNodes.length < 1) return L.fail(e, `${name} needs a C type or C data`);
      const t = typeOfArg(L, L.expression(argNodes[0]!), argNodes[0]!);
      if (!cIsComplete(t)) return L.fail(argNodes[0]!, `${name}: incomplete type '${describeCType(t)}'`);
      return L.ops.number(L.b.const(name === "ffi.sizeof" ? cSizeof(t) : cAlignof(t)));
    }
    case "ffi.typeof": {
      if (argNodes.length < 1) return L.fail(e, "ffi.typeof needs a C type name");
      return staticValue({ kind: "ctype", type: typeOfArg(L, L.expression(argNodes[0]!), argNodes[0]!) });
    }
    case "ffi.offsetof": {
      arity(2, "ffi.offsetof(type, member)");
      const t = cResolve(typeOfArg(L, L.expression(argNodes[0]!), argNodes[0]!));
      const f = L.expression(argNodes[1]!);
      if (f.kind !== "static" || f.value.kind !== "string") return L.fail(argNodes[1]!, "ffi.offsetof needs a member name");
      if (t.kind !== "struct" && t.kind !== "union") return L.fail(argNodes[0]!, "ffi.offsetof needs a struct or union type");
      const m = cFindMember(t, f.value.value);
      return m ? L.ops.number(L.b.const(m.offset)) : NIL_VALUE;
    }
    case "ffi.fill": {
      if (argNodes.length < 2 || argNodes.length > 3) return L.fail(e, "ffi.fill(dst, len[, byte])");
      const dst = bufferArg(L, L.expression(argNodes[0]!), argNodes[0]!, "ffi.fill");
      const len = constantValue(L.number(L.expression(argNodes[1]!), argNodes[1]!, "use as a length"));
      const byte = argNodes[2] ? constantValue(L.number(L.expression(argNodes[2]), argNodes[2], "use as a byte")) : 0n;
      if (len === undefined || byte === undefined) return L.fail(argNodes[1]!, "ffi.fill needs a constant length and byte");
      if (len < 0n || len > BigInt(cSizeof(dst.type))) return L.fail(argNodes[1]!, `ffi.fill of ${len} bytes overflows '${describeCType(dst.type)}' (${cSizeof(dst.type)} bytes)`);
      const addr = placeAddress(L, dst, argNodes[0]!, "ffi.fill");
      if (byte === 0n && dst.offset % 8 === 0) zeroFill(L, addr, 0, Number(len));
      else for (let i = 0; i < Number(len); i++) L.b.store(L.b.const(byte, intTypeOfSize(1)), addr, i);
      return NIL_VALUE;
    }
    case "math.log2":
    case "math.log10":
    case "math.log": {
      arity(1, name);
      const x = L.number(L.expression(argNodes[0]!), argNodes[0]!, "take the logarithm of");
      return L.ops.number(L.at(e, () => log(L, x, name.slice(5) as "log2" | "log10" | "log")));
    }
    case "math.min":
    case "math.max": {
      if (argNodes.length === 0) return L.fail(e, `${name} needs at least one number`);
      const xs = argNodes.map((a) => L.number(L.expression(a), a, "compare"));
      return L.ops.number(xs.reduce((m, x) => L.b.select(L.ops.compare(name === "math.min" ? "slt" : "sgt", x, m), x, m)));
    }
    case "math.abs": {
      arity(1, name);
      const x = L.number(L.expression(argNodes[0]!), argNodes[0]!, "perform arithmetic on");
      return L.ops.number(L.b.select(L.ops.compare("slt", x, L.b.const(0)), L.ops.neg(x), x));
    }
    case "math.floor":
    case "math.ceil": {
      arity(1, name);
      return L.ops.number(L.number(L.expression(argNodes[0]!), argNodes[0]!, "perform arithmetic on"));
    }
    case "bpf.ntoh":
    case "bpf.hton":
      return byteOrder(L, argNodes, e);
    default: {
      const traced = callTracing(L, name, e, callee, argNodes);
      if (traced) return traced;
      void args;
      const where = name.includes(".") ? `'${name}'` : `'${name}'`;
      return L.fail(callee, `${where} is not available in program bodies`);
    }
  }
}

/** A C buffer argument (a place of an aggregate or scalar type). */
function bufferArg(L: BodyLowering, v: RValue, node: lua.Node, usage: string): Place {
  if (v.kind !== "place") return L.fail(node, `${usage} needs C data (ffi.new or a map value), not ${describeRValue(L, v)}`);
  return v.place;
}

function mapArg(L: BodyLowering, node: lua.Expression, usage: string) {
  const v = L.expression(node);
  if (v.kind !== "static" || v.value.kind !== "map") {
    if (v.kind === "static" && v.value.kind === "poisoned") throw silentError();
    return L.fail(node, `${usage} needs a map, not ${describeRValue(L, v)}`);
  }
  return v.value.map;
}

/** `perf_submit(map, data)` / `table.insert(map, data)`: one record to a perf event array or ring buffer. */
function submit(L: BodyLowering, name: string, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  const usage = `${name}(map, data)`;
  if (argNodes.length !== 2) return L.fail(argNodes[2] ?? e, `${usage} takes two arguments`);
  const map = mapArg(L, argNodes[0]!, usage);
  const v = L.expression(argNodes[1]!);
  let addr: Value;
  let size: number;
  if (v.kind === "place" && isAggregate(v.place.type)) {
    addr = placeAddress(L, v.place, argNodes[1]!, name);
    size = cSizeof(v.place.type);
    map.decl.recordType ??= v.place.type; // what readers decode the records as
  } else {
    // A number goes out as a 64-bit record.
    const n = L.number(v, argNodes[1]!, "send");
    addr = L.slot("record", 8);
    L.b.store(n, addr, 0);
    size = 8;
  }
  const m = L.b.mapRef(map.decl.name);
  return L.at(e, () => {
    if (map.kind === "perf_event_array") return L.ops.number(L.b.callHelper(BPF_FUNC.perf_event_output, [L.ctx, m, L.b.const(HelperFlag.CURRENT_CPU), addr, L.b.const(size)]));
    if (map.kind === "ringbuf") return L.ops.number(L.b.callHelper(BPF_FUNC.ringbuf_output, [m, addr, L.b.const(size), L.b.const(0)]));
    return L.fail(argNodes[0]!, `${usage} needs a perf_event_array or ringbuf map, not the ${map.kind} map '${map.decl.name}'`);
  });
}

/**
 * `ffi.copy(dst, src[, len])` and `probe_read(dst, src[, len])`: from a C pointer (kernel
 * or user memory) with `bpf_probe_read_*` — a `char *` source without a length copies a
 * NUL-terminated string (`*_str`, LuaJIT's meaning of ffi.copy(dst, str)); from C data; or
 * a string literal. Returns the helper's result (bytes copied, or a negative error).
 */
function copy(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression, name: string): RValue {
  const usage = `${name}(dst, src[, len])`;
  if (argNodes.length < 2 || argNodes.length > 3) return L.fail(argNodes[3] ?? e, `${usage} takes two or three arguments`);
  const dst = bufferArg(L, L.expression(argNodes[0]!), argNodes[0]!, usage);
  let src = L.expression(argNodes[1]!);
  // A pointer field (`args.filename`) copies from where it points, as LuaJIT's ffi.copy does;
  // so does a tracepoint's `__data_loc` field (tracing.ts).
  const located = dataLocPointer(L, src);
  if (located) src = { kind: "pointer", pointer: located };
  else if (src.kind === "place" && cResolve(src.place.type).kind === "pointer") src = { kind: "pointer", pointer: loadPointer(L, src.place, argNodes[1]!) };
  const dstSize = cSizeof(dst.type);
  let len: number | undefined;
  if (argNodes[2]) {
    const k = constantValue(L.number(L.expression(argNodes[2]), argNodes[2], "use as a length"));
    if (k === undefined) return L.fail(argNodes[2], `${name} needs a constant length`);
    if (k < 0n || k > BigInt(dstSize)) return L.fail(argNodes[2], `${name} of ${k} bytes overflows '${describeCType(dst.type)}' (${dstSize} bytes)`);
    len = Number(k);
  }
  if (src.kind === "static" && src.value.kind === "string") {
    storeStringBytes(L, dst, src.value.value, argNodes[1]!);
    return NIL_VALUE;
  }
  const to = placeAddress(L, dst, argNodes[0]!, name);
  if (src.kind === "pointer" || (src.kind === "dyn" && L.ops.knownType(src) === "number")) {
    const addr = src.kind === "pointer" ? src.pointer.addr : src.payload;
    const space = src.kind === "pointer" ? src.pointer.space : L.unit.addressSpace(L.program);
    const target = src.kind === "pointer" ? cResolve(src.pointer.target) : undefined;
    const isString = len === undefined && target?.kind === "int" && target.size === 1;
    return L.ops.number(L.at(e, () => probeRead(L, to, L.b.const(len ?? dstSize), addr, space, isString)));
  }
  if (src.kind === "place") {
    const n = len ?? Math.min(dstSize, cSizeof(src.place.type));
    copyPlace(L, dst, src.place, n, e);
    return NIL_VALUE;
  }
  return L.fail(argNodes[1]!, `${usage}: cannot copy from ${describeRValue(L, src)}`);
}

/**
 * `print(fmt, ...)`: bpf_trace_printk with the format on the stack (bcc's format
 * conversions: %d %u %x %ld %lu %lx %lld %llu %llx %p %s, at most three arguments). A C
 * char array argument is passed by address, for %s.
 */
function print(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  if (argNodes.length === 0) return L.fail(e, "print needs a format string: print('%d\\n', x)");
  const fmtValue = L.expression(argNodes[0]!);
  if (fmtValue.kind !== "static" || fmtValue.value.kind !== "string") return L.fail(argNodes[0]!, "print's first argument must be a format string literal");
  if (argNodes.length > 4) return L.fail(argNodes[4]!, "print takes at most three values after the format (bpf_trace_printk)");
  const fmt = fmtValue.value.value;
  const conversions = fmt.match(/%[-+ #0-9.]*(?:ll|l|h|hh)?[a-zA-Z%]/g) ?? [];
  const used = conversions.filter((c) => c !== "%%");
  for (const c of used) {
    if (!/^%[-+ #0-9.]*(?:ll|l)?[diuxXps]$/.test(c) && !/^%[-+ #0-9.]*(?:ll|l)?(c)$/.test(c)) L.fail(argNodes[0]!, `print: unsupported conversion '${c}' (bpf_trace_printk knows %d %i %u %x %p %s %c with l/ll)`);
  }
  if (used.length !== argNodes.length - 1) L.fail(argNodes[0]!, `print: the format has ${used.length} conversion${used.length === 1 ? "" : "s"} but ${argNodes.length - 1} value${argNodes.length === 2 ? "" : "s"} follow${argNodes.length === 2 ? "s" : ""}`);
  const values = argNodes.slice(1).map((a, i) => {
    const v = L.expression(a);
    if (/s$/.test(used[i]!)) {
      if (v.kind !== "place") return L.fail(a, `print: %s needs a char array (C data), not ${describeRValue(L, v)}`);
      return placeAddress(L, v.place, a, "print %s");
    }
    return L.number(v, a, "print");
  });
  const bytes = [...stringBytes(fmt), 0];
  const fmtSlot = L.allocateObject(bytes.length, 8, argNodes[0]!);
  let off = 0;
  while (off < bytes.length) {
    const w = bytes.length - off >= 8 ? 8 : bytes.length - off >= 4 ? 4 : bytes.length - off >= 2 ? 2 : 1;
    let k = 0n;
    for (let i = w - 1; i >= 0; i--) k = (k << 8n) | BigInt(bytes[off + i]!);
    L.b.store(L.b.const(BigInt.asIntN(w * 8, k), intTypeOfSize(w)), fmtSlot, off);
    off += w;
  }
  return L.ops.number(L.at(e, () => L.b.callHelper(BPF_FUNC.trace_printk, [fmtSlot, L.b.const(bytes.length), ...values])));
}

/** The C type of an argument: a ctype, a type-name string, or C data (its type). */
function typeOfArg(L: BodyLowering, v: RValue, node: lua.Node): CType {
  if (v.kind === "static" && v.value.kind === "ctype") return v.value.type;
  if (v.kind === "static" && v.value.kind === "string") {
    try {
      return parseCTypeName(v.value.value, L.unit.top.cscope);
    } catch (err) {
      if (err instanceof CDeclError) throw L.unit.locatedCError(err, node);
      throw err;
    }
  }
  if (v.kind === "place") return v.place.type;
  if (v.kind === "pointer") return { kind: "pointer", target: v.pointer.target };
  return L.fail(node, `expected a C type (a type name string or ffi.typeof(...)), not ${describeRValue(L, v)}`);
}

function ffiNew(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  if (argNodes.length < 1) return L.fail(e, "ffi.new needs a C type: ffi.new('struct { ... }')");
  const t = typeOfArg(L, L.expression(argNodes[0]!), argNodes[0]!);
  const r = cResolve(t);
  if (r.kind === "pointer") return L.fail(argNodes[0]!, "ffi.new of a pointer type is not supported (eBPF programs cannot allocate memory)");
  if (!cIsComplete(t)) return L.fail(argNodes[0]!, `ffi.new needs a complete type, not '${describeCType(t)}'`);
  // Initializers are evaluated first (in order), then stored over the zero-filled object.
  const inits = argNodes.slice(1).map((a) => initializerOf(L, a));
  const place = newStackObject(L, t, e);
  if (inits.length > 0) L.at(e, () => initializeNew(L, place, inits));
  return { kind: "place", place: { ...place, whole: true } };
}

/**
 * `ffi.string(x[, len])`: LuaJIT's Lua string of C data. Strings exist at compile time
 * only, so: a string constant gives a constant (cut at its first NUL, or its first `len`
 * bytes); C data gives a view of its bytes that compares, keys maps, prints and copies as
 * a string — a char array up to its first NUL, or (with a constant `len`) exactly its
 * first `len` bytes; a C pointer with a constant `len` copies `len` bytes from kernel or
 * user memory onto the stack (bpf_probe_read_*) and gives them.
 */
function ffiString(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  const usage = "ffi.string(data[, len])";
  if (argNodes.length < 1 || argNodes.length > 2) return L.fail(argNodes[2] ?? e, `${usage} takes one or two arguments`);
  let v = L.expression(argNodes[0]!);
  let len: number | undefined;
  if (argNodes[1]) {
    const k = constantValue(L.number(L.expression(argNodes[1]), argNodes[1], "use as a length"));
    if (k === undefined) return L.fail(argNodes[1], "ffi.string needs a constant length in a program body (strings are compile-time values)");
    if (k < 0n) return L.fail(argNodes[1], `ffi.string of ${k} bytes: the length cannot be negative`);
    len = Number(k);
  }
  if (v.kind === "static" && v.value.kind === "string") {
    const s = v.value.value;
    if (len !== undefined && len > s.length) return L.fail(argNodes[1]!, `ffi.string of ${len} bytes reads past the end of the ${s.length}-byte string`);
    return staticValue({ kind: "string", value: len === undefined ? s.split("\0")[0]! : s.slice(0, len) });
  }
  if (len === 0) return staticValue({ kind: "string", value: "" });
  const located = dataLocPointer(L, v);
  if (located) v = { kind: "pointer", pointer: located };
  else if (v.kind === "place" && cResolve(v.place.type).kind === "pointer") v = { kind: "pointer", pointer: loadPointer(L, v.place, argNodes[0]!) };
  if (v.kind === "pointer") {
    if (len === undefined) return L.fail(argNodes[0]!, "ffi.string of a C pointer needs a constant length in a program body: ffi.string(p, n) (or ffi.copy a NUL-terminated string into a char array)");
    const p = v.pointer;
    const place = newStackObject(L, charArray(L, len, e), e);
    L.at(e, () => probeRead(L, requireAddress(L, place), L.b.const(len), p.addr, p.space, false));
    return { kind: "place", place: { ...place, exactString: true } };
  }
  if (v.kind !== "place") return L.fail(argNodes[0]!, `${usage} needs C data or a string, not ${describeRValue(L, v)}`);
  const place = v.place;
  if (len === undefined) {
    const r = cResolve(place.type);
    if (r.kind !== "array" || cScalarInt(r.element)?.size !== 1) return L.fail(argNodes[0]!, `ffi.string without a length needs a char array, not ${describeRValue(L, v)} (give the length: ffi.string(data, n))`);
    return { kind: "place", place: { ...place, whole: false } };
  }
  const size = cSizeof(place.type);
  if (len > size) return L.fail(argNodes[1]!, `ffi.string of ${len} bytes reads past the end of '${describeCType(place.type)}' (${size} bytes)`);
  return { kind: "place", place: { ...place, whole: false, type: charArray(L, len, e), exactString: true } };
}

function charArray(L: BodyLowering, n: number, node: lua.Node): CType {
  return typeOfArg(L, staticValue({ kind: "string", value: `char[${n}]` }), node);
}

/** `ffi.cast(T, x)`: to an integer type (truncate/extend), or to a pointer (an address in memory). */
function ffiCast(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  if (argNodes.length !== 2) return L.fail(argNodes[2] ?? e, "ffi.cast(type, value) takes two arguments");
  const t = typeOfArg(L, L.expression(argNodes[0]!), argNodes[0]!);
  const v = L.expression(argNodes[1]!);
  const r = cResolve(t);
  if (r.kind === "pointer") {
    if (v.kind === "place" && isAggregate(v.place.type)) {
      // A pointer to C data the program has: the same place, seen as the pointed-to type.
      return { kind: "place", place: { ...v.place, type: r.target, whole: false } };
    }
    if (v.kind === "static" && (v.value.kind === "packet" || v.value.kind === "packetEnd")) {
      // Not an address in memory: a position in the packet (its number is a byte offset).
      return L.fail(argNodes[1]!, `a packet position cannot be cast to a C pointer: read headers with 'pkt' (pkt.ip.ttl) and bytes with ptr[i] or ptr(from, to)`);
    }
    const addr = v.kind === "pointer" ? v.pointer.addr : L.number(v, argNodes[1]!, "cast");
    return { kind: "pointer", pointer: { addr, target: r.target, space: v.kind === "pointer" ? v.pointer.space : L.unit.addressSpace(L.program) } };
  }
  const ct = cScalarInt(t);
  if (!ct) return L.fail(argNodes[0]!, `ffi.cast to '${describeCType(t)}' is not supported (cast to an integer or pointer type)`);
  const n = v.kind === "pointer" ? v.pointer.addr : L.number(v, argNodes[1]!, "cast");
  if (ct.size === 8) return L.ops.number(n);
  const k = constantValue(n);
  const bits = ct.size * 8;
  if (k !== undefined) return L.ops.number(L.b.const(ct.signed ? BigInt.asIntN(bits, k) : BigInt.asUintN(bits, k)));
  const narrow = L.b.cast("trunc", n, intTypeOfSize(ct.size));
  return L.ops.number(L.b.cast(ct.signed && !ct.bool ? "sext" : "zext", narrow, i64));
}

/** `bit.<fn>(...)` on 64-bit numbers (bitmath.ts), folded when constant. */
function bitCall(L: BodyLowering, fn: string, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  const arity = BIT_ARITY[fn as BitFunction];
  if (arity === undefined) return L.fail(e, `the bit library has no function '${fn}'`);
  if (arity === "variadic" ? argNodes.length < 1 : argNodes.length !== arity) {
    return L.fail(argNodes[typeof arity === "number" ? arity : 0] ?? e, `bit.${fn} takes ${arity === "variadic" ? "at least one argument" : arity === 1 ? "one argument" : `${arity} arguments`}`);
  }
  const xs = argNodes.map((a) => L.number(L.expression(a), a, "perform bitwise operation on"));
  const b = L.b;
  const ops = L.ops;
  const count = (n: Value): Value => (constantValue(n) !== undefined ? b.const(BigInt.asUintN(6, constantValue(n)!)) : b.and(n, b.const(63)));
  const [a = b.const(0), n = b.const(0)] = xs;
  return L.ops.number(
    L.at(e, () => {
      switch (fn as BitFunction) {
        case "band":
          return xs.reduce((x, y) => ops.arith("&", x, y));
        case "bor":
          return xs.reduce((x, y) => ops.arith("|", x, y));
        case "bxor":
          return xs.reduce((x, y) => ops.arith("~", x, y));
        case "bnot":
          return ops.bnot(a);
        case "lshift":
          return fold(L, a, count(n), (x, c) => BigInt.asIntN(64, x << c), () => b.shl(a, count(n)));
        case "rshift":
          return fold(L, a, count(n), (x, c) => BigInt.asIntN(64, BigInt.asUintN(64, x) >> c), () => b.binary("lshr", a, count(n)));
        case "arshift":
          return fold(L, a, count(n), (x, c) => x >> c, () => b.binary("ashr", a, count(n)));
        case "rol":
        case "ror": {
          const c = count(n);
          const back = b.and(b.sub(b.const(64), c), b.const(63));
          const [first, second] = fn === "rol" ? (["shl", "lshr"] as const) : (["lshr", "shl"] as const);
          return b.or(b.binary(first, a, c), b.binary(second, a, back));
        }
        case "bswap":
          return b.unary("bswap", a);
        case "tobit":
          return b.cast("sext", b.cast("trunc", a, i32), i64);
      }
    }),
  );
}

function fold(L: BodyLowering, a: Value, c: Value, f: (x: bigint, c: bigint) => bigint, emit: () => Value): Value {
  const ka = constantValue(a);
  const kc = constantValue(c);
  if (ka !== undefined && kc !== undefined) return L.b.const(f(ka, kc));
  return emit();
}

/**
 * floor(log2(x)) of x as unsigned 64-bit (0 for 0), by binary search on the highest set
 * bit: for k = 32, 16, 8, 4, 2, if x >> k != 0 then x >>= k, r |= k; then r |= x >> 1
 * (x < 4 there, so that is the last step's test). Branch-free with ALU instructions only
 * — eBPF has no conditional move, so a select or a compare's value would be a branch,
 * five per call, and a call in a loop multiplies the paths the verifier walks past its
 * limit. Each test is a sign bit: `x >> 32 != 0` is that of `-(x >> 32)` (x >> 32 <
 * 2^63); after it x < 2^32, and `x > 2^k - 1` is that of `(2^k - 1) - x` (3 instructions,
 * as many as clang's compare and branch over a move). `log10`/`log` scale it as bcc does.
 */
function log(L: BodyLowering, x: Value, fn: "log2" | "log10" | "log"): Value {
  const b = L.b;
  const kx = constantValue(x);
  let r: Value;
  if (kx !== undefined) {
    r = b.const(mathLog("log2", kx));
  } else {
    const sign = (v: Value) => b.binary("lshr", v, b.const(63));
    let v = x;
    r = b.const(0);
    for (const [k, bit] of [[32, 5], [16, 4], [8, 3], [4, 2], [2, 1]] as const) {
      const test = k === 32 ? sign(b.binary("sub", b.const(0), b.binary("lshr", v, b.const(k)))) : sign(b.binary("sub", b.const((1n << BigInt(k)) - 1n), v));
      const step = b.binary("shl", test, b.const(bit));
      v = b.binary("lshr", v, step);
      r = b.binary("or", r, step);
    }
    r = b.binary("or", r, b.binary("lshr", v, b.const(1)));
  }
  if (fn === "log2") return r;
  return L.ops.arith(">>", L.ops.arith("*", L.ops.arith("+", r, b.const(1)), b.const(fn === "log10" ? 1233 : 2839)), b.const(12));
}

/** `ntoh(x[, bits])`, `hton(x[, bits])`: byte swap of 16, 32 or 64 bits (the same on a little-endian host). */
function byteOrder(L: BodyLowering, argNodes: readonly lua.Expression[], e: lua.Expression): RValue {
  if (argNodes.length < 1 || argNodes.length > 2) return L.fail(e, "ntoh(x[, bits]) takes one or two arguments");
  const v = L.expression(argNodes[0]!);
  let bits = 64;
  if (v.kind === "place") bits = (cScalarInt(v.place.type)?.size ?? 8) * 8;
  if (argNodes[1]) {
    const k = constantValue(L.number(L.expression(argNodes[1]), argNodes[1], "use as a width"));
    if (k === undefined || (k !== 8n && k !== 16n && k !== 32n && k !== 64n)) return L.fail(argNodes[1], "the width must be the constant 8, 16, 32 or 64");
    bits = Number(k);
  }
  const x = L.number(v, argNodes[0]!, "convert");
  if (bits === 8) return L.ops.number(x);
  const b = L.b;
  const t = bits === 16 ? i16 : bits === 32 ? i32 : i64;
  const narrow = bits === 64 ? x : b.cast("trunc", x, t);
  const swapped = b.unary("bswap", narrow);
  return L.ops.number(bits === 64 ? swapped : b.cast("zext", swapped, i64));
}

export { packetAdvance, requireAddress };
