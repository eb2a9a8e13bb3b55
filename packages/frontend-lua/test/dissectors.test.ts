/**
 * Packet dissector and context fields read in the IR interpreter: every IPv4/TCP/UDP
 * field on a hand-built packet, bit fields, IPv6, and the `__sk_buff` / `pt_regs` layouts.
 */
import { describe, expect, test } from "vitest";
import { compile, context, evalBody, run } from "./helpers.js";

/** Ethernet + IPv4 (ihl 6, one option word) + TCP, every field distinct. */
function packet(): Uint8Array {
  const b = new Uint8Array(14 + 24 + 20 + 4);
  const v = new DataView(b.buffer);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x46); // version 4, ihl 6
  v.setUint8(15, 0xb8); // tos
  v.setUint16(16, 0x0030); // total length
  v.setUint16(18, 0xbeef); // id
  v.setUint16(20, 0x4000 | 0x2000 | 0x0123); // DF, MF, offset 0x123
  v.setUint8(22, 63); // ttl
  v.setUint8(23, 6); // proto
  v.setUint16(24, 0xcafe); // checksum
  v.setUint32(26, 0xc0a80001); // src
  v.setUint32(30, 0x08080808); // dst
  const t = 14 + 24;
  v.setUint16(t, 54321);
  v.setUint16(t + 2, 443);
  v.setUint32(t + 4, 0x89abcdef);
  v.setUint32(t + 8, 0x01020304);
  v.setUint8(t + 12, 0x50); // data offset 5
  v.setUint8(t + 13, 0x12); // SYN + ACK
  v.setUint16(t + 14, 65535);
  v.setUint16(t + 16, 0x1234);
  v.setUint16(t + 18, 7);
  return b;
}

describe("IPv4 and TCP fields", () => {
  const cases: [string, bigint][] = [
    ["pkt.type", 0x0800n],
    ["pkt.ip.ver", 4n],
    ["pkt.ip.hlen", 6n],
    ["pkt.ip.ihl", 6n],
    ["pkt.ip.tos", 0xb8n],
    ["pkt.ip.len", 0x30n],
    ["pkt.ip.id", 0xbeefn],
    ["pkt.ip.frag", 0x6123n],
    ["pkt.ip.df", 1n],
    ["pkt.ip.mf", 1n],
    ["pkt.ip.foffset", 0x123n],
    ["pkt.ip.ttl", 63n],
    ["pkt.ip.proto", 6n],
    ["pkt.ip.checksum", 0xcafen],
    ["pkt.ip.src", 0xc0a80001n],
    ["pkt.ip.dst", 0x08080808n],
    ["pkt.ip.tcp.src_port", 54321n],
    ["pkt.ip.tcp.dst_port", 443n],
    ["pkt.ip.tcp.seq", 0x89abcdefn],
    ["pkt.ip.tcp.ack", 0x01020304n],
    ["pkt.ip.tcp.offset", 5n],
    ["pkt.ip.tcp.flags", 0x12n],
    ["pkt.ip.tcp.flag_syn", 1n],
    ["pkt.ip.tcp.flag_ack", 1n],
    ["pkt.ip.tcp.flag_fin", 0n],
    ["pkt.ip.tcp.flag_rst", 0n],
    ["pkt.ip.tcp.window", 65535n],
    ["pkt.ip.tcp.checksum", 0x1234n],
    ["pkt.ip.tcp.urg_ptr", 7n],
    ["pkt.ip.udp.dst_port", 443n],
    ["pkt.ip.udp.length", 0x89abn],
    ["pkt.ip.icmp.type", 0xd4n], // the first byte of the L4 header (54321 = 0xd431)
  ];
  test.each(cases)("%s", (expr, expected) => {
    expect(evalBody(`return ${expr}`, { packet: packet() })).toBe(expected);
  });

  test("a dissector bound to a local", () => {
    expect(evalBody("local tcp = pkt.ip.tcp if tcp.flag_syn == 1 and tcp.dst_port == 443 then return tcp.src_port end return 0", { packet: packet() })).toBe(54321n);
  });

  test("IPv6 headers are 40 bytes", () => {
    const b = new Uint8Array(14 + 40 + 8);
    const v = new DataView(b.buffer);
    v.setUint16(12, 0x86dd);
    v.setUint32(14, 0x6abcdef1); // version 6, traffic class 0xab, flow label 0xcdef1
    v.setUint16(18, 8);
    v.setUint8(20, 17);
    v.setUint8(21, 255);
    v.setUint16(54 + 2, 53);
    const p = { packet: b };
    expect(evalBody("return pkt.ip6.ver", p)).toBe(6n);
    expect(evalBody("return pkt.ip6.priority", p)).toBe(0xabn);
    expect(evalBody("return pkt.ip6.flow_label", p)).toBe(0xcdef1n);
    expect(evalBody("return pkt.ip6.payload_len", p)).toBe(8n);
    expect(evalBody("return pkt.ip6.next_header", p)).toBe(17n);
    expect(evalBody("return pkt.ip6.hop_limit", p)).toBe(255n);
    expect(evalBody("return pkt.ip6.udp.dst_port", p)).toBe(53n);
  });
});

describe("context layouts", () => {
  test("__sk_buff fields", () => {
    const fields: [string, number][] = [
      ["len", 0],
      ["pkt_type", 4],
      ["mark", 8],
      ["queue_mapping", 12],
      ["protocol", 16],
      ["vlan_tci", 24],
      ["priority", 32],
      ["ingress_ifindex", 36],
      ["ifindex", 40],
      ["tc_index", 44],
      ["hash", 68],
      ["tc_classid", 72],
      ["napi_id", 84],
      ["remote_port", 132],
      ["gso_size", 176],
    ];
    for (const [name, offset] of fields) {
      const ctx = context(192, { [offset]: 0xfffffff0 + 1 });
      expect(evalBody(`return skb.${name}`, { ctx }), name).toBe(0xfffffff1n); // zero-extended
    }
    expect(evalBody("return skb.tstamp", { ctx: context(192, { 152: -2n }, { 152: 8 }) })).toBe(-2n);
  });

  test("pt_regs registers and bcc's aliases", () => {
    const m = compile("bpf.kprobe('f', function (r) return r.parm1 * 1000000 + r.parm2 * 10000 + r.parm3 * 100 + r.ret end)");
    const ctx = context(168, { 112: 1, 104: 2, 96: 3, 80: 4 }, { 112: 8, 104: 8, 96: 8, 80: 8 });
    expect(run(m, { ctx }).value).toBe(1020304n);
  });
});
