// Test packets for BPF_PROG_TEST_RUN: an Ethernet II frame (optionally with an 802.1Q VLAN
// tag) carrying IPv4 or IPv6 and TCP, UDP or an ICMP/ICMPv6 echo request, then a payload,
// described by a short text such as `tcp,src=10.0.0.1,dport=443,len=200` or
// `udp6,vlan=7,dport=53,hex=0001`.
//
// Checksums are the Internet checksum of RFC 1071 (one's-complement sum of 16-bit big-endian
// words): over the IPv4 header, over the ICMP message, and for TCP/UDP/ICMPv6 over the
// RFC 793/768 (IPv4) or RFC 8200 (IPv6) pseudo-header plus segment. All multi-byte fields are
// in network (big-endian) order. A `cut` truncates the finished frame (checksums stay those
// of the whole packet, as on a captured frame cut short).

/** Transport protocols a test packet can carry. */
import { LuabpfError } from "@luabpf/platform/errors";
export type PacketProtocol = "tcp" | "udp" | "icmp";

/** A fully defaulted packet description; {@link parsePacketSpec} produces one from text. */
export interface PacketSpec {
  protocol: PacketProtocol;
  /** IPv6 instead of IPv4 (`tcp6`, `udp6`, `icmp6`: ICMPv6). */
  ipv6?: boolean;
  /** Source address: dotted-quad IPv4, or IPv6 text (`2001:db8::1`) for IPv6 packets. */
  src: string;
  /** Destination address, as `src`. */
  dst: string;
  /** Source port (TCP/UDP; 0 for ICMP). */
  sport: number;
  /** Destination port (TCP/UDP; 0 for ICMP). */
  dport: number;
  /** IPv4 time to live, or the IPv6 hop limit. */
  ttl: number;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20). */
  tcpFlags: number;
  /** An 802.1Q tag with this VLAN id (0–4095) after the MAC addresses. */
  vlan?: number;
  /** The tag's priority (0–7), with `vlan`. */
  vlanPriority?: number;
  /** Bytes after the transport header. */
  payload?: Uint8Array;
  /**
   * Total frame length in bytes, Ethernet header included; the frame is zero-filled after
   * the payload up to it. Undefined means headers and payload only.
   */
  len?: number;
  /** Truncate the finished frame to this many bytes (a packet cut short). */
  cut?: number;
}

/** Defaults of {@link PacketSpec} fields that a spec text does not set. */
export const PACKET_DEFAULTS = {
  src: "10.0.0.1",
  dst: "10.0.0.2",
  sport: 12345,
  dport: 80,
  ttl: 64,
  tcpFlags: 0x02,
} as const;

/** Default addresses of IPv6 packets (documentation prefix, RFC 3849). */
export const PACKET_DEFAULTS_IPV6 = { src: "2001:db8::1", dst: "2001:db8::2" } as const;

/** Source and destination MAC addresses of every test frame (locally administered). */
export const SOURCE_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01] as const;
export const DESTINATION_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02] as const;

/** Header sizes, for callers that compute offsets into a built packet. */
export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
const TRANSPORT_HEADER_LEN: Readonly<Record<PacketProtocol, number>> = { tcp: 20, udp: 8, icmp: 8 };
const IP_PROTOCOL: Readonly<Record<PacketProtocol, number>> = { icmp: 1, tcp: 6, udp: 17 };
const IPPROTO_ICMPV6 = 58;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;

/** A packet spec text that cannot be understood. */
export class PacketSpecError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  override name = "PacketSpecError";
}

const TCP_FLAG_LETTERS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20 };
const PROTOCOLS: Readonly<Record<string, { protocol: PacketProtocol; ipv6: boolean }>> = {
  tcp: { protocol: "tcp", ipv6: false },
  udp: { protocol: "udp", ipv6: false },
  icmp: { protocol: "icmp", ipv6: false },
  tcp6: { protocol: "tcp", ipv6: true },
  udp6: { protocol: "udp", ipv6: true },
  icmp6: { protocol: "icmp", ipv6: true },
};
const KEYS = "src, dst, sport, dport, ttl, flags, vlan, prio, len, cut, hex, payload";

/**
 * Parses `protocol[,key=value]...`. Protocols: `tcp`, `udp`, `icmp` over IPv4; `tcp6`,
 * `udp6`, `icmp6` (ICMPv6) over IPv6. Keys: `src`, `dst` (IPv4 dotted quad, or IPv6 text for
 * IPv6 packets), `sport`, `dport` (0–65535, TCP/UDP only), `ttl` (0–255; the hop limit of
 * IPv6), `flags` (TCP only: letters of `FSRPAU`, e.g. `SA`), `vlan` (an 802.1Q tag with this
 * VLAN id, 0–4095), `prio` (its priority, 0–7), `len` (total frame length, at least the
 * headers' and payload's), `cut` (truncate the built frame to this many bytes), `hex` (the
 * payload as hex digits, e.g. `474554`), and `payload` (the payload as text; it must be the
 * last item and takes the rest of the spec, commas included). Spaces around items are
 * ignored (not inside a `payload`).
 *
 * @throws PacketSpecError naming the offending item
 */
export function parsePacketSpec(text: string): PacketSpec {
  // `payload=` takes the rest of the text.
  const at = text.search(/(^|,)\s*payload=/i);
  const payloadText = at < 0 ? undefined : text.slice(text.indexOf("=", at) + 1);
  const items = (at < 0 ? text : text.slice(0, at)).split(",").map((item) => item.trim());
  const head = (items[0] ?? "").toLowerCase();
  const proto = Object.hasOwn(PROTOCOLS, head) ? PROTOCOLS[head]! : undefined;
  if (!proto) {
    throw new PacketSpecError(`packet spec "${text}": must start with a protocol (tcp, udp or icmp; tcp6, udp6 or icmp6 for IPv6), got "${items[0] ?? ""}"`);
  }
  const spec: PacketSpec = { protocol: proto.protocol, ...PACKET_DEFAULTS, ...(proto.ipv6 ? { ipv6: true, ...PACKET_DEFAULTS_IPV6 } : {}) };
  const icmpName = proto.ipv6 ? "icmp6" : "icmp";
  const seen = new Set<string>();
  const pending: [string, string, (why: string) => never][] = [];
  for (const item of items.slice(1)) {
    const fail = (why: string): never => {
      throw new PacketSpecError(`packet spec "${text}": item "${item}": ${why}`);
    };
    const eq = item.indexOf("=");
    if (eq <= 0) fail("expected key=value");
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    if (seen.has(key)) fail(`"${key}" given twice`);
    seen.add(key);
    switch (key) {
      case "src":
      case "dst":
        if (proto.ipv6 ? !parseIpv6(value) : !parseIpv4(value)) fail(`"${value}" is not ${proto.ipv6 ? "an IPv6 address" : "a dotted-quad IPv4 address"}`);
        spec[key] = value;
        break;
      case "sport":
      case "dport":
        if (spec.protocol === "icmp") fail(`${icmpName} packets have no ports`);
        spec[key] = parseInteger(value, 0, 0xffff) ?? fail(`port must be an integer 0–65535`);
        break;
      case "ttl":
        spec.ttl = parseInteger(value, 0, 255) ?? fail(`ttl must be an integer 0–255`);
        break;
      case "vlan":
        spec.vlan = parseInteger(value, 0, 4095) ?? fail(`vlan must be an integer 0–4095`);
        break;
      case "prio":
        spec.vlanPriority = parseInteger(value, 0, 7) ?? fail(`prio must be an integer 0–7`);
        break;
      case "len":
      case "cut":
        // Checked once the headers and payload are known.
        spec[key] = parseInteger(value, 0, 65535 + ETH_HEADER_LEN) ?? fail(`${key} must be an integer`);
        pending.push([key, value, fail]);
        break;
      case "hex": {
        if (!/^([0-9a-f]{2})*$/i.test(value)) fail(`hex must be pairs of hex digits`);
        spec.payload = Uint8Array.from(value.match(/../g) ?? [], (h) => parseInt(h, 16));
        break;
      }
      case "flags": {
        if (spec.protocol !== "tcp") fail(`flags apply to tcp only`);
        let flags = 0;
        for (const letter of value.toUpperCase()) {
          flags |= TCP_FLAG_LETTERS[letter] ?? fail(`unknown TCP flag "${letter}" (use letters of FSRPAU)`);
        }
        spec.tcpFlags = flags;
        break;
      }
      default:
        fail(`unknown key "${key}" (known: ${KEYS})`);
    }
  }
  if (payloadText !== undefined) {
    if (seen.has("hex")) throw new PacketSpecError(`packet spec "${text}": give the payload as hex or as text, not both`);
    spec.payload = new TextEncoder().encode(payloadText);
  }
  if (spec.vlanPriority !== undefined && spec.vlan === undefined) throw new PacketSpecError(`packet spec "${text}": prio needs a vlan`);
  for (const [key, , fail] of pending) {
    if (key !== "len") continue;
    const minimum = headersLength(spec) + (spec.payload?.length ?? 0);
    if (spec.len! < minimum) fail(`len ${spec.len} is shorter than the ${describe(spec)} headers${spec.payload?.length ? " and payload" : ""} (${minimum} bytes)`);
  }
  return spec;
}

function describe(spec: Pick<PacketSpec, "protocol" | "ipv6" | "vlan">): string {
  const name = spec.ipv6 ? `${spec.protocol === "icmp" ? "icmp6" : spec.protocol} over IPv6` : spec.protocol;
  return spec.vlan !== undefined ? `VLAN-tagged ${name}` : name;
}

/**
 * Length of the Ethernet (+ VLAN tag) + IP + transport headers of a packet of `protocol`
 * (IPv4, untagged), or of a spec.
 */
export function headersLength(spec: PacketProtocol | Pick<PacketSpec, "protocol" | "ipv6" | "vlan">): number {
  const s = typeof spec === "string" ? { protocol: spec } : spec;
  return ETH_HEADER_LEN + ("vlan" in s && s.vlan !== undefined ? VLAN_TAG_LEN : 0) + ("ipv6" in s && s.ipv6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN) + TRANSPORT_HEADER_LEN[s.protocol];
}

/**
 * Builds the frame a spec describes: Ethernet II (an 802.1Q tag first with `vlan`), IPv4
 * with a valid header checksum (DF set, identification 0) or IPv6 (traffic class and flow
 * label 0), then a TCP header (seq 1, window 65535), UDP header or ICMP/ICMPv6 echo request
 * (id 1, sequence 1), each with a valid checksum over the payload, then the payload and
 * zero padding up to `len`; last, the frame is cut to `cut` bytes. Accepts a spec text for
 * convenience.
 */
export function buildPacket(spec: PacketSpec | string): Uint8Array {
  const s = typeof spec === "string" ? parsePacketSpec(spec) : spec;
  const payload = s.payload ?? new Uint8Array(0);
  const headers = headersLength(s);
  const total = s.len ?? headers + payload.length;
  if (total < headers + payload.length) throw new PacketSpecError(`len ${total} is shorter than the ${describe(s)} headers and payload (${headers + payload.length} bytes)`);
  const src = s.ipv6 ? parseIpv6(s.src) : parseIpv4(s.src);
  const dst = s.ipv6 ? parseIpv6(s.dst) : parseIpv4(s.dst);
  if (!src || !dst) throw new PacketSpecError(`invalid ${s.ipv6 ? "IPv6" : "IPv4"} address in ${s.src} -> ${s.dst}`);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);

  frame.set(DESTINATION_MAC, 0);
  frame.set(SOURCE_MAC, 6);
  let at = 12;
  if (s.vlan !== undefined) {
    view.setUint16(at, ETHERTYPE_VLAN);
    view.setUint16(at + 2, ((s.vlanPriority ?? 0) << 13) | s.vlan);
    at += VLAN_TAG_LEN;
  }
  view.setUint16(at, s.ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const ip = at + 2;

  const l4 = ip + (s.ipv6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN);
  const protocol = s.ipv6 && s.protocol === "icmp" ? IPPROTO_ICMPV6 : IP_PROTOCOL[s.protocol];
  const segment = frame.subarray(l4);
  if (s.ipv6) {
    frame[ip] = 0x60; // version 6, traffic class 0, flow label 0
    view.setUint16(ip + 4, segment.length); // payload length
    frame[ip + 6] = protocol;
    frame[ip + 7] = s.ttl; // hop limit
    frame.set(src, ip + 8);
    frame.set(dst, ip + 24);
  } else {
    frame[ip] = 0x45; // version 4, IHL 5 words
    view.setUint16(ip + 2, total - ip);
    view.setUint16(ip + 6, 0x4000); // DF, fragment offset 0
    frame[ip + 8] = s.ttl;
    frame[ip + 9] = protocol;
    frame.set(src, ip + 12);
    frame.set(dst, ip + 16);
    view.setUint16(ip + 10, internetChecksum(frame.subarray(ip, ip + IPV4_HEADER_LEN)));
  }

  frame.set(payload, l4 + TRANSPORT_HEADER_LEN[s.protocol]);
  const pseudo = () => (s.ipv6 ? pseudoHeader6(src, dst, protocol, segment.length) : pseudoHeader(src, dst, protocol, segment.length));
  switch (s.protocol) {
    case "tcp":
      view.setUint16(l4, s.sport);
      view.setUint16(l4 + 2, s.dport);
      view.setUint32(l4 + 4, 1); // sequence number
      frame[l4 + 12] = 5 << 4; // data offset: 5 words
      frame[l4 + 13] = s.tcpFlags;
      view.setUint16(l4 + 14, 65535); // window
      view.setUint16(l4 + 16, internetChecksum(concat(pseudo(), segment)));
      break;
    case "udp": {
      view.setUint16(l4, s.sport);
      view.setUint16(l4 + 2, s.dport);
      view.setUint16(l4 + 4, segment.length);
      const sum = internetChecksum(concat(pseudo(), segment));
      view.setUint16(l4 + 6, sum === 0 ? 0xffff : sum); // RFC 768: 0 means "no checksum"
      break;
    }
    case "icmp":
      frame[l4] = s.ipv6 ? 128 : 8; // echo request
      view.setUint16(l4 + 4, 1); // identifier
      view.setUint16(l4 + 6, 1); // sequence number
      // ICMPv6 sums the pseudo-header too (RFC 4443 2.3); ICMP the message only.
      view.setUint16(l4 + 2, internetChecksum(s.ipv6 ? concat(pseudo(), segment) : segment));
      break;
  }
  return s.cut !== undefined && s.cut < frame.length ? frame.slice(0, s.cut) : frame;
}

/**
 * RFC 1071 Internet checksum of `bytes` (an odd trailing byte is padded with zero). Over data
 * that already contains a correct checksum field, the result is 0.
 */
export function internetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Uint8Array {
  const header = new Uint8Array(12);
  header.set(src, 0);
  header.set(dst, 4);
  header[9] = protocol;
  header[10] = length >>> 8;
  header[11] = length & 0xff;
  return header;
}

/** The IPv6 pseudo-header (RFC 8200 8.1): addresses, upper-layer length (32 bits), next header. */
function pseudoHeader6(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Uint8Array {
  const header = new Uint8Array(40);
  header.set(src, 0);
  header.set(dst, 16);
  new DataView(header.buffer).setUint32(32, length);
  header[39] = protocol;
  return header;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The four bytes of a dotted-quad IPv4 address, or undefined when `text` is not one. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const byte = parseInteger(parts[i]!, 0, 255);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

/**
 * The sixteen bytes of an IPv6 address in RFC 4291 text form (eight groups of 1–4 hex
 * digits, one `::` for a run of zero groups; no embedded IPv4), or undefined.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** A decimal integer in [min, max], or undefined. */
function parseInteger(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}
