/**
 * bcc's dissectors of issue 11 in the IR interpreter, read both ways the program types
 * allow: classic loads (socket filters, tc) and direct access with bounds checks (XDP).
 * Every field of Ethernet, 802.1Q, ARP, IPv6 (+ extension header) on hand-built packets;
 * bcc's protocol constants and the verdict names; a packet cut at every header boundary
 * gives the documented verdict.
 */
import { describe, expect, test } from "vitest";
import { interpret } from "@luabpf/ir";
import { contextField, SK_BUFF, XDP_MD, type ContextStruct } from "@luabpf/platform";
import { compile } from "./helpers.js";

type Kind = "socket" | "tc" | "xdp";
const KINDS: readonly Kind[] = ["socket", "tc", "xdp"];

function pointers(struct: ContextStruct) {
  return [
    { offset: contextField(struct, "data")!.offset, kind: "packet" as const },
    { offset: contextField(struct, "data_end")!.offset, kind: "packet_end" as const },
  ];
}

/** Runs `body` as a program of `kind` on `packet` in the interpreter. */
function evalIn(kind: Kind, body: string, packet: Uint8Array): bigint {
  const m = compile(`bpf.${kind}(function (ctx)\n${body}\nend)\n`);
  const struct = kind === "xdp" ? XDP_MD : SK_BUFF;
  const r = interpret(m, m.functions[0]!.name, ["ctx"], {
    ctx: new Uint8Array(struct.size),
    ctxPointers: kind === "socket" ? [] : pointers(struct),
    packet,
  });
  return r.value as bigint;
}

function bytes(size: number, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  fill(new DataView(b.buffer));
  return b;
}

/** Ethernet (MACs 02:..:01 -> 02:..:02), an 802.1Q tag (priority 5, CFI 1, VLAN 0x123), ARP request. */
const VLAN_ARP = bytes(14 + 4 + 28, (v) => {
  v.setUint32(0, 0x02000000);
  v.setUint16(4, 0x0002);
  v.setUint32(6, 0x02000000);
  v.setUint16(10, 0x0001);
  v.setUint16(12, 0x8100);
  v.setUint16(14, (5 << 13) | (1 << 12) | 0x123);
  v.setUint16(16, 0x0806);
  const a = 18;
  v.setUint16(a, 1);
  v.setUint16(a + 2, 0x0800);
  v.setUint8(a + 4, 6);
  v.setUint8(a + 5, 4);
  v.setUint16(a + 6, 1);
  v.setUint32(a + 8, 0x0a0b0c0d);
  v.setUint16(a + 12, 0x0e0f);
  v.setUint32(a + 14, 0xc0a80001);
  v.setUint32(a + 18, 0x11121314);
  v.setUint16(a + 22, 0x1516);
  v.setUint32(a + 24, 0xc0a80002);
});

/** Ethernet, IPv6 (next header 0: hop-by-hop) with one 16-byte extension header, then UDP to port 53. */
const IP6_EXT_UDP = bytes(14 + 40 + 16 + 8, (v) => {
  v.setUint16(12, 0x86dd);
  v.setUint32(14, 0x60000000);
  v.setUint16(18, 24);
  v.setUint8(20, 0);
  v.setUint8(21, 64);
  v.setBigUint64(22, 0x20010db800000000n);
  v.setBigUint64(30, 0x0000000000000001n);
  v.setBigUint64(38, 0xfe80000000000000n);
  v.setBigUint64(46, 0x00000000000000ffn);
  v.setUint8(54, 17); // next header: UDP
  v.setUint8(55, 1); // (1 + 1) * 8 = 16 bytes
  v.setUint16(70, 5353);
  v.setUint16(72, 53);
});

describe.each(KINDS)("dissectors in %s programs", (kind) => {
  const cases: [string, Uint8Array, bigint][] = [
    ["eth.dst", VLAN_ARP, 0x020000000002n],
    ["eth.src", VLAN_ARP, 0x020000000001n],
    ["pkt.type", VLAN_ARP, 0x8100n],
    ["pkt.dot1q.pri", VLAN_ARP, 5n],
    ["pkt.dot1q.cfi", VLAN_ARP, 1n],
    ["pkt.dot1q.vlanid", VLAN_ARP, 0x123n],
    ["pkt.dot1q.type", VLAN_ARP, 0x0806n],
    ["pkt.dot1q.arp.htype", VLAN_ARP, 1n],
    ["pkt.dot1q.arp.ptype", VLAN_ARP, 0x0800n],
    ["pkt.dot1q.arp.hlen", VLAN_ARP, 6n],
    ["pkt.dot1q.arp.plen", VLAN_ARP, 4n],
    ["pkt.dot1q.arp.oper", VLAN_ARP, 1n],
    ["pkt.dot1q.arp.sha", VLAN_ARP, 0x0a0b0c0d0e0fn],
    ["pkt.dot1q.arp.spa", VLAN_ARP, 0xc0a80001n],
    ["pkt.dot1q.arp.tha", VLAN_ARP, 0x111213141516n],
    ["pkt.dot1q.arp.tpa", VLAN_ARP, 0xc0a80002n],
    ["pkt.ip6.next_header", IP6_EXT_UDP, 0n],
    ["pkt.ip6.src_hi", IP6_EXT_UDP, 0x20010db800000000n],
    ["pkt.ip6.src_lo", IP6_EXT_UDP, 1n],
    ["pkt.ip6.dst_hi", IP6_EXT_UDP, -0x0180000000000000n], // 0xfe80... as a signed 64-bit Lua integer
    ["pkt.ip6.dst_lo", IP6_EXT_UDP, 0xffn],
    ["pkt.ip6.ip6_opt.next_header", IP6_EXT_UDP, 17n],
    ["pkt.ip6.ip6_opt.ext_len", IP6_EXT_UDP, 1n],
    ["pkt.ip6.ip6_opt.udp.dst_port", IP6_EXT_UDP, 53n],
    ["pkt.ip6.ip6_opt.udp.src_port", IP6_EXT_UDP, 5353n],
  ];
  test.each(cases)("%s", (expr, packet, expected) => {
    expect(evalIn(kind, `return ${expr}`, packet)).toBe(expected);
  });
});

describe("a packet cut short", () => {
  const program = "if pkt.ip.proto == c.ip.proto_udp and pkt.ip.udp.dst_port == 53 then return 7 end return 9";
  /** Ethernet + IPv4 (IHL 5) + UDP to port 53. */
  const full = bytes(14 + 20 + 8, (v) => {
    v.setUint16(12, 0x0800);
    v.setUint8(14, 0x45);
    v.setUint8(23, 17);
    v.setUint16(36, 53);
  });
  // The verdicts of a short packet (docs/language.md "Packets"): XDP_PASS for XDP; classic
  // loads (socket filters, tc) stop the program with 0 (TC_ACT_OK in tc).
  const SHORT: Record<Kind, bigint> = { socket: 0n, tc: 0n, xdp: 2n };
  test.each(KINDS)("%s programs: complete, then cut at every header boundary and inside headers", (kind) => {
    expect(evalIn(kind, program, full)).toBe(7n);
    for (const cut of [0, 13, 14, 23, 24, 33, 34, 37, 38, 41]) {
      // Classic loads need only the bytes they read (the UDP port ends at 38); direct access the whole header.
      const enough = kind !== "xdp" && cut >= 38;
      expect(evalIn(kind, program, full.slice(0, cut)), `cut at ${cut}`).toBe(enough ? 7n : SHORT[kind]);
    }
  });
  test("direct access (XDP) needs the whole header, not just the field read", () => {
    // The protocol byte (offset 23) is there, the rest of the IPv4 header is not.
    expect(evalIn("xdp", "return pkt.ip.proto", full.slice(0, 24))).toBe(2n);
    expect(evalIn("socket", "return pkt.ip.proto", full.slice(0, 24))).toBe(17n);
  });
});

describe("names", () => {
  test.each(KINDS)("verdict constants in %s programs", (kind) => {
    const empty = new Uint8Array(0);
    expect(evalIn(kind, "return XDP_ABORTED * 10000 + XDP_DROP * 1000 + XDP_PASS * 100 + XDP_TX * 10 + XDP_REDIRECT", empty)).toBe(1234n);
    expect(evalIn(kind, "return TC_ACT_OK * 100 + TC_ACT_SHOT * 10 + TC_ACT_REDIRECT", empty)).toBe(27n);
    expect(evalIn(kind, "return TC_ACT_UNSPEC", empty)).toBe(-1n);
  });
  test("bcc's protocol constants", () => {
    const empty = new Uint8Array(0);
    const c: [string, bigint][] = [
      ["c.eth.ip", 0x800n],
      ["c.eth.ip6", 0x86ddn],
      ["c.eth.arp", 0x806n],
      ["c.eth.vlan", 0x8100n],
      ["c.ip.proto_hopopts", 0n],
      ["c.ip.proto_icmp", 1n],
      ["c.ip.proto_tcp", 6n],
      ["c.ip.proto_udp", 17n],
      ["c.ip.proto_ip6", 41n],
      ["c.ip.proto_fragment", 44n],
      ["c.ip.proto_rsvp", 46n],
      ["c.ip.proto_gre", 47n],
      ["c.ip.proto_icmp6", 58n],
      ["c.ip.proto_ospf", 89n],
      ["c.ip.proto_sctp", 132n],
      ["c.ip.proto_rsvpign", 134n],
      ["c.ip.proto_raw", 255n],
      ["c.ip.df", 0x4000n],
      ["c.ip.offmask", 0x1fffn],
      ["c.ip.addr_loopback", 0x7f000001n],
      ["c.ip.ttl_default", 64n],
      ["c.ip.tos_lowdelay", 0x10n],
    ];
    for (const [expr, v] of c) expect(evalIn("socket", `return ${expr}`, empty), expr).toBe(v);
  });
});
