// Packet writes on the real kernel (issue 11): tc and XDP programs assign the TTL, ports and
// addresses; the packet read back from BPF_PROG_TEST_RUN's data out has the new values and
// valid IPv4 and TCP/UDP checksums (tc: bpf_l3/l4_csum_replace; XDP: the program's own
// incremental update), at -O0 and -O2. Also the wider and narrower fields: IPv6 address
// halves (the TCP/UDP/ICMPv6 checksum over the IPv6 pseudo-header), MAC addresses, bit
// fields (`df`, `flag_syn`). And examples/tc-ttl-rewrite.lua.
import { describe, expect, test } from "vitest";
import { buildPacket, internetChecksum, kernelOrSkip, loadObject, type PlainMapHandle } from "@luabpf/loader";
import { compileSource, type DriverOptions } from "../src/driver.js";
import { le, leBytes, readExample } from "./helpers.js";

const kernel = kernelOrSkip();
const OPTS: Partial<DriverOptions>[] = [{ optLevel: 0 }, { optLevel: 2 }];

/** The IPv4 header checksum and the TCP/UDP checksum over the pseudo-header, of a frame: 0 when right. */
function checksums(f: Uint8Array): { ip: number; l4: number } {
  const ihl = (f[14]! & 0x0f) * 4;
  const l4 = f.subarray(14 + ihl);
  const pseudo = new Uint8Array(12 + l4.length);
  pseudo.set(f.subarray(26, 34), 0);
  pseudo[9] = f[23]!;
  pseudo[10] = l4.length >> 8;
  pseudo[11] = l4.length & 0xff;
  pseudo.set(l4, 12);
  return { ip: internetChecksum(f.subarray(14, 14 + ihl)), l4: internetChecksum(pseudo) };
}
/** The TCP/UDP/ICMPv6 checksum over the IPv6 pseudo-header of an untagged IPv6 frame: 0 when right. */
function checksum6(f: Uint8Array): number {
  const l4 = f.subarray(54);
  const pseudo = new Uint8Array(40 + l4.length);
  pseudo.set(f.subarray(22, 54), 0); // source and destination addresses
  new DataView(pseudo.buffer).setUint32(32, l4.length);
  pseudo[39] = f[20]!; // next header
  pseudo.set(l4, 40);
  return internetChecksum(pseudo);
}
const hex = (f: Uint8Array, from: number, to: number) => Buffer.from(f.subarray(from, to)).toString("hex");
const be16 = (f: Uint8Array, o: number) => (f[o]! << 8) | f[o + 1]!;
const be32 = (f: Uint8Array, o: number) => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;

const BODY = `
  if eth.type == c.eth.ip then
    local ip = pkt.ip
    ip.ttl = ip.ttl - 1
    ip.src = 0xc0a80101
    ip.dst = ip.dst + 1
    if ip.proto == c.ip.proto_tcp then
      ip.tcp.src_port = 1111
      ip.tcp.dst_port = ip.tcp.dst_port + 8000
    elseif ip.proto == c.ip.proto_udp then
      ip.udp.dst_port = 5353
    end
  end`;

describe.skipIf(!kernel).each(OPTS.map((o) => [`-O${o.optLevel}`, o] as const))("packet writes at %s", (_n, options) => {
  describe.each([
    ["tc", "bpf.tc(function (skb)", "TC_ACT_OK", 0],
    ["xdp", "bpf.xdp(function (ctx)", "XDP_PASS", 2],
  ] as const)("%s", (_kind, head, verdict, value) => {
    const load = () => loadObject(compileSource(`local bpf = require('bpf')\n${head}${BODY}\n  return ${verdict}\nend)\n`, { file: "w.lua", ...options }).object);

    test.each(["tcp,dport=80,ttl=9,len=100", "udp,dport=53,ttl=200,len=77", "tcp,dport=443,flags=A,len=1400"])("%s: new fields, valid checksums", (spec) => {
      const obj = load();
      try {
        const input = buildPacket(spec);
        const r = [...obj.programs.values()][0]!.testRun(input);
        expect(r.retval).toBe(value);
        const out = r.dataOut;
        expect(out.length).toBe(input.length);
        expect(out[22]).toBe(input[22]! - 1);
        expect(be32(out, 26)).toBe(0xc0a80101);
        expect(be32(out, 30)).toBe(be32(input, 30) + 1);
        if (spec.startsWith("tcp")) {
          expect(be16(out, 34)).toBe(1111);
          expect(be16(out, 36)).toBe(be16(input, 36) + 8000);
        } else {
          expect(be16(out, 36)).toBe(5353);
        }
        expect(checksums(out)).toEqual({ ip: 0, l4: 0 });
        expect(checksums(input)).toEqual({ ip: 0, l4: 0 });
      } finally {
        obj.close();
      }
    });

    test("a UDP checksum of 0 (none) stays 0; the IPv4 checksum is still right", () => {
      const obj = load();
      try {
        const input = buildPacket("udp,dport=53");
        input[40] = 0;
        input[41] = 0;
        const out = [...obj.programs.values()][0]!.testRun(input).dataOut;
        expect(be16(out, 36)).toBe(5353);
        expect(be16(out, 40)).toBe(0);
        expect(checksums(out).ip).toBe(0);
      } finally {
        obj.close();
      }
    });

    test("a short packet is left alone with the pass verdict", () => {
      const obj = load();
      try {
        const input = buildPacket("tcp").slice(0, 40);
        const r = [...obj.programs.values()][0]!.testRun(input);
        expect(r.retval).toBe(value);
        // The IPv4 header was complete: its fields changed; the TCP header was cut: its ports did not.
        expect(r.dataOut[22]).toBe(63);
        expect(be16(r.dataOut, 36)).toBe(80);
      } finally {
        obj.close();
      }
    });
  });

  describe.each([
    ["tc", "bpf.tc(function (skb)", 0],
    ["xdp", "bpf.xdp(function (ctx)", 2],
  ] as const)("%s: IPv6 addresses, MAC addresses, bit fields", (_kind, head, value) => {
    const WIDE = `
  pkt.src = 0x020000000001
  pkt.dst = pkt.dst + 1
  if eth.type == c.eth.ip6 then
    local ip6 = pkt.ip6
    ip6.src_hi = 0x20010db8ffff0000
    ip6.dst_lo = ip6.dst_lo + 0x100000001
    ip6.hop_limit = 7
  elseif eth.type == c.eth.ip then
    pkt.ip.df = 0
    pkt.ip.tcp.flag_syn = 1
  end`;
    const load = () => loadObject(compileSource(`local bpf = require('bpf')\n${head}${WIDE}\n  return ${value === 0 ? "TC_ACT_OK" : "XDP_PASS"}\nend)\n`, { file: "w.lua", ...options }).object);

    test.each(["tcp6,dport=80,len=100", "udp6,dport=53", "icmp6,payload=ping"])("%s: new addresses, a valid checksum over the IPv6 pseudo-header", (spec) => {
      const obj = load();
      try {
        const input = buildPacket(spec);
        const r = [...obj.programs.values()][0]!.testRun(input);
        expect(r.retval).toBe(value);
        const out = r.dataOut;
        expect(hex(out, 0, 6)).toBe("020000000003"); // buildPacket's destination MAC + 1
        expect(hex(out, 6, 12)).toBe("020000000001");
        expect(out[21]).toBe(7);
        expect(hex(out, 22, 30)).toBe("20010db8ffff0000");
        expect(hex(out, 30, 38)).toBe(hex(input, 30, 38)); // the source's low half is unchanged
        expect(hex(out, 38, 46)).toBe(hex(input, 38, 46));
        expect(BigInt(`0x${hex(out, 46, 54)}`)).toBe(BigInt(`0x${hex(input, 46, 54)}`) + 0x100000001n);
        expect(checksum6(input)).toBe(0);
        expect(checksum6(out)).toBe(0);
      } finally {
        obj.close();
      }
    });

    test("IPv4: DF cleared and SYN set, with valid IPv4 and TCP checksums", () => {
      const obj = load();
      try {
        const input = buildPacket("tcp,flags=A");
        expect(be16(input, 20)).toBe(0x4000);
        const out = [...obj.programs.values()][0]!.testRun(input).dataOut;
        expect(be16(out, 20)).toBe(0);
        expect(out[47]).toBe(0x12); // ACK | SYN
        expect(checksums(out)).toEqual({ ip: 0, l4: 0 });
      } finally {
        obj.close();
      }
    });
  });

  test("examples/tc-ttl-rewrite.lua raises low TTLs to 64 with a valid header checksum, and counts them", () => {
    const obj = loadObject(compileSource(readExample("tc-ttl-rewrite.lua"), { file: "tc-ttl-rewrite.lua", ...options }).object);
    try {
      const prog = [...obj.programs.values()][0]!;
      for (const ttl of [1, 63, 64, 200]) {
        const r = prog.testRun(buildPacket(`udp,ttl=${ttl}`));
        expect(r.retval).toBe(0);
        expect(r.dataOut[22]).toBe(Math.max(ttl, 64));
        expect(checksums(r.dataOut)).toEqual({ ip: 0, l4: 0 });
      }
      expect(le((obj.maps.get("rewritten") as PlainMapHandle).get(leBytes(0n, 4))!)).toBe(2n);
    } finally {
      obj.close();
    }
  });
});
