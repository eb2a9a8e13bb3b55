// Tests of test-packet construction: spec parsing (defaults and every error), header layout,
// and checksums (a known-answer IPv4 header, and the verify-to-zero property for TCP/UDP/ICMP).
import { describe, expect, it } from "vitest";
import {
  PACKET_DEFAULTS,
  PACKET_DEFAULTS_IPV6,
  parseIpv6,
  PacketSpecError,
  buildPacket,
  headersLength,
  internetChecksum,
  parseIpv4,
  parsePacketSpec,
} from "../src/index.js";

const be16 = (bytes: Uint8Array, at: number) => (bytes[at]! << 8) | bytes[at + 1]!;

/** Sum over the pseudo-header and segment, which is 0 when the transport checksum is right. */
function transportChecksumResidue(frame: Uint8Array): number {
  const segment = frame.subarray(34);
  const pseudo = new Uint8Array(12 + segment.length);
  pseudo.set(frame.subarray(26, 34), 0); // source and destination addresses
  pseudo[9] = frame[23]!; // protocol
  pseudo[10] = segment.length >> 8;
  pseudo[11] = segment.length & 0xff;
  pseudo.set(segment, 12);
  return internetChecksum(pseudo);
}

describe("parsePacketSpec", () => {
  it("fills defaults", () => {
    expect(parsePacketSpec("tcp")).toEqual({ protocol: "tcp", ...PACKET_DEFAULTS });
    expect(parsePacketSpec("icmp").protocol).toBe("icmp");
  });

  it("reads every key", () => {
    expect(parsePacketSpec("tcp, src=10.0.0.1,dst=10.0.0.2 ,dport=443,sport=1,ttl=5,len=200,flags=SA")).toEqual({
      protocol: "tcp",
      src: "10.0.0.1",
      dst: "10.0.0.2",
      sport: 1,
      dport: 443,
      ttl: 5,
      len: 200,
      tcpFlags: 0x12,
    });
    expect(parsePacketSpec("UDP,sport=53,dport=1000")).toMatchObject({ protocol: "udp", sport: 53, dport: 1000 });
  });

  it.each([
    ["", /must start with a protocol/],
    ["sctp,dport=1", /must start with a protocol \(tcp, udp or icmp; tcp6, udp6 or icmp6 for IPv6\), got "sctp"/],
    ["icmp6,sport=1", /icmp6 packets have no ports/],
    ["tcp6,src=10.0.0.1", /"10.0.0.1" is not an IPv6 address/],
    ["tcp6,dst=1::2::3", /not an IPv6 address/],
    ["tcp,vlan=4096", /vlan must be an integer 0–4095/],
    ["tcp,prio=3", /prio needs a vlan/],
    ["tcp,vlan=1,prio=8", /prio must be an integer 0–7/],
    ["tcp,hex=abc", /hex must be pairs of hex digits/],
    ["tcp,hex=00,payload=x", /as hex or as text, not both/],
    ["tcp,len=56,payload=abc", /len 56 is shorter than the tcp headers and payload \(57 bytes\)/],
    ["udp6,vlan=2,len=65", /shorter than the VLAN-tagged udp over IPv6 headers \(66 bytes\)/],
    ["tcp,cut=x", /cut must be an integer/],
    ["dport=80", /must start with a protocol/],
    ["tcp,dport", /item "dport": expected key=value/],
    ["tcp,=80", /expected key=value/],
    ["tcp,port=80", /unknown key "port"/],
    ["tcp,dport=65536", /port must be an integer 0–65535/],
    ["tcp,dport=-1", /port must be an integer/],
    ["tcp,dport=0x50", /port must be an integer/],
    ["tcp,dport=80,dport=81", /"dport" given twice/],
    ["icmp,dport=80", /icmp packets have no ports/],
    ["udp,flags=S", /flags apply to tcp only/],
    ["tcp,flags=SX", /unknown TCP flag "X"/],
    ["tcp,src=10.0.0", /"10.0.0" is not a dotted-quad IPv4 address/],
    ["tcp,dst=10.0.0.256", /not a dotted-quad/],
    ["tcp,ttl=300", /ttl must be an integer 0–255/],
    ["tcp,len=53", /len 53 is shorter than the tcp headers \(54 bytes\)/],
    ["udp,len=abc", /len must be an integer/],
    ["tcp,", /expected key=value/],
  ])("rejects %j", (text, message) => {
    const parse = () => parsePacketSpec(text);
    expect(parse).toThrow(PacketSpecError);
    expect(parse).toThrow(message);
    expect(parse).toThrow(`packet spec "${text}"`);
  });

  it("parses IPv4 addresses strictly", () => {
    expect([...parseIpv4("192.168.0.199")!]).toEqual([192, 168, 0, 199]);
    for (const bad of ["1.2.3", "1.2.3.4.5", "1.2.3.x", "1..3.4", " 1.2.3.4"]) expect(parseIpv4(bad)).toBeUndefined();
  });
});

describe("buildPacket", () => {
  it("lays out Ethernet, IPv4 and TCP headers", () => {
    const frame = buildPacket("tcp,src=10.0.0.1,dst=10.0.0.2,sport=1000,dport=443,len=200");
    expect(frame.length).toBe(200);
    expect(be16(frame, 12)).toBe(0x0800); // EtherType IPv4
    expect(frame[14]).toBe(0x45);
    expect(be16(frame, 16)).toBe(200 - 14); // IPv4 total length
    expect(frame[22]).toBe(64); // TTL
    expect(frame[23]).toBe(6); // TCP
    expect([...frame.subarray(26, 30)]).toEqual([10, 0, 0, 1]);
    expect([...frame.subarray(30, 34)]).toEqual([10, 0, 0, 2]);
    expect(be16(frame, 34)).toBe(1000);
    expect(be16(frame, 36)).toBe(443);
    expect(frame[46]! >> 4).toBe(5); // data offset
    expect(frame[47]).toBe(0x02); // SYN
    expect(frame.subarray(54).every((b) => b === 0)).toBe(true);
  });

  it("without len, the frame is exactly the headers", () => {
    expect(buildPacket("tcp").length).toBe(54);
    expect(buildPacket("udp").length).toBe(42);
    expect(buildPacket("icmp").length).toBe(42);
    expect(headersLength("udp")).toBe(42);
  });

  it("IPv4 checksum matches a known answer", () => {
    // A widely quoted worked example (e.g. Wikipedia, "Internet checksum"): the header
    // 4500 0073 0000 4000 4011 ____ c0a8 0001 c0a8 00c7 has checksum 0xb861.
    const frame = buildPacket("udp,src=192.168.0.1,dst=192.168.0.199,len=129");
    const header = [...frame.subarray(14, 34)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(header).toBe("45000073000040004011b861c0a80001c0a800c7");
    expect(be16(frame, 24)).toBe(0xb861);
  });

  it.each(["tcp,dport=80", "udp,sport=53,dport=1000,len=99", "icmp,len=64", "tcp,src=1.2.3.4,dst=5.6.7.8,dport=443,len=200,flags=PA"])(
    "%s has valid IPv4 and transport checksums",
    (spec) => {
      const frame = buildPacket(spec);
      expect(internetChecksum(frame.subarray(14, 34))).toBe(0);
      if (frame[23] === 1) expect(internetChecksum(frame.subarray(34))).toBe(0);
      else expect(transportChecksumResidue(frame)).toBe(0);
    },
  );

  it("UDP length covers header and payload; ICMP is an echo request", () => {
    const udp = buildPacket("udp,len=100");
    expect(be16(udp, 38)).toBe(100 - 34);
    const icmp = buildPacket("icmp");
    expect(icmp[34]).toBe(8);
    expect(icmp[35]).toBe(0);
  });

  it("accepts a parsed spec and rejects an inconsistent one", () => {
    const spec = parsePacketSpec("udp");
    expect(buildPacket(spec)).toEqual(buildPacket("udp"));
    expect(() => buildPacket({ ...spec, len: 20 })).toThrow(PacketSpecError);
    expect(() => buildPacket({ ...spec, src: "nope" })).toThrow(PacketSpecError);
  });

  it("is deterministic", () => {
    expect(buildPacket("tcp,len=300")).toEqual(buildPacket("tcp,len=300"));
  });
});

describe("internetChecksum", () => {
  it("pads an odd trailing byte and folds carries", () => {
    expect(internetChecksum(new Uint8Array([0x01]))).toBe(~0x0100 & 0xffff);
    expect(internetChecksum(new Uint8Array([0xff, 0xff, 0x00, 0x01]))).toBe(~0x0001 & 0xffff);
    expect(internetChecksum(new Uint8Array([]))).toBe(0xffff);
  });
});

/** The pseudo-header + segment sum of an IPv6 frame's upper-layer packet at `l4`: 0 when its checksum is right. */
function ipv6Residue(frame: Uint8Array, ip: number): number {
  const segment = frame.subarray(ip + 40);
  const pseudo = new Uint8Array(40 + segment.length);
  pseudo.set(frame.subarray(ip + 8, ip + 40), 0);
  new DataView(pseudo.buffer).setUint32(32, segment.length);
  pseudo[39] = frame[ip + 6]!;
  pseudo.set(segment, 40);
  return internetChecksum(pseudo);
}

describe("IPv6, VLAN, ICMPv6, payloads, truncation", () => {
  it("parses IPv6 addresses (RFC 4291 text, one ::)", () => {
    const hex = (t: string) => Buffer.from(parseIpv6(t)!).toString("hex");
    expect(hex("2001:db8::1")).toBe("20010db8000000000000000000000001");
    expect(hex("::")).toBe("0".repeat(32));
    expect(hex("fe80::")).toBe("fe80" + "0".repeat(28));
    expect(hex("1:2:3:4:5:6:7:8")).toBe("00010002000300040005000600070008");
    for (const bad of ["1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4::5:6:7:8", "10.0.0.1"]) expect(parseIpv6(bad), bad).toBeUndefined();
  });

  it("lays out IPv6 + UDP with valid checksums and default addresses", () => {
    expect(parsePacketSpec("udp6")).toMatchObject({ protocol: "udp", ipv6: true, ...PACKET_DEFAULTS_IPV6 });
    const f = buildPacket("udp6,dst=2001:db8::99,dport=53,ttl=7,len=100");
    expect(f.length).toBe(100);
    expect(be16(f, 12)).toBe(0x86dd);
    expect(f[14]! >> 4).toBe(6);
    expect(be16(f, 18)).toBe(100 - 54); // payload length
    expect(f[20]).toBe(17);
    expect(f[21]).toBe(7); // hop limit
    expect(Buffer.from(f.subarray(38, 54)).toString("hex")).toBe("20010db8000000000000000000000099");
    expect(be16(f, 56)).toBe(53);
    expect(ipv6Residue(f, 14)).toBe(0);
    expect(ipv6Residue(buildPacket("tcp6,flags=SA,payload=hello"), 14)).toBe(0);
  });

  it("ICMPv6 is an echo request with the pseudo-header in its checksum", () => {
    const f = buildPacket("icmp6,hex=0102030405");
    expect(f[20]).toBe(58);
    expect(f[54]).toBe(128);
    expect(f.length).toBe(14 + 40 + 8 + 5);
    expect(ipv6Residue(f, 14)).toBe(0);
  });

  it("an 802.1Q tag goes after the MAC addresses; the inner packet is unchanged", () => {
    const f = buildPacket("tcp,vlan=291,prio=5,dport=443");
    expect(be16(f, 12)).toBe(0x8100);
    expect(be16(f, 14)).toBe((5 << 13) | 291);
    expect(be16(f, 16)).toBe(0x0800);
    expect([...f.subarray(18)]).toEqual([...buildPacket("tcp,dport=443").subarray(14)]);
    expect(headersLength(parsePacketSpec("udp6,vlan=1"))).toBe(14 + 4 + 40 + 8);
    expect(ipv6Residue(buildPacket("udp6,vlan=9"), 18)).toBe(0);
  });

  it("payload as text (the rest of the spec, commas included) or hex, then zero padding", () => {
    const t = buildPacket("tcp,dport=80,payload=GET /a,b HTTP/1.0");
    expect(new TextDecoder().decode(t.subarray(54))).toBe("GET /a,b HTTP/1.0");
    expect(transportChecksumResidue(t)).toBe(0);
    const h = buildPacket("udp,hex=DEADbeef,len=50");
    expect([...h.subarray(42)]).toEqual([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    expect(be16(h, 38)).toBe(16); // UDP length covers the payload and padding
    expect(transportChecksumResidue(h)).toBe(0);
  });

  it("cut truncates the finished frame; the headers it keeps are those of the whole packet", () => {
    const whole = buildPacket("tcp,len=100");
    const cut = buildPacket("tcp,len=100,cut=40");
    expect(cut.length).toBe(40);
    expect([...cut]).toEqual([...whole.subarray(0, 40)]);
    expect(be16(cut, 16)).toBe(86); // the IPv4 total length still says 86
    expect(buildPacket("tcp,cut=1000").length).toBe(54);
  });
});
