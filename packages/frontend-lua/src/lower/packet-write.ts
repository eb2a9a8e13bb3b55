/**
 * Assignments to packet fields (`pkt.ip.ttl = 1`, `pkt.ip.tcp.dst_port = 8080`,
 * `pkt.ip.dst = 0x0a000002`, `pkt.ip6.dst_lo = ...`, `pkt.dst = 0x020000000001`,
 * `pkt.ip.df = 0`) in the program types that may change packets (tc, XDP), with the
 * checksums that cover the field kept right.
 *
 * The field is stored directly (after the header's bounds check, as for reads:
 * packet.ts), in network byte order: 1, 2, 4 and 8 bytes in one store, 6 (MAC addresses)
 * in two. A bit field is read, changed in its bits and stored whole (its 1- or 2-byte
 * unit). Then each checksum covering it is updated incrementally (RFC 1624: HC' = ~(~HC +
 * ~m + m'), over the 16-bit words the field changed; a 1-byte field is the high or low half
 * of its word):
 *
 *   field of                checksums updated
 *   IPv4 header             the IPv4 header checksum (ip + 10); `src`/`dst` also the TCP
 *                           (tcp + 16) or UDP (udp + 6) checksum of the pseudo-header,
 *                           chosen at run time by `proto`
 *   IPv6 header             `src_*`/`dst_*` (address halves): the TCP, UDP or ICMPv6
 *                           checksum of the pseudo-header, chosen at run time by
 *                           `next_header` (the header right after the IPv6 header)
 *   TCP, UDP header         its checksum (a UDP checksum of 0, "none", stays 0)
 *   ICMP, ICMPv6 header     its checksum (ICMPv6's pseudo-header has no field of the ICMPv6 header)
 *   others (Ethernet, VLAN, ARP)  none
 *
 * tc updates them with the kernel's helpers, `bpf_l3_csum_replace` and
 * `bpf_l4_csum_replace` (with `BPF_F_PSEUDO_HDR` for addresses and `BPF_F_MARK_MANGLED_0`
 * for UDP), which also keep the skb's checksum state right; XDP has no such helpers and
 * computes the same update in the program. Writing a checksum field itself updates nothing.
 *
 * Bytes through bcc's raw packet pointer (`ptr[i] = v`, ptr from `skb.data`) are stored as
 * C stores them: the byte only, no checksum (the program owns the bytes it addresses).
 */
import { i16, i32, i64, i8, intTypeOfSize, type IntType, type Value } from "@luabpf/ir";
import { BPF_FUNC, HelperFlag } from "@luabpf/platform";
import type * as lua from "luaparse";
import { HEADERS, PROTOCOL_CONSTANTS, type HeaderName } from "../dissectors.js";
import type { PacketPosition } from "../values.js";
import type { BodyLowering } from "./body.js";
import { checkedBase, nextHeader, packetOffset, unknownField } from "./packet.js";
import { constantValue } from "../runtime.js";
import type { RValue } from "./values.js";

/** Where the checksum covering a header's fields is, relative to the header, and how it is kept. */
const CHECKSUMS: Partial<Record<HeaderName, { readonly at: number; readonly layer: 3 | 4; readonly udp?: boolean; readonly fields: readonly string[] }>> = {
  ip: { at: 10, layer: 3, fields: ["checksum", "hchecksum"] },
  tcp: { at: 16, layer: 4, fields: ["checksum", "cksum"] },
  udp: { at: 6, layer: 4, udp: true, fields: ["checksum", "crc"] },
  icmp: { at: 2, layer: 4, fields: ["checksum"] },
  icmp6: { at: 2, layer: 4, fields: ["checksum"] },
};

/**
 * Fields in the pseudo-header of the transport checksums, by network header: which field
 * says what follows (its offset in the header), and the transport headers whose checksum
 * covers the pseudo-header, by protocol number.
 */
const PSEUDO_HEADERS: Partial<Record<HeaderName, { readonly fields: readonly string[]; readonly next: number; readonly l4: readonly HeaderName[] }>> = {
  ip: { fields: ["src", "dst"], next: 9, l4: ["tcp", "udp"] },
  ip6: { fields: ["src_hi", "src_lo", "dst_hi", "dst_lo"], next: 6, l4: ["tcp", "udp", "icmp6"] },
};

/** The IANA protocol number of a transport header (bcc's `c.ip.proto_*`). */
function protocolNumber(header: HeaderName): number {
  return PROTOCOL_CONSTANTS.ip![`proto_${header}`]!;
}

/** `pos.name = value`. */
export function packetStore(L: BodyLowering, pos: PacketPosition, name: string, value: RValue, node: lua.MemberExpression): void {
  const header = HEADERS[pos.header];
  if (Object.hasOwn(header.next, name)) return void L.fail(node, `cannot assign to '${name}': it is a header, not a field`);
  if (!Object.hasOwn(header.fields, name)) return void L.fail(node.identifier, unknownField(pos.header, name));
  if (!L.program.kind.packetWrites) return void L.fail(node, `${L.program.kindName} programs cannot change the packet (tc and XDP programs can)`);
  const field = header.fields[name]!;
  const v = L.number(value, node, "store in a packet field");
  const b = L.b;
  const at = pos.offset + field.offset;
  const base = checkedBase(L, pos, Math.max(header.size, field.offset + field.size), node);
  const oldHost = loadHost(L, base, at, field.size);
  let newHost: Value = b.and(v, b.const(fieldMask(field.size)));
  if (field.mask !== undefined) {
    // A bit field: its bits of the unit change, the others stay.
    const bits = BigInt(field.mask) << BigInt(field.shift ?? 0);
    const keep = b.and(oldHost, b.const(fieldMask(field.size) & ~bits));
    newHost = b.or(keep, b.and(b.shl(v, b.const(field.shift ?? 0)), b.const(bits)));
  }
  storeHost(L, newHost, base, at, field.size);

  const sum = CHECKSUMS[pos.header];
  const pseudo = PSEUDO_HEADERS[pos.header];
  const change: Change = { oldHost, newHost, size: field.size, odd: field.offset % 2 === 1 };
  if (sum && !sum.fields.includes(name)) updateChecksum(L, pos, sum.at, sum.layer, sum.udp === true, change, false, node);
  if (pseudo && pseudo.fields.includes(name)) {
    // The address is also in the transport checksum's pseudo-header: which one follows from
    // the protocol field.
    const proto = b.cast("zext", b.load(i8, checkedBase(L, pos, header.size, node), pos.offset + pseudo.next), i64);
    const join = L.newBlock();
    for (const l4 of pseudo.l4) {
      const number = protocolNumber(l4);
      const yes = L.newBlock();
      const no = L.newBlock();
      L.condBranch(b.compare("eq", proto, b.const(number)), yes, no);
      L.seal(yes);
      L.seal(no);
      L.setCurrent(yes);
      const l4pos = nextHeader(L, pos, l4, node);
      const s = CHECKSUMS[l4]!;
      updateChecksum(L, l4pos, s.at, 4, s.udp === true, change, true, node);
      L.branch(join);
      L.setCurrent(no);
    }
    L.branch(join);
    L.seal(join);
    L.setCurrent(join);
  }
}

/** All ones in a field of `size` bytes. */
function fieldMask(size: number): bigint {
  return (1n << BigInt(size * 8)) - 1n;
}

/** The `size`-byte big-endian number at `base + at`, in host order (6 bytes: two loads). */
function loadHost(L: BodyLowering, base: Value, at: number, size: 1 | 2 | 4 | 6 | 8): Value {
  if (size === 6) {
    const hi = loadHost(L, base, at, 2);
    return L.b.or(L.b.shl(hi, L.b.const(32)), loadHost(L, base, at + 2, 4));
  }
  const type = intTypeOfSize(size);
  return toHost(L, L.b.load(type, base, at), type);
}

/** Stores `host` (its low `size` bytes) at `base + at` in network byte order. */
function storeHost(L: BodyLowering, host: Value, base: Value, at: number, size: 1 | 2 | 4 | 6 | 8): void {
  const b = L.b;
  if (size === 6) {
    storeHost(L, b.binary("lshr", host, b.const(32)), base, at, 2);
    storeHost(L, host, base, at + 2, 4);
    return;
  }
  b.store(toNetwork(L, host, intTypeOfSize(size)), base, at);
}

/** A field's change: old and new values in host order (zero-extended i64s). */
interface Change {
  readonly oldHost: Value;
  readonly newHost: Value;
  readonly size: 1 | 2 | 4 | 6 | 8;
  /** A 1-byte field at an odd offset: the low byte of its 16-bit word (else the high byte). */
  readonly odd: boolean;
}

function toHost(L: BodyLowering, raw: Value, type: IntType): Value {
  const swapped = type.bits === 8 ? raw : L.b.unary("bswap", raw);
  return type.bits === 64 ? swapped : L.b.cast("zext", swapped, i64);
}

function toNetwork(L: BodyLowering, host: Value, type: IntType): Value {
  const narrow = type.bits === 64 ? host : L.b.cast("trunc", host, type);
  return type.bits === 8 ? narrow : L.b.unary("bswap", narrow);
}

/** The change as 16-bit words in host order: a 1-byte field is moved to its half of the word. */
function words(L: BodyLowering, host: Value, c: Change): Value[] {
  const b = L.b;
  if (c.size === 1) return [c.odd ? host : b.shl(host, b.const(8))];
  const out: Value[] = [];
  for (let i = c.size / 2 - 1; i >= 0; i--) out.push(i === 0 ? b.and(host, b.const(0xffff)) : b.and(b.binary("lshr", host, b.const(16 * i)), b.const(0xffff)));
  return out;
}

/**
 * The change as pieces the tc checksum helpers take (2 or 4 bytes each, host order): a
 * 1-byte field as its 16-bit word, 6 bytes as 2 + 4, 8 bytes as 4 + 4.
 */
function pieces(L: BodyLowering, host: Value, c: Change): { size: 2 | 4; host: Value }[] {
  const b = L.b;
  const part = (shift: number, bytes: 2 | 4) => ({ size: bytes, host: b.and(shift ? b.binary("lshr", host, b.const(shift)) : host, b.const(fieldMask(bytes))) });
  switch (c.size) {
    case 1:
      return [{ size: 2, host: words(L, host, c)[0]! }];
    case 2:
    case 4:
      return [{ size: c.size, host }];
    case 6:
      return [part(32, 2), part(0, 4)];
    case 8:
      return [part(32, 4), part(0, 4)];
  }
}

/**
 * Updates the checksum at `at` past `pos` for change `c` (`pseudo`: the field is in the
 * pseudo-header, not in the header the checksum covers).
 */
function updateChecksum(L: BodyLowering, pos: PacketPosition, at: number, layer: 3 | 4, udp: boolean, c: Change, pseudo: boolean, node: lua.Node): void {
  const b = L.b;
  if (L.program.kind.packet === "classic") {
    // tc: the kernel's helpers, with the old and new values as they are in memory.
    const raw = (host: Value, size: 2 | 4): Value => b.cast("zext", b.unary("bswap", b.cast("trunc", host, size === 4 ? i32 : i16)), i64);
    const olds = pieces(L, c.oldHost, c);
    const news = pieces(L, c.newHost, c);
    olds.forEach((o, i) => {
      const offset = b.add(packetOffset(L, pos), b.const(at));
      const [from, to] = [raw(o.host, o.size), raw(news[i]!.host, o.size)];
      if (layer === 3) {
        b.callHelper(BPF_FUNC.l3_csum_replace, [L.ctx, offset, from, to, b.const(o.size)]);
      } else {
        const flags = o.size | (pseudo ? HelperFlag.PSEUDO_HDR : 0) | (udp ? HelperFlag.MARK_MANGLED_0 : 0);
        b.callHelper(BPF_FUNC.l4_csum_replace, [L.ctx, offset, from, to, b.const(flags)]);
      }
    });
    return;
  }
  // XDP: HC' = ~(~HC + ~m + m') in one's-complement arithmetic (RFC 1624, eqn. 3).
  const base = checkedBase(L, pos, Math.max(HEADERS[pos.header].size, at + 2), node);
  const hc = toHost(L, b.load(i16, base, pos.offset + at), i16);
  const mask = b.const(0xffff);
  let sum: Value = b.xor(hc, mask);
  for (const m of words(L, c.oldHost, c)) sum = b.add(sum, b.xor(m, mask));
  for (const m of words(L, c.newHost, c)) sum = b.add(sum, m);
  for (let i = 0; i < 2; i++) sum = b.add(b.and(sum, mask), b.binary("lshr", sum, b.const(16)));
  let result: Value = b.xor(sum, mask);
  if (udp) {
    // A UDP checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xffff.
    result = b.select(b.compare("eq", result, b.const(0)), mask, result);
    result = b.select(b.compare("eq", hc, b.const(0)), b.const(0), result);
  }
  b.store(toNetwork(L, result, i16), base, pos.offset + at);
}

/**
 * `ptr[i] = v` through a raw packet pointer (`skb.data + n`): the byte, after the check a
 * read would have (a short packet is left alone; the program returns its pass verdict). No
 * checksum changes: like a C store through the pointer. Payload bytes of the dissectors
 * (`pkt.ip.udp.data[i]`), whose checksum the dialect would have to keep, cannot be assigned.
 */
export function packetByteStore(L: BodyLowering, pos: PacketPosition, key: RValue, value: RValue, node: lua.IndexExpression): void {
  if (pos.header !== "raw") {
    return void L.fail(node, `cannot assign to a byte of the ${HEADERS[pos.header].title}: the dialect would have to keep its checksum right; assign header fields (pkt.ip.ttl = 1), or bytes through a raw packet pointer (local p = skb.data + n; p[i] = v), which changes the byte only`);
  }
  if (!L.program.kind.packetWrites) return void L.fail(node, `${L.program.kindName} programs cannot change the packet (tc and XDP programs can)`);
  const b = L.b;
  const i = L.number(key, node.index, "index a packet with");
  const v = L.number(value, node, "store in a packet byte");
  const k = constantValue(i);
  const at: PacketPosition = k !== undefined ? { ...pos, offset: pos.offset + Number(k) } : { ...pos, index: pos.index ? b.add(pos.index, i) : i };
  const base = checkedBase(L, at, 1, node);
  b.store(b.cast("trunc", v, i8), base, at.offset);
}
