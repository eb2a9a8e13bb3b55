/**
 * Tracing programs: typed contexts and arguments from the kernel's types, the current
 * task, ring buffer records, CO-RE field offsets, and the checks a program gets after it
 * is lowered (helpers its program type may call, the verifier's reference rule).
 *
 *   bpf.tracepoint('cat/name', function (args) ...)   args: a ctx place of the tracepoint's
 *                                                      record (tracefs format or BTF);
 *                                                      `args.common_pid`, `args.<field>`
 *   bpf.raw_tracepoint('name', function (args) ...)   args: a ctx place `u64[N]` (N from the
 *                                                      raw tracepoint's BTF prototype, else 12)
 *   bpf.fentry('fn', function (a, b) ...)             parameters: ctx[i] as the C type of
 *   bpf.fexit('fn', function (a, b, ret) ...)         argument i of `fn` (BTF); fexit's last
 *                                                      one is the return value
 *   bpf.tp_btf('name', function (a, b) ...)           parameters: ctx[i] as the C type of
 *                                                      argument i of btf_trace_<name>
 *   a.field (a: a struct pointer argument of those)   load T %a, off — PTR_TO_BTF_ID, direct
 *                                                      loads the verifier checks (off CO-RE)
 *   task()                                             call helper get_current_task () as a
 *                                                      `struct task_struct *` (kernel memory)
 *   ringbuf_reserve(rb, 'struct event')                call helper ringbuf_reserve (rb, size, 0);
 *                                                      null → the program stops (returns 0);
 *                                                      else the record, zero-filled
 *   ringbuf_submit(e) / ringbuf_discard(e)             call helper ringbuf_submit|discard (e, 0)
 *   p.field (p: a kernel struct in kernel memory)      offset = coreval (CO-RE field_byte_offset
 *                                                      relocation of the struct and the member)
 *   p.bits (a bit-field of a kernel struct)            tmp = 0 ; call helper probe_read_kernel (&tmp,
 *                                                      coreval byte_size, p + coreval byte_offset) ;
 *                                                      shl coreval lshift_u64 ; lshr|ashr coreval
 *                                                      rshift_u64 (BPF_CORE_READ_BITFIELD_PROBED)
 *
 * After a program is lowered, {@link checkProgram} refuses helper calls its program type
 * cannot make (platform's program-helpers table) and references (ring buffer records)
 * not released on every path (ir's checkReferences), each at its source location.
 */
import { C_INTS, cArrayOf, cFindMember, checkReferences, cResolve, cScalarInt, cSizeof, CompileError, describeCType, i32, i64, intTypeOfSize, ptr, voidType, type CoreRelocation, type CRecord, type CType, type Diagnostic, type Function, type Instruction, type Value } from "@luabpf/ir";
import { BPF_FUNC, helperAllowed, PT_REGS_X86_64, helperById, sectionRuleByPrefix, type HelperName } from "@luabpf/platform";
import type * as lua from "luaparse";
import { CDeclError, parseCTypeName } from "../ctypes/index.js";
import type { TracepointFormat } from "../kernel/index.js";
import type { ProgramDecl } from "../values.js";
import type { Binding, BodyLowering } from "./body.js";
import { describeRValue, zeroFill } from "./memory.js";
import type { ModuleLowering } from "./module.js";
import { NIL_VALUE, type CoreBitField, type CPointerValue, type Place, type RValue } from "./values.js";

/** Most arguments a raw tracepoint or traced function passes (MAX_BPF_FUNC_ARGS). */
const MAX_TRACE_ARGS = 12;

/**
 * The program kinds whose parameters are the traced function's arguments (kprobes: after
 * the `pt_regs` context, as in bcc's C `int kprobe__f(struct pt_regs *ctx, int a, ...)`).
 */
export const ARGUMENT_PROGRAMS: ReadonlySet<string> = new Set(["fentry", "fexit", "kprobe", "tp_btf"]);

/** Names the body may use for tracing (besides the library's). */
export const TRACING_GLOBALS: readonly string[] = ["task", "ringbuf_reserve", "ringbuf_submit", "ringbuf_discard", "core_field_exists"];

/**
 * The parameters of a tracing program's body, or undefined when its context is the
 * generic one (socket, kprobe's pt_regs, ... or a tracepoint whose format is unknown).
 */
export function tracingParameters(L: BodyLowering, decl: ProgramDecl, node: lua.FunctionDeclaration): Binding[] | undefined {
  const kernel = L.unit.kernel;
  const ctxPlace = (type: CType, space?: "user"): RValue => ({ kind: "place", place: { region: "ctx", base: L.ctx, offset: 0, type, nonNull: L.b.const(1), ...(space ? { space } : {}) } });
  const name = (i: number): string => {
    const p = node.parameters[i];
    return p?.type === "Identifier" ? p.name : `arg${i}`;
  };
  switch (decl.kindName) {
    case "tracepoint": {
      const format = tracepointFormat(L, decl);
      if (!format) return undefined;
      // System call arguments are user pointers (`const char __user *filename`).
      return [L.bindValue(name(0), ctxPlace(format.record, format.category === "syscalls" ? "user" : undefined))];
    }
    case "raw_tracepoint": {
      const params = kernel?.rawTracepoint(String(decl.attach.symbol ?? ""));
      const count = params ? Math.max(params.length, 1) : MAX_TRACE_ARGS;
      return [L.bindValue(name(0), ctxPlace(cArrayOf(C_INTS["unsigned long long"], count)))];
    }
    case "fentry":
    case "fexit": {
      const symbol = String(decl.attach.symbol ?? "");
      if (!kernel?.ctypes) return L.fail(decl.node, `bpf.${decl.kindName} needs the kernel's BTF for the arguments of '${symbol}' (give one with --btf FILE)`);
      const f = kernel.func(symbol);
      if (!f) return L.fail(decl.node, `the kernel's BTF (${kernel.btfOrigin}) has no function '${symbol}'`);
      const types: CType[] = f.params.map((p) => p.type);
      if (decl.kindName === "fexit") types.push(f.result);
      if (types.length > MAX_TRACE_ARGS) return L.fail(decl.node, `'${symbol}' has more than ${MAX_TRACE_ARGS} arguments`);
      if (node.parameters.length > types.length) {
        const what = decl.kindName === "fexit" ? `${f.params.length} arguments and its return value` : `${f.params.length} arguments`;
        return L.fail(node.parameters[types.length]!, `'${symbol}' passes ${what}; this is parameter ${types.length + 1}`);
      }
      return node.parameters.map((p, i) => L.at(p, () => L.bindValue(name(i), argumentValue(L, types[i]!, i * 8, p, true))));
    }
    case "tp_btf": {
      const symbol = String(decl.attach.symbol ?? "");
      if (!kernel?.ctypes) return L.fail(decl.node, `bpf.tp_btf needs the kernel's BTF for the arguments of tracepoint '${symbol}' (give one with --btf FILE)`);
      const params = kernel.rawTracepoint(symbol);
      if (!params) return L.fail(decl.node, `the kernel's BTF (${kernel.btfOrigin}) has no tracepoint '${symbol}' (no typedef btf_trace_${symbol})`);
      if (node.parameters.length > params.length) {
        return L.fail(node.parameters[params.length]!, `tracepoint '${symbol}' passes ${params.length} argument${params.length === 1 ? "" : "s"}; this is parameter ${params.length + 1}`);
      }
      return node.parameters.map((p, i) => L.at(p, () => L.bindValue(name(i), argumentValue(L, params[i]!.type, i * 8, p, true))));
    }
    case "kprobe": {
      if (node.parameters.length <= 1) return undefined;
      const symbol = String(decl.attach.symbol ?? "");
      if (!kernel?.ctypes) return L.fail(node.parameters[1]!, `typed kprobe arguments need the kernel's BTF for '${symbol}' (give one with --btf FILE), or read ptregs.parm1 ...`);
      const f = kernel.func(symbol);
      if (!f) return L.fail(node.parameters[1]!, `the kernel's BTF (${kernel.btfOrigin}) has no function '${symbol}': read its arguments as ptregs.parm1 ...`);
      const registers = PT_REGS_X86_64.argumentRegisters;
      const extra = node.parameters.slice(1);
      if (extra.length > Math.min(f.params.length, registers.length)) {
        return L.fail(extra[Math.min(f.params.length, registers.length)]!, `'${symbol}' passes ${f.params.length} arguments${f.params.length > registers.length ? ` (${registers.length} in registers)` : ""}; this is one more`);
      }
      const context: Binding = { kind: "static", value: { kind: "context" } };
      return [context, ...extra.map((p, i) => L.at(p, () => L.bindValue(name(i + 1), argumentValue(L, f.params[i]!.type, PT_REGS_X86_64.fields.find((r) => r.name === registers[i])!.offset, p))))];
    }
    default:
      return undefined;
  }
}

/**
 * Argument `type` of a traced function, read from its 8-byte slot at `offset` of the
 * context. With `btfTyped` (tp_btf, fentry, fexit: the verifier types the slot from BTF), a
 * pointer to a kernel struct is the struct as kernel data read with direct loads
 * (PTR_TO_BTF_ID); otherwise a pointer is a C pointer read with bpf_probe_read_kernel.
 */
function argumentValue(L: BodyLowering, type: CType, offset: number, node: lua.Node, btfTyped = false): RValue {
  const r = cResolve(type);
  if (btfTyped && r.kind === "pointer") {
    const target = cResolve(r.target);
    if ((target.kind === "struct" || target.kind === "union") && target.members !== undefined) {
      return { kind: "place", place: { region: "btf", base: L.b.load(ptr, L.ctx, offset), offset: 0, type: r.target, nonNull: L.b.const(1) } };
    }
  }
  const raw = L.b.load(i64, L.ctx, offset);
  if (r.kind === "pointer") return { kind: "pointer", pointer: { addr: raw, target: r.target, space: "kernel" } };
  if (r.kind === "void") return NIL_VALUE;
  const ct = cScalarInt(type);
  if (!ct) return L.fail(node, `an argument of type '${describeCType(type)}' (passed by value) is not supported`);
  if (ct.size === 8) return L.ops.number(raw);
  const narrow = L.b.cast("trunc", raw, intTypeOfSize(ct.size));
  return L.ops.number(L.b.cast(ct.signed && !ct.bool ? "sext" : "zext", narrow, i64));
}

/**
 * The byte offset of member `name` (found at `localOffset`) of kernel struct `record` as a
 * CO-RE relocated value, or undefined when `record` is not one of the kernel's (its
 * layout is the program's own).
 */
export function coreFieldOffset(L: BodyLowering, record: CRecord, name: string, localOffset: number): Value | undefined {
  if (!L.unit.kernel?.isKernelRecord(record)) return undefined;
  return coreField(L, record, name, "field_byte_offset", localOffset);
}

/** A CO-RE field relocation of `kind` on member `name` of kernel struct `record`, with its local value. */
function coreField(L: BodyLowering, record: CRecord, name: string, kind: CoreRelocation["kind"], localValue: number): Value {
  const key = `${L.unit.typeKey(record)}.${name}${kind === "field_byte_offset" ? "" : `/${kind}`}`;
  let reloc = L.unit.coreNames.get(key);
  if (!reloc) {
    reloc = L.unit.module.addCoreRelocation({ kind, type: record, path: [name], value: BigInt(localValue) }).name;
    L.unit.coreNames.set(key, reloc);
  }
  return L.b.coreValue(reloc);
}

/**
 * Bit-field `name` (absolute bit offset `bitOffset`, `bitSize` bits, of integer type
 * `memberType`) of kernel struct `record` as four CO-RE relocated values, or undefined when
 * `record` is not one of the kernel's. The local values follow libbpf's
 * bpf_core_calc_field_relo: the member type's size, doubled until one aligned load holds
 * the field.
 */
export function coreBitField(L: BodyLowering, record: CRecord, name: string, bitOffset: number, bitSize: number, memberType: CType, node: lua.Node): CoreBitField | undefined {
  if (!L.unit.kernel?.isKernelRecord(record)) return undefined;
  let byteSize = cSizeof(memberType);
  let byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
  while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
    if (byteSize >= 8) return L.fail(node, `bit-field '${name}' cannot be read with one 64-bit load`);
    byteSize *= 2;
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
  }
  return {
    byteOffset: coreField(L, record, name, "field_byte_offset", byteOffset),
    byteSize: coreField(L, record, name, "field_byte_size", byteSize),
    lshift: coreField(L, record, name, "field_lshift_u64", 64 - (bitOffset + bitSize - byteOffset * 8)),
    rshift: coreField(L, record, name, "field_rshift_u64", 64 - bitSize),
  };
}

/**
 * The value of a field in a tracepoint record's first 8 bytes, or undefined for any other
 * place. The kernel overwrites those bytes (`common_type`, `common_flags`,
 * `common_preempt_count`, `common_pid`) with a pointer before the program runs and refuses
 * loads from them (tp_prog_is_valid_access), so: `common_pid` is the current thread's id
 * (what the kernel recorded there), `common_type` the event id from tracefs; the others
 * are an error.
 */
export function hiddenContextField(L: BodyLowering, place: Place, node: lua.Node): Value | undefined {
  if (place.region !== "ctx" || L.program.kindName !== "tracepoint" || place.index !== undefined || place.offset >= TRACEPOINT_HIDDEN_BYTES) return undefined;
  const format = tracepointFormat(L, L.program);
  const field = format?.fields.find((f) => f.offset === place.offset && f.common);
  if (field?.name === "common_pid") return L.b.and(L.b.callHelper(BPF_FUNC.get_current_pid_tgid, []), L.b.const(0xffff_ffff));
  if (field?.name === "common_type" && format?.id !== undefined) return L.b.const(format.id);
  return L.fail(node, `${field ? `'${field.name}'` : "this field"} cannot be read: the kernel overwrites a tracepoint record's first ${TRACEPOINT_HIDDEN_BYTES} bytes before the program runs (common_pid reads as the current thread id)`);
}

/**
 * A `__data_loc` field of a tracepoint record (`args.filename` of sched_process_exec) as a
 * pointer to its data: the field is a `length << 16 | offset` word, the data is at
 * `args + offset` (read with bpf_probe_read_kernel[_str], as bcc's TP_DATA_LOC_READ does).
 * Undefined for any other value.
 */
export function dataLocPointer(L: BodyLowering, v: RValue): CPointerValue | undefined {
  if (v.kind !== "place" || v.place.region !== "ctx" || L.program.kindName !== "tracepoint" || v.place.index !== undefined) return undefined;
  const place = v.place;
  const field = tracepointFormat(L, L.program)?.fields.find((f) => f.offset === place.offset && f.dataLoc);
  if (!field) return undefined;
  const b = L.b;
  const locator = b.cast("zext", b.load(i32, place.base, place.offset), i64);
  const addr = b.ptrAdd(place.base, b.and(locator, b.const(0xffff)));
  return { addr, target: field.dataLoc!, space: "kernel" };
}

/** The bytes at the start of a tracepoint record that programs cannot load (tp_prog_is_valid_access). */
const TRACEPOINT_HIDDEN_BYTES = 8;

function tracepointFormat(L: BodyLowering, decl: ProgramDecl): TracepointFormat | undefined {
  const [category, event] = String(decl.attach.tracepoint ?? "").split("/");
  return category && event ? L.unit.kernel?.tracepoint(category, event) : undefined;
}

/** Calls a tracing library function, or undefined when `name` is not one. */
export function callTracing(L: BodyLowering, name: string, e: lua.Expression, callee: lua.Expression, argNodes: readonly lua.Expression[]): RValue | undefined {
  switch (name) {
    case "task": {
      if (argNodes.length > 0) return L.fail(argNodes[0]!, "task() takes no arguments");
      const task = kernelType(L, "struct task_struct", callee);
      return { kind: "pointer", pointer: { addr: L.at(e, () => L.b.callHelper(BPF_FUNC.get_current_task, [])), target: task, space: "kernel" } };
    }
    case "ringbuf_reserve":
      return reserve(L, e, argNodes);
    case "core_field_exists":
      return fieldExists(L, e, argNodes);
    case "ringbuf_submit":
    case "ringbuf_discard": {
      if (argNodes.length !== 1) return L.fail(argNodes[1] ?? e, `${name}(record) takes one argument: a record from ringbuf_reserve`);
      const v = L.expression(argNodes[0]!);
      if (v.kind !== "place" || v.place.region !== "ringbuf" || v.place.offset !== 0 || v.place.index) {
        return L.fail(argNodes[0]!, `${name} needs a record from ringbuf_reserve, not ${describeRValue(L, v)}`);
      }
      L.at(e, () => L.b.callHelper(BPF_FUNC[name], [v.place.base, L.b.const(0)], voidType));
      return NIL_VALUE;
    }
    default:
      return undefined;
  }
}

/**
 * `core_field_exists(p, 'field')`: 1 when the running kernel's struct (of kernel pointer or
 * struct `p`) has member `field`, else 0 — a CO-RE `field_exists` relocation, so a program
 * can test for a member before reading it (bpf_core_field_exists).
 */
function fieldExists(L: BodyLowering, e: lua.Expression, argNodes: readonly lua.Expression[]): RValue {
  const usage = "core_field_exists(kernel_pointer, 'field')";
  if (argNodes.length !== 2) return L.fail(argNodes[2] ?? e, `${usage} takes two arguments`);
  const v = L.expression(argNodes[0]!);
  const f = L.expression(argNodes[1]!);
  if (f.kind !== "static" || f.value.kind !== "string") return L.fail(argNodes[1]!, `${usage}: the member name must be a string literal`);
  const type = v.kind === "pointer" ? v.pointer.target : v.kind === "place" ? v.place.type : undefined;
  const r = type ? cResolve(type) : undefined;
  const record = r?.kind === "pointer" ? cResolve(r.target) : r;
  if (!record || (record.kind !== "struct" && record.kind !== "union") || !L.unit.kernel?.isKernelRecord(record)) {
    return L.fail(argNodes[0]!, `${usage} needs a kernel struct or a pointer to one (such as task()), not ${describeRValue(L, v)}`);
  }
  if (!cFindMember(record, f.value.value)) return L.fail(argNodes[1]!, `'${describeCType(record)}' has no member '${f.value.value}' in ${L.unit.kernel.btfOrigin}`);
  const reloc = L.unit.module.addCoreRelocation({ kind: "field_exists", type: record, path: [f.value.value], value: 1n });
  return L.ops.number(L.at(e, () => L.b.coreValue(reloc.name)));
}

/** `ringbuf_reserve(rb, T)`: a zero-filled record of type T in ring buffer `rb`, or the program stops. */
function reserve(L: BodyLowering, e: lua.Expression, argNodes: readonly lua.Expression[]): RValue {
  const usage = "ringbuf_reserve(ringbuf_map, 'struct event')";
  if (argNodes.length !== 2) return L.fail(argNodes[2] ?? e, `${usage} takes two arguments`);
  const m = L.expression(argNodes[0]!);
  if (m.kind !== "static" || m.value.kind !== "map") return L.fail(argNodes[0]!, `${usage} needs a ringbuf map, not ${describeRValue(L, m)}`);
  const map = m.value.map;
  if (map.kind !== "ringbuf") return L.fail(argNodes[0]!, `ringbuf_reserve needs a ringbuf map, not the ${map.kind} map '${map.decl.name}'`);
  const t = L.expression(argNodes[1]!);
  let type: CType;
  if (t.kind === "static" && t.value.kind === "ctype") type = t.value.type;
  else if (t.kind === "static" && t.value.kind === "string") type = kernelType(L, t.value.value, argNodes[1]!);
  else return L.fail(argNodes[1]!, `${usage}: the record type must be a C type name or ffi.typeof(...), not ${describeRValue(L, t)}`);
  const size = cSizeof(type);
  if (size === 0) return L.fail(argNodes[1]!, `the record type '${describeCType(type)}' has no size`);
  if (size > map.decl.maxEntries / 2) return L.fail(argNodes[1]!, `a ${size}-byte record does not fit the ${map.decl.maxEntries}-byte ring buffer '${map.decl.name}'`);
  map.decl.recordType ??= type;
  return L.at(e, () => {
    const rec = L.b.callHelper(BPF_FUNC.ringbuf_reserve, [L.b.mapRef(map.decl.name), L.b.const(size), L.b.const(0)], ptr);
    L.abortUnless(L.ops.compare("ne", rec, L.fn.constant(rec.type, 0)));
    zeroFill(L, rec, 0, size);
    const place: Place = { region: "ringbuf", base: rec, offset: 0, type, nonNull: L.b.const(1), whole: true };
    return { kind: "place", place } as RValue;
  });
}

/** A C type named in a body (the file's declarations, then the kernel's). */
function kernelType(L: BodyLowering, text: string, node: lua.Node): CType {
  let t: CType;
  try {
    t = parseCTypeName(text, L.unit.top.cscope);
  } catch (err) {
    if (err instanceof CDeclError) throw L.unit.locatedCError(err, node);
    throw err;
  }
  const r = cResolve(t);
  if ((r.kind === "struct" || r.kind === "union") && r.members === undefined) {
    const why = L.unit.kernel?.ctypes ? `neither the file nor the kernel's BTF (${L.unit.kernel.btfOrigin}) defines it` : "it is not declared (no kernel BTF was given: use --btf FILE, or declare it with ffi.cdef)";
    return L.fail(node, `'${describeCType(t)}' is incomplete: ${why}`);
  }
  return t;
}

/**
 * Checks lowered program `fn` (of declaration `decl`): every helper it calls is one its
 * program type may call, and every reference it acquires is released on every path and
 * not used after. Throws one CompileError listing what is wrong, each at its location.
 */
export function checkProgram(unit: ModuleLowering, fn: Function, decl: ProgramDecl): void {
  const diagnostics: Diagnostic[] = [];
  const at = (inst: Instruction, message: string): void => {
    diagnostics.push({ severity: "error", message, location: inst.loc ?? { file: unit.file, line: 1, column: 1 } });
  };
  const slash = decl.section.indexOf("/");
  const rule = sectionRuleByPrefix(slash < 0 ? decl.section : decl.section.slice(0, slash));
  const { functions, helperCalls } = calledFunctions(unit, fn);
  /** Whether `fn` itself calls a helper that hands out a reference (else there is nothing for checkReferences to follow). */
  let acquires = false;
  for (const f of functions) {
    for (const inst of helperCalls.get(f) ?? []) {
      const helper = helperById(inst.helper!);
      if (!helper) continue;
      if (f === fn && helper.reference === "acquire") acquires = true;
      if (!helperAllowed(decl.kind.type, helper.name as HelperName, rule?.expectedAttachType)) {
        at(inst, `${decl.kindName} programs (program type ${decl.kind.type}) cannot call bpf_${helper.name}: the kernel refuses it for this program type`);
      }
    }
  }
  const { leaks, usesAfterRelease } = acquires ? checkReferences(fn) : { leaks: [], usesAfterRelease: [] };
  const seen = new Set<Instruction>();
  for (const leak of leaks) {
    if (seen.has(leak.acquire)) continue;
    seen.add(leak.acquire);
    const where = leak.exit.loc ? ` (line ${leak.exit.loc.line} ${leak.again ? "reserves again while it is held" : "returns while it is held"})` : "";
    at(leak.acquire, `the record reserved here is not submitted or discarded on every path${where}: call ringbuf_submit(e) or ringbuf_discard(e) before each return`);
  }
  for (const use of usesAfterRelease) {
    at(use.use, `the ring buffer record is used after ringbuf_submit/ringbuf_discard${use.release.loc ? ` (line ${use.release.loc.line})` : ""}`);
  }
  if (diagnostics.length > 0) throw new CompileError(diagnostics);
}

/**
 * `fn` and the module functions it calls (BPF-to-BPF), transitively, in the order found; and
 * each one's helper calls, found in the same walk over their instructions.
 */
function calledFunctions(unit: ModuleLowering, fn: Function): { functions: Function[]; helperCalls: Map<Function, Instruction[]> } {
  const functions: Function[] = [fn];
  const helperCalls = new Map<Function, Instruction[]>();
  const seen = new Set<Function>([fn]);
  const work = [fn];
  while (work.length > 0) {
    const f = work.pop()!;
    let calls: Instruction[] | undefined;
    for (const bb of f.blocks) {
      for (let inst = bb.first; inst; inst = inst.next) {
        if (inst.opcode !== "call") continue;
        if (inst.callee !== undefined) {
          const callee = unit.module.getFunction(inst.callee);
          if (callee && !seen.has(callee)) {
            seen.add(callee);
            functions.push(callee);
            work.push(callee);
          }
        } else if (inst.helper !== undefined) {
          (calls ??= []).push(inst);
        }
      }
    }
    if (calls) helperCalls.set(f, calls);
  }
  return { functions, helperCalls };
}
