/**
 * Packet dissectors (`pkt.ip.tcp.dst_port`) and payload access (`pkt.ip.tcp.data`,
 * `data[i]`, `data(from, to)`, `data + n`), read in one of two ways the program type allows:
 *
 * - **classic** (socket filters): eBPF `LD_ABS`/`LD_IND` loads. Big-endian bytes come out
 *   in host order; a load past the end of the packet stops the program with 0.
 *
 *     pkt.ip.proto          pktload i8 %ctx, 0, 23 ; zext (then lshr/and for bit fields)
 *     pkt.ip.tcp.dst_port   %h = pktload i8 %ctx, 0, 14 ; and 15 ; shl 2 ; pktload i16 %ctx, %h, 16
 *
 * - **direct** (tc, XDP): loads through the context's `data` pointer, each preceded by the
 *   check the verifier needs. Reading any field of a header checks that the header's whole
 *   fixed part (`HeaderLayout.size`) is in the packet; where it is not, the program returns
 *   its type's pass verdict ({@link shortPacketVerdict}). Checks of one header are therefore
 *   identical, and after value numbering the `packet-bounds` pass keeps one per header (and
 *   merges neighbouring headers' checks on a straight path).
 *
 *     pkt.ip.proto          %d = load ptr.packet %ctx, 0 ; %e = load ptr.packet_end %ctx, 4
 *                           %q = ptradd ptr.packet %d, 34 ; %c = ugt ptr.packet %q, %e
 *                           condbr %c, @short, @ok    @ok: %v = load i8 %d, 23 ; zext
 *
 *   Multi-byte fields are loaded and byte-swapped from network order.
 *
 * A position used as a number is its byte offset in the packet (`data + 7 > skb.len`).
 */
import { Builder, i32, i64, InternalError, intTypeOfSize, ptrType, type BasicBlock, type Instruction, type IntType, type Value } from "@luabpf/ir";
import { CONTEXT_STRUCTS, PROGRAM_TYPES, TC_ACTIONS, XDP_ACTIONS, type ContextField as ContextStructField, type ProgramResult } from "@luabpf/platform";
import type * as lua from "luaparse";
import { constantValue } from "../runtime.js";
import { HEADERS, type HeaderField, type HeaderName, type NextHeader } from "../dissectors.js";
import type { PacketPosition } from "../values.js";
import type { BodyLowering } from "./body.js";
import { describeRValue } from "./memory.js";
import { staticValue, type RValue } from "./values.js";

/**
 * What a program returns when its packet is shorter than a header it reads (direct
 * access): the pass verdict of its type — `XDP_PASS` for XDP, `TC_ACT_OK` for tc, 1 (allow)
 * for cgroup skb programs, else 0 (which is also what classic loads past the end return).
 */
export function shortPacketVerdict(result: ProgramResult): bigint {
  switch (result) {
    case "xdp_action":
      return BigInt(XDP_ACTIONS.indexOf("XDP_PASS"));
    case "tc_action":
      return BigInt(Object.entries(TC_ACTIONS).find(([, name]) => name === "TC_ACT_OK")![0]);
    case "cgroup_verdict":
      return 1n;
    case "socket_filter":
    case "integer":
      return 0n;
  }
}

/** `pos.name`: a header field or the next header. */
export function packetMember(L: BodyLowering, pos: PacketPosition, name: string, node: lua.Node): RValue {
  const header = HEADERS[pos.header];
  if (Object.hasOwn(header.next, name)) {
    return staticValue({ kind: "packet", position: nextHeader(L, pos, name as HeaderName, node) });
  }
  if (Object.hasOwn(header.fields, name)) return L.ops.number(readField(L, pos, header.fields[name]!, node));
  return L.fail(node, unknownField(pos.header, name));
}

export function unknownField(header: HeaderName, name: string): string {
  const h = HEADERS[header];
  const known = [...Object.keys(h.fields), ...Object.keys(h.next)].join(", ");
  return `unknown field '${name}' of the ${h.title}${known ? ` (known: ${known})` : ""}`;
}

/** A header field at `pos` as an i64 (host byte order, zero-extended, bit field extracted). */
function readField(L: BodyLowering, pos: PacketPosition, field: HeaderField, node: lua.Node): Value {
  const b = L.b;
  let v = readBytes(L, pos, field.offset, field.size, HEADERS[pos.header].size, node);
  if (field.shift) v = b.binary("lshr", v, b.const(field.shift));
  if (field.mask !== undefined) v = b.and(v, b.const(field.mask));
  return v;
}

/**
 * `size` bytes at `at` past the position as a big-endian number (an i64). Direct access
 * first checks that `need` bytes past the position are in the packet.
 */
function readBytes(L: BodyLowering, pos: PacketPosition, at: number, size: 1 | 2 | 4 | 6 | 8, need: number, node: lua.Node): Value {
  const b = L.b;
  const direct = directRead(L, pos);
  if (size === 6 || (size === 8 && !direct)) {
    // Two loads: the high 2 or 4 bytes, then the low 4.
    const hi = readBytes(L, pos, at, size === 6 ? 2 : 4, need, node);
    const lo = readBytes(L, pos, at + size - 4, 4, need, node);
    return b.or(b.shl(hi, b.const(32)), lo);
  }
  const type = intTypeOfSize(size);
  if (!directRead(L, pos)) {
    return b.cast("zext", b.pktLoad(type, L.ctx, pos.index ?? b.const(0), pos.offset + at), i64);
  }
  const base = checkedBase(L, pos, Math.max(need, at + size), node);
  return fromNetwork(L, b.load(type, base, pos.offset + at), type);
}

/** A loaded network-order integer as an i64 in host order. */
function fromNetwork(L: BodyLowering, v: Value, type: IntType): Value {
  const swapped = type.bits === 8 ? v : L.b.unary("bswap", v);
  return type.bits === 64 ? swapped : L.b.cast("zext", swapped, i64);
}

/**
 * Whether reads at `pos` load directly: always in programs whose packets are read directly
 * (XDP); through bcc's raw pointer (`skb.data + n`) also in the other program types that
 * allow direct access (tc), as the user's own checks against `data_end` are about it.
 */
function directRead(L: BodyLowering, pos: PacketPosition): boolean {
  if (L.program.kind.packet === "direct") return true;
  return pos.header === "raw" && PROGRAM_TYPES[L.program.kind.type].directPacketAccess !== undefined;
}

// ---- bcc's raw packet pointers: `skb.data`, `skb.data_end` ----

/**
 * A packet pointer field of the context read in a body: `data` is a position at the
 * packet's first byte (of the `raw` header: `ptr[i]` reads bytes), `data_end` the packet's
 * end, which positions are compared with ({@link packetCompare}).
 */
export function contextPacketPointer(L: BodyLowering, pointer: "packet" | "packet_end" | "packet_meta", name: string, node: lua.Node): RValue {
  switch (pointer) {
    case "packet":
      return staticValue({ kind: "packet", position: { header: "raw", offset: 0, index: undefined } });
    case "packet_end":
      return staticValue({ kind: "packetEnd" });
    case "packet_meta":
      return L.fail(node, `'${name}' (the metadata area before the packet) is not supported; read the packet through '${name === "data_meta" ? "data" : name}' or 'pkt'`);
  }
}

/**
 * `data_end` used as a number: the context field's raw 32-bit value, as C would read it
 * (the verifier refuses arithmetic on it: compare positions with it instead).
 */
export function packetEndNumber(L: BodyLowering): Value {
  const at = contextFieldOffset(L, (f) => f.pointer === "packet_end");
  return L.b.cast("zext", L.b.load(i32, L.ctx, at), i64);
}

function contextFieldOffset(L: BodyLowering, match: (f: ContextStructField) => boolean): number {
  const type = PROGRAM_TYPES[L.program.kind.type];
  const field = type.context !== undefined ? CONTEXT_STRUCTS[type.context]?.fields.find(match) : undefined;
  if (!field) throw new InternalError(`no such field in the context of ${type.name}`);
  return field.offset;
}

/** Comparison operators on positions, as unsigned comparisons. */
const POINTER_COMPARES = { "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge" } as const;

/**
 * `a < b` (`<=`, `>`, `>=`) where one side is the packet's end (`data_end`) and the other
 * a position; undefined when neither side is the end. Where the program type has direct
 * access, the two are compared as packet pointers (`ptr + n` against `data_end`): the
 * verifier takes the comparison as a bounds check, and so does the `packet-bounds` pass,
 * which drops the checks of reads it implies. Socket filters have no direct access: their
 * positions are byte offsets and the end is the packet's length (`skb.len`), which is what
 * the classic loads they read with are bounded by.
 */
export function packetCompare(L: BodyLowering, op: string, left: RValue, right: RValue, node: lua.BinaryExpression): Value | undefined {
  const isEnd = (v: RValue): boolean => v.kind === "static" && v.value.kind === "packetEnd";
  if (!isEnd(left) && !isEnd(right)) return undefined;
  if (!Object.hasOwn(POINTER_COMPARES, op)) return L.fail(node, "the packet's end (data_end) can only be compared with <, <=, > or >= to a packet position");
  const cmp = POINTER_COMPARES[op as keyof typeof POINTER_COMPARES];
  const side = (v: RValue, n: lua.Expression): { end: true } | { pos: PacketPosition } => {
    if (isEnd(v)) return { end: true };
    if (v.kind === "static" && v.value.kind === "packet") return { pos: v.value.position };
    return L.fail(n, `the packet's end (data_end) can only be compared with a packet position (such as 'skb.data + 14'), not with ${describeRValue(L, v)}`);
  };
  const [a, b] = [side(left, node.left), side(right, node.right)];
  if ("end" in a && "end" in b) return L.b.const(op === "<=" || op === ">=" ? 1 : 0);
  const operand = (s: { end: true } | { pos: PacketPosition }, direct: boolean): Value => {
    if ("pos" in s) {
      if (!direct) return packetOffset(L, s.pos);
      const base = positionBase(L, s.pos);
      return s.pos.offset === 0 ? base : L.b.ptrAdd(base, L.b.const(s.pos.offset));
    }
    return direct ? packetPointer(L, "end") : L.b.cast("zext", L.b.load(i32, L.ctx, contextFieldOffset(L, (f) => f.name === "len")), i64);
  };
  const direct = PROGRAM_TYPES[L.program.kind.type].directPacketAccess !== undefined;
  if (direct) requireProgramBody(L, node);
  return L.b.compare(cmp, operand(a, direct), operand(b, direct));
}

function requireProgramBody(L: BodyLowering, node: lua.Node): void {
  if (L.returns.kind !== "program") {
    L.fail(node, `direct packet access (${L.program.kindName} programs) is only possible in the program's own body, not in a function it calls: read the fields in the body and pass them`);
  }
}

// ---- direct access ----

/** Offsets of the context's `data` and `data_end` pointer fields. */
function packetPointerFields(L: BodyLowering): { data: number; end: number } {
  const type = PROGRAM_TYPES[L.program.kind.type];
  const struct = type.context !== undefined ? CONTEXT_STRUCTS[type.context] : undefined;
  const data = struct?.fields.find((f) => f.pointer === "packet");
  const end = struct?.fields.find((f) => f.pointer === "packet_end");
  if (!data || !end) throw new Error(`no packet pointers in the context of ${type.name}`);
  return { data: data.offset, end: end.offset };
}

const entryPointers = new WeakMap<BodyLowering, { data: Value; end: Value }>();

/**
 * A packet pointer: `ctx.data` or `ctx.data_end`. XDP programs load both once, at the
 * start of the program (nothing the dialect lets them call moves the packet). Elsewhere (tc,
 * whose checksum helpers invalidate every packet pointer) each is loaded where it is used.
 */
function packetPointer(L: BodyLowering, which: "data" | "end"): Value {
  const fields = packetPointerFields(L);
  const type = ptrType(which === "data" ? "packet" : "packet_end");
  if (L.program.kind.type !== "xdp") return L.b.load(type, L.ctx, fields[which]);
  let p = entryPointers.get(L);
  if (!p) {
    const b = new Builder(L.fn).atStart(L.fn.entry);
    b.loc = L.b.loc;
    const end = b.load(ptrType("packet_end"), L.ctx, fields.end);
    const data = new Builder(L.fn).atStart(L.fn.entry).load(ptrType("packet"), L.ctx, fields.data);
    (data as Instruction).loc = L.b.loc;
    p = { data, end };
    entryPointers.set(L, p);
  }
  return p[which];
}

/** The packet's first byte (`ctx.data`). */
function packetData(L: BodyLowering): Value {
  return packetPointer(L, "data");
}

/** The position's base pointer: `data + index` (its constant offset not added). */
function positionBase(L: BodyLowering, pos: PacketPosition): Value {
  const data = packetData(L);
  return pos.index ? L.b.ptrAdd(data, pos.index) : data;
}

const shortBlocks = new WeakMap<BodyLowering, BasicBlock>();

/**
 * The position's base pointer, after a check that `need` bytes past the position's start
 * are in the packet (`base + offset + need <= data_end`); on a shorter packet the program
 * returns {@link shortPacketVerdict}.
 */
export function checkedBase(L: BodyLowering, pos: PacketPosition, need: number, node: lua.Node): Value {
  requireProgramBody(L, node);
  const b = L.b;
  const base = positionBase(L, pos);
  const end = packetPointer(L, "end");
  const limit = pos.offset + need === 0 ? base : b.ptrAdd(base, b.const(pos.offset + need));
  const short = b.compare("ugt", limit, end);
  let exit = shortBlocks.get(L);
  if (!exit) {
    exit = L.newBlock();
    b.atEnd(exit);
    b.ret(b.const(shortPacketVerdict(PROGRAM_TYPES[L.program.kind.type].result)));
    b.atEnd(L.current);
    L.seal(exit);
    shortBlocks.set(L, exit);
  }
  const ok = L.newBlock();
  L.condBranch(short, exit, ok);
  L.seal(ok);
  L.setCurrent(ok);
  return base;
}

// ---- positions ----

/** The position of header `next` that follows the header at `pos`. */
export function nextHeader(L: BodyLowering, pos: PacketPosition, next: HeaderName, node: lua.Node): PacketPosition {
  const link = HEADERS[pos.header].next[next]!;
  const b = L.b;
  const at: NextHeader = link.at;
  switch (at.kind) {
    case "fixed":
      return { header: link.header, offset: pos.offset + at.bytes, index: pos.index };
    case "length": {
      // (field + plus) * scale bytes after this header's start.
      let bytes = readField(L, pos, at.field, node);
      if (at.plus) bytes = b.add(bytes, b.const(at.plus));
      const log2 = Math.log2(at.scale);
      bytes = Number.isInteger(log2) ? b.shl(bytes, b.const(log2)) : b.mul(bytes, b.const(at.scale));
      return { header: link.header, offset: pos.offset, index: pos.index ? b.add(pos.index, bytes) : bytes };
    }
  }
}

/** The byte offset of a position, as a number. */
export function packetOffset(L: BodyLowering, pos: PacketPosition): Value {
  const b = L.b;
  if (!pos.index) return b.const(pos.offset);
  return pos.offset === 0 ? pos.index : b.add(pos.index, b.const(pos.offset));
}

/** `pos + n` (`pos - n`): the position `n` bytes further (earlier), of the same header. */
export function packetAdvance(L: BodyLowering, pos: PacketPosition, n: Value, negate: boolean): RValue {
  const k = constantValue(n);
  if (k !== undefined) return staticValue({ kind: "packet", position: { ...pos, offset: pos.offset + Number(negate ? -k : k) } });
  const delta = negate ? L.b.unary("neg", n) : n;
  return staticValue({ kind: "packet", position: { ...pos, index: pos.index ? L.b.add(pos.index, delta) : delta } });
}

/** `data[i]` (`pkt.ip[i]`): the byte at `i` past the position. */
export function packetIndex(L: BodyLowering, pos: PacketPosition, idx: RValue, node: lua.IndexExpression): RValue {
  const i = L.number(idx, node.index, "index a packet with");
  const at = advanced(L, pos, i);
  return L.ops.number(readBytes(L, at, 0, 1, 1, node));
}

function advanced(L: BodyLowering, pos: PacketPosition, i: Value): PacketPosition {
  const k = constantValue(i);
  if (k !== undefined) return { ...pos, offset: pos.offset + Number(k) };
  // `x + c` moves the constant into the offset: `ip[2 * i]` and `ip[2 * i + 1]` then share
  // a base pointer, and their bounds checks can be merged (packet-bounds).
  const [x, c] = splitConstant(i);
  return { ...pos, offset: pos.offset + c, index: pos.index ? L.b.add(pos.index, x) : x };
}

/** `x + c` (or `x - c`, `c + x`) as [x, c] for a small constant c; else [v, 0]. */
function splitConstant(v: Value): [Value, number] {
  if (v.kind !== "instruction") return [v, 0];
  const inst = v as Instruction;
  if (inst.opcode !== "add" && inst.opcode !== "sub") return [v, 0];
  const [a, b] = [inst.operands[0]!, inst.operands[1]!];
  const small = (x: Value): number | undefined => {
    const k = constantValue(x);
    return k !== undefined && k >= -0x1000n && k <= 0x1000n ? Number(k) : undefined;
  };
  const kb = small(b);
  if (kb !== undefined) return [a, inst.opcode === "add" ? kb : -kb];
  const ka = inst.opcode === "add" ? small(a) : undefined;
  return ka !== undefined ? [b, ka] : [v, 0];
}

/**
 * `data(from, to)`: bytes [from, to) of the packet past the position as a big-endian
 * number (1, 2, 4 or 8 bytes; `from` and `to` constants).
 */
export function packetSlice(L: BodyLowering, pos: PacketPosition, args: readonly lua.Expression[], node: lua.Expression): RValue {
  const usage = "data(from, to) reads bytes from..to-1 past the position";
  if (args.length !== 2) return L.fail(node, `a packet slice takes two constant offsets: ${usage}`);
  const [a, b] = args.map((x) => constantValue(L.number(L.expression(x), x, "use as a slice offset")));
  if (a === undefined || b === undefined) return L.fail(args[a === undefined ? 0 : 1]!, `packet slice offsets must be constants: ${usage}`);
  const width = Number(b - a);
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) return L.fail(node, `a packet slice reads 1, 2, 4 or 8 bytes, not ${width}`);
  const at = advanced(L, pos, L.b.const(a));
  return L.ops.number(readBytes(L, at, 0, width, width, node));
}
