// Test packets for BPF_PROG_TEST_RUN: an Ethernet II frame carrying IPv4 and TCP, UDP or an
// ICMP echo request, described by a short text such as `tcp,src=10.0.0.1,dport=443,len=200`.
//
// Checksums are the Internet checksum of RFC 1071 (one's-complement sum of 16-bit big-endian
// words): over the IPv4 header, over the ICMP message, and for TCP/UDP over the RFC 793/768
// pseudo-header plus segment. All multi-byte fields are in network (big-endian) order.

/** Transport protocols a test packet can carry. */
import { LuabpfError } from "@luabpf/platform/errors";
export type PacketProtocol = "tcp" | "udp" | "icmp";

/** A fully defaulted packet description; {@link parsePacketSpec} produces one from text. */
export interface PacketSpec {
  protocol: PacketProtocol;
  /** Dotted-quad IPv4 source address. */
  src: string;
  /** Dotted-quad IPv4 destination address. */
  dst: string;
  /** Source port (TCP/UDP; 0 for ICMP). */
  sport: number;
  /** Destination port (TCP/UDP; 0 for ICMP). */
  dport: number;
  /** IPv4 time to live. */
  ttl: number;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20). */
  tcpFlags: number;
  /**
   * Total frame length in bytes, Ethernet header included; the payload after the transport
   * header is zero-filled up to it. Undefined means no payload.
   */
  len?: number;
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

/** Source and destination MAC addresses of every test frame (locally administered). */
export const SOURCE_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01] as const;
export const DESTINATION_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02] as const;

/** Header sizes, for callers that compute offsets into a built packet. */
export const ETH_HEADER_LEN = 14;
export const IPV4_HEADER_LEN = 20;
const TRANSPORT_HEADER_LEN: Readonly<Record<PacketProtocol, number>> = { tcp: 20, udp: 8, icmp: 8 };
const IP_PROTOCOL: Readonly<Record<PacketProtocol, number>> = { icmp: 1, tcp: 6, udp: 17 };
const ETHERTYPE_IPV4 = 0x0800;

/** A packet spec text that cannot be understood. */
export class PacketSpecError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  override name = "PacketSpecError";
}

const TCP_FLAG_LETTERS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20 };

/**
 * Parses `protocol[,key=value]...`. Protocols: `tcp`, `udp`, `icmp`. Keys: `src`, `dst`
 * (IPv4 dotted quad), `sport`, `dport` (0–65535, TCP/UDP only), `ttl` (0–255), `len` (total
 * frame length, at least the headers' length), `flags` (TCP only: letters of `FSRPAU`, e.g.
 * `SA`). Spaces around items are ignored.
 *
 * @throws PacketSpecError naming the offending item
 */
export function parsePacketSpec(text: string): PacketSpec {
  const items = text.split(",").map((item) => item.trim());
  const head = (items[0] ?? "").toLowerCase();
  if (head !== "tcp" && head !== "udp" && head !== "icmp") {
    throw new PacketSpecError(
      `packet spec "${text}": must start with a protocol (tcp, udp or icmp), got "${items[0] ?? ""}"`,
    );
  }
  const spec: PacketSpec = { protocol: head, ...PACKET_DEFAULTS };
  const seen = new Set<string>();
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
        if (!parseIpv4(value)) fail(`"${value}" is not a dotted-quad IPv4 address`);
        spec[key] = value;
        break;
      case "sport":
      case "dport":
        if (spec.protocol === "icmp") fail(`icmp packets have no ports`);
        spec[key] = parseInteger(value, 0, 0xffff) ?? fail(`port must be an integer 0–65535`);
        break;
      case "ttl":
        spec.ttl = parseInteger(value, 0, 255) ?? fail(`ttl must be an integer 0–255`);
        break;
      case "len": {
        const minimum = headersLength(spec.protocol);
        const len = parseInteger(value, 0, 65535 + ETH_HEADER_LEN) ?? fail(`len must be an integer`);
        if (len < minimum) fail(`len ${len} is shorter than the ${spec.protocol} headers (${minimum} bytes)`);
        spec.len = len;
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
        fail(`unknown key "${key}" (known: src, dst, sport, dport, ttl, len, flags)`);
    }
  }
  return spec;
}

/** Length of the Ethernet + IPv4 + transport headers of a packet of `protocol`. */
export function headersLength(protocol: PacketProtocol): number {
  return ETH_HEADER_LEN + IPV4_HEADER_LEN + TRANSPORT_HEADER_LEN[protocol];
}

/**
 * Builds the frame a spec describes: Ethernet II (EtherType 0x0800), IPv4 with a valid header
 * checksum (DF set, identification 0), then a TCP header (seq 1, window 65535), UDP header or
 * ICMP echo request (id 1, sequence 1), each with a valid checksum, then zero padding up to
 * `len`. Accepts a spec text for convenience.
 */
export function buildPacket(spec: PacketSpec | string): Uint8Array {
  const s = typeof spec === "string" ? parsePacketSpec(spec) : spec;
  const headers = headersLength(s.protocol);
  const total = s.len ?? headers;
  if (total < headers) throw new PacketSpecError(`len ${total} is shorter than the ${s.protocol} headers (${headers} bytes)`);
  const src = parseIpv4(s.src);
  const dst = parseIpv4(s.dst);
  if (!src || !dst) throw new PacketSpecError(`invalid IPv4 address in ${s.src} -> ${s.dst}`);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);

  frame.set(DESTINATION_MAC, 0);
  frame.set(SOURCE_MAC, 6);
  view.setUint16(12, ETHERTYPE_IPV4);

  const ip = ETH_HEADER_LEN;
  const ipLength = total - ETH_HEADER_LEN;
  frame[ip] = 0x45; // version 4, IHL 5 words
  view.setUint16(ip + 2, ipLength);
  view.setUint16(ip + 6, 0x4000); // DF, fragment offset 0
  frame[ip + 8] = s.ttl;
  frame[ip + 9] = IP_PROTOCOL[s.protocol];
  frame.set(src, ip + 12);
  frame.set(dst, ip + 16);
  view.setUint16(ip + 10, internetChecksum(frame.subarray(ip, ip + IPV4_HEADER_LEN)));

  const l4 = ip + IPV4_HEADER_LEN;
  const segment = frame.subarray(l4);
  switch (s.protocol) {
    case "tcp":
      view.setUint16(l4, s.sport);
      view.setUint16(l4 + 2, s.dport);
      view.setUint32(l4 + 4, 1); // sequence number
      frame[l4 + 12] = 5 << 4; // data offset: 5 words
      frame[l4 + 13] = s.tcpFlags;
      view.setUint16(l4 + 14, 65535); // window
      view.setUint16(l4 + 16, internetChecksum(concat(pseudoHeader(src, dst, 6, segment.length), segment)));
      break;
    case "udp": {
      view.setUint16(l4, s.sport);
      view.setUint16(l4 + 2, s.dport);
      view.setUint16(l4 + 4, segment.length);
      const sum = internetChecksum(concat(pseudoHeader(src, dst, 17, segment.length), segment));
      view.setUint16(l4 + 6, sum === 0 ? 0xffff : sum); // RFC 768: 0 means "no checksum"
      break;
    }
    case "icmp":
      frame[l4] = 8; // echo request
      view.setUint16(l4 + 4, 1); // identifier
      view.setUint16(l4 + 6, 1); // sequence number
      view.setUint16(l4 + 2, internetChecksum(segment));
      break;
  }
  return frame;
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

/** A decimal integer in [min, max], or undefined. */
function parseInteger(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}
