/**
 * Assignments to packet fields (`pkt.ip.ttl = 1`, `pkt.ip.tcp.dst_port = 8080`,
 * `pkt.ip.dst = 0x0a000002`) in the program types that may change packets (tc, XDP), with
 * the checksums that cover the field kept right.
 *
 * The field is stored directly (after the header's bounds check, as for reads:
 * packet.ts), in network byte order. Then each checksum covering it is updated
 * incrementally (RFC 1624: HC' = ~(~HC + ~m + m'), over the 16-bit words the field
 * changed; a 1-byte field is the high or low half of its word):
 *
 *   field of                checksums updated
 *   IPv4 header             the IPv4 header checksum (ip + 10); `src`/`dst` also the TCP
 *                           (tcp + 16) or UDP (udp + 6) checksum of the pseudo-header,
 *                           chosen at run time by `proto`
 *   TCP, UDP header         its checksum (a UDP checksum of 0, "none", stays 0)
 *   ICMP, ICMPv6 header     its checksum (ICMPv6's pseudo-header has no field of the ICMPv6 header)
 *   others (Ethernet, VLAN, ARP, IPv6)  none (IPv6 has no header checksum)
 *
 * tc updates them with the kernel's helpers, `bpf_l3_csum_replace` and
 * `bpf_l4_csum_replace` (with `BPF_F_PSEUDO_HDR` for addresses and `BPF_F_MARK_MANGLED_0`
 * for UDP), which also keep the skb's checksum state right; XDP has no such helpers and
 * computes the same update in the program. Writing a checksum field itself updates nothing.
 */
import { i16, i32, i64, i8, intTypeOfSize, type IntType, type Value } from "@luabpf/ir";
import { BPF_FUNC, HelperFlag } from "@luabpf/platform";
import type * as lua from "luaparse";
import { HEADERS, type HeaderName } from "../dissectors.js";
import type { PacketPosition } from "../values.js";
import type { BodyLowering } from "./body.js";
import { checkedBase, nextHeader, packetOffset, unknownField } from "./packet.js";
import type { RValue } from "./values.js";

/** Where the checksum covering a header's fields is, relative to the header, and how it is kept. */
const CHECKSUMS: Partial<Record<HeaderName, { readonly at: number; readonly layer: 3 | 4; readonly udp?: boolean; readonly fields: readonly string[] }>> = {
  ip: { at: 10, layer: 3, fields: ["checksum", "hchecksum"] },
  tcp: { at: 16, layer: 4, fields: ["checksum", "cksum"] },
  udp: { at: 6, layer: 4, udp: true, fields: ["checksum", "crc"] },
  icmp: { at: 2, layer: 4, fields: ["checksum"] },
  icmp6: { at: 2, layer: 4, fields: ["checksum"] },
};

/** Fields of the IPv4 header that are in the TCP/UDP pseudo-header. */
const PSEUDO_HEADER_FIELDS: readonly string[] = ["src", "dst"];

/** `pos.name = value`. */
export function packetStore(L: BodyLowering, pos: PacketPosition, name: string, value: RValue, node: lua.MemberExpression): void {
  const header = HEADERS[pos.header];
  if (Object.hasOwn(header.next, name)) return void L.fail(node, `cannot assign to '${name}': it is a header, not a field`);
  if (!Object.hasOwn(header.fields, name)) return void L.fail(node.identifier, unknownField(pos.header, name));
  if (!L.program.kind.packetWrites) return void L.fail(node, `${L.program.kindName} programs cannot change the packet (tc and XDP programs can)`);
  const field = header.fields[name]!;
  if (field.shift !== undefined || field.mask !== undefined || (field.size !== 1 && field.size !== 2 && field.size !== 4)) {
    return void L.fail(node, `cannot assign to '${name}': only whole fields of 1, 2 or 4 bytes can be assigned, not bit fields or wider ones`);
  }
  const v = L.number(value, node, "store in a packet field");
  const b = L.b;
  const type = intTypeOfSize(field.size);
  const at = pos.offset + field.offset;
  const base = checkedBase(L, pos, Math.max(header.size, field.offset + field.size), node);
  const oldHost = toHost(L, b.load(type, base, at), type);
  const newHost = b.and(v, b.const((1n << BigInt(field.size * 8)) - 1n));
  b.store(toNetwork(L, newHost, type), base, at);

  const sum = CHECKSUMS[pos.header];
  if (!sum || sum.fields.includes(name)) return;
  const change: Change = { oldHost, newHost, size: field.size, odd: field.offset % 2 === 1 };
  updateChecksum(L, pos, sum.at, sum.layer, sum.udp === true, change, false, node);
  if (pos.header === "ip" && PSEUDO_HEADER_FIELDS.includes(name)) {
    // The address is also in the TCP or UDP pseudo-header: which one follows from `proto`.
    const proto = b.cast("zext", b.load(i8, checkedBase(L, pos, header.size, node), pos.offset + 9), i64);
    const join = L.newBlock();
    for (const [number, l4] of [[6, "tcp"], [17, "udp"]] as const) {
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

/** A field's change: old and new values in host order (zero-extended i64s). */
interface Change {
  readonly oldHost: Value;
  readonly newHost: Value;
  readonly size: 1 | 2 | 4;
  /** A 1-byte field at an odd offset: the low byte of its 16-bit word (else the high byte). */
  readonly odd: boolean;
}

function toHost(L: BodyLowering, raw: Value, type: IntType): Value {
  const swapped = type.bits === 8 ? raw : L.b.unary("bswap", raw);
  return L.b.cast("zext", swapped, i64);
}

function toNetwork(L: BodyLowering, host: Value, type: IntType): Value {
  const narrow = L.b.cast("trunc", host, type);
  return type.bits === 8 ? narrow : L.b.unary("bswap", narrow);
}

/** The change as 16-bit words in host order: a 1-byte field is moved to its half of the word. */
function words(L: BodyLowering, host: Value, c: Change): Value[] {
  const b = L.b;
  switch (c.size) {
    case 1:
      return [c.odd ? host : b.shl(host, b.const(8))];
    case 2:
      return [host];
    case 4:
      return [b.binary("lshr", host, b.const(16)), b.and(host, b.const(0xffff))];
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
    const raw = (host: Value): Value => {
      if (c.size === 4) return b.cast("zext", b.unary("bswap", b.cast("trunc", host, i32)), i64);
      const word = words(L, host, c)[0]!;
      return b.cast("zext", b.unary("bswap", b.cast("trunc", word, i16)), i64);
    };
    const size = c.size === 4 ? 4 : 2;
    const offset = b.add(packetOffset(L, pos), b.const(at));
    if (layer === 3) {
      b.callHelper(BPF_FUNC.l3_csum_replace, [L.ctx, offset, raw(c.oldHost), raw(c.newHost), b.const(size)]);
    } else {
      const flags = size | (pseudo ? HelperFlag.PSEUDO_HDR : 0) | (udp ? HelperFlag.MARK_MANGLED_0 : 0);
      b.callHelper(BPF_FUNC.l4_csum_replace, [L.ctx, offset, raw(c.oldHost), raw(c.newHost), b.const(flags)]);
    }
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
