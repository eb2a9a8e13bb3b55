/**
 * Packet dissectors (`pkt.ip.tcp.dst_port`) and the minimal payload access bcc programs
 * use (`pkt.ip.tcp.data`, `data[i]`, `data(from, to)`, `data + n`), read with classic
 * packet loads (eBPF `LD_ABS`/`LD_IND`: big-endian bytes come out in host order; a load
 * past the end of the packet stops the program with 0).
 *
 *   pkt.ip.proto          pktload i8 %ctx, 0, 23 ; zext (then lshr/and for bit fields)
 *   pkt.ip.tcp.dst_port   %h = pktload i8 %ctx, 0, 14 ; and 15 ; shl 2 ; pktload i16 %ctx, %h, 16
 *   tcp.data              + (pktload i8 at tcp+12) >> 4 << 2    (udp.data: + 8)
 *   data(0, 4)            pktload i32 %ctx, %idx, off            (8 bytes: two loads)
 *
 * A position used as a number is its byte offset in the packet (`data + 7 > skb.len`).
 * Full payload access (direct packet access, slices of any size) is the packet issue's.
 */
import { i16, i32, i64, i8, intTypeOfSize, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { constantValue } from "../runtime.js";
import { HEADERS, type HeaderField, type HeaderName } from "../dissectors.js";
import type { PacketPosition } from "../values.js";
import type { BodyLowering } from "./body.js";
import { staticValue, type RValue } from "./values.js";

/** `pos.name`: a header field or the next header. */
export function packetMember(L: BodyLowering, pos: PacketPosition, name: string, node: lua.Node): RValue {
  const header = HEADERS[pos.header];
  if (Object.hasOwn(header.next, name)) {
    return staticValue({ kind: "packet", position: nextHeader(L, pos, name as HeaderName) });
  }
  if (Object.hasOwn(header.fields, name)) return L.ops.number(packetField(L, pos, header.fields[name]!));
  const known = [...Object.keys(header.fields), ...Object.keys(header.next)].join(", ");
  return L.fail(node, `unknown field '${name}' of the ${header.title}${known ? ` (known: ${known})` : ""}`);
}

/** A header field at `pos` as an i64 (host byte order, zero-extended, bit field extracted). */
function packetField(L: BodyLowering, pos: PacketPosition, field: HeaderField): Value {
  const b = L.b;
  const index = pos.index ?? b.const(0);
  let v: Value = b.cast("zext", b.pktLoad(intTypeOfSize(field.size), L.ctx, index, pos.offset + field.offset), i64);
  if (field.shift) v = b.binary("lshr", v, b.const(field.shift));
  if (field.mask !== undefined) v = b.and(v, b.const(field.mask));
  return v;
}

/** The position of header `next` that follows the header at `pos`. */
function nextHeader(L: BodyLowering, pos: PacketPosition, next: HeaderName): PacketPosition {
  const link = HEADERS[pos.header].next[next]!;
  const b = L.b;
  switch (link.at.kind) {
    case "fixed":
      return { header: link.header, offset: pos.offset + link.at.bytes, index: pos.index };
    case "ihl":
    case "tcp_offset": {
      // IPv4: the low nibble of byte 0; TCP: the high nibble of byte 12; both in 32-bit words.
      const at = link.at.kind === "ihl" ? 0 : 12;
      const byte = b.cast("zext", b.pktLoad(i8, L.ctx, pos.index ?? b.const(0), pos.offset + at), i64);
      const bytes = link.at.kind === "ihl" ? b.shl(b.and(byte, b.const(0x0f)), b.const(2)) : b.shl(b.binary("lshr", byte, b.const(4)), b.const(2));
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

/** `data[i]`: the byte at `i` past the position. */
export function packetIndex(L: BodyLowering, pos: PacketPosition, idx: RValue, node: lua.IndexExpression): RValue {
  const i = L.number(idx, node.index, "index a packet with");
  const at = advanced(L, pos, i);
  return L.ops.number(L.b.cast("zext", L.b.pktLoad(i8, L.ctx, at.index ?? L.b.const(0), at.offset), i64));
}

function advanced(L: BodyLowering, pos: PacketPosition, i: Value): PacketPosition {
  const k = constantValue(i);
  if (k !== undefined) return { ...pos, offset: pos.offset + Number(k) };
  return { ...pos, index: pos.index ? L.b.add(pos.index, i) : i };
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
  const at = advanced(L, pos, L.b.const(a));
  const index = at.index ?? L.b.const(0);
  const bld = L.b;
  switch (width) {
    case 1:
    case 2:
    case 4:
      return L.ops.number(bld.cast("zext", bld.pktLoad(width === 1 ? i8 : width === 2 ? i16 : i32, L.ctx, index, at.offset), i64));
    case 8: {
      const hi = bld.cast("zext", bld.pktLoad(i32, L.ctx, index, at.offset), i64);
      const lo = bld.cast("zext", bld.pktLoad(i32, L.ctx, index, at.offset + 4), i64);
      return L.ops.number(bld.or(bld.shl(hi, bld.const(32)), lo));
    }
    default:
      return L.fail(node, `a packet slice reads 1, 2, 4 or 8 bytes, not ${width}`);
  }
}
