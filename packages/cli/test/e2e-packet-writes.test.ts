// Packet writes on the real kernel (issue 11): tc and XDP programs assign the TTL, ports and
// addresses; the packet read back from BPF_PROG_TEST_RUN's data out has the new values and
// valid IPv4 and TCP/UDP checksums (tc: bpf_l3/l4_csum_replace; XDP: the program's own
// incremental update), at -O0 and -O2. And examples/tc-ttl-rewrite.lua.
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
