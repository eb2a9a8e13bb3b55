/**
 * Data tables: the dialect's view of the program contexts (built from the context layouts
 * of @luabpf/platform: `struct __sk_buff`, `struct xdp_md`, x86-64 `struct pt_regs`) and
 * the layouts of the packet headers the `pkt` dissectors read (Ethernet, IPv4, IPv6, TCP,
 * UDP, ICMP), after bcc's Lua `proto.lua`.
 *
 * Header offsets are relative to the header's start; multi-byte fields are big-endian on
 * the wire and are read with classic packet loads, which return them in host order.
 */
import type { ContextStruct, RegisterContext } from "@luabpf/platform";

/** A readable field of a program context. */
export interface ContextField {
  readonly offset: number;
  /** 4-byte fields are zero-extended to 64 bits; 8-byte fields are read whole. */
  readonly size: 4 | 8;
}

/** A program context struct, as program bodies see it (`ctx.len`, `ctx.parm1`). */
export interface ContextLayout {
  /** The C struct name, for messages. */
  readonly struct: string;
  readonly fields: Readonly<Record<string, ContextField>>;
  /** Alternative names (bcc's `parm1` for `di`, ...). */
  readonly aliases: Readonly<Record<string, string>>;
}

/**
 * The fields of `struct` a program body can read as numbers: 4- and 8-byte scalar fields.
 * Arrays, narrower fields and C pointers (`__bpf_md_ptr`) are left out; so are the packet
 * pointers (`data`, `data_end`, ...) when the program reads its packet through `pkt`
 * (`hidePacketPointers`). Register contexts get bcc's aliases: `parm1`..`parm5` for the
 * argument registers, `ret` for the return value register, `fp` for the frame pointer.
 */
export function contextView(struct: ContextStruct, hidePacketPointers: boolean): ContextLayout {
  const fields: Record<string, ContextField> = {};
  for (const f of struct.fields) {
    if (f.count !== undefined || (f.size !== 4 && f.size !== 8) || f.type === "__bpf_md_ptr") continue;
    if (hidePacketPointers && f.pointer?.startsWith("packet")) continue;
    fields[f.name] = { offset: f.offset, size: f.size };
  }
  const aliases: Record<string, string> = {};
  if ("argumentRegisters" in struct) {
    const regs = struct as RegisterContext;
    regs.argumentRegisters.slice(0, 5).forEach((r, i) => (aliases[`parm${i + 1}`] = r));
    aliases.ret = regs.returnRegister;
    aliases.fp = regs.framePointer;
  }
  return { struct: struct.name, fields, aliases };
}

/** Resolves `name` (or an alias) in a context layout. */
export function contextField(layout: ContextLayout, name: string): ContextField | undefined {
  const real = Object.hasOwn(layout.aliases, name) ? layout.aliases[name]! : name;
  return Object.hasOwn(layout.fields, real) ? layout.fields[real] : undefined;
}

// ---- packet headers ----

/**
 * A header field: `size` bytes at `offset`, then `(value >> shift) & mask` for bit fields.
 */
export interface HeaderField {
  readonly offset: number;
  readonly size: 1 | 2 | 4;
  readonly shift?: number;
  readonly mask?: number;
}

/** How the next header's start follows from this one's. */
export type NextHeader =
  /** A fixed number of bytes later. */
  | { readonly kind: "fixed"; readonly bytes: number }
  /** After the IPv4 header, whose length is the low nibble of byte 0 in 32-bit words. */
  | { readonly kind: "ihl" }
  /** After the TCP header, whose length is the high nibble of byte 12 in 32-bit words. */
  | { readonly kind: "tcp_offset" };

/** A protocol header the dissectors know. */
export interface HeaderLayout {
  /** A readable name, for messages. */
  readonly title: string;
  readonly fields: Readonly<Record<string, HeaderField>>;
  /** Headers that can follow this one (`pkt.ip.tcp`). */
  readonly next: Readonly<Record<string, { readonly header: HeaderName; readonly at: NextHeader }>>;
}

export type HeaderName = "eth" | "ip" | "ip6" | "tcp" | "udp" | "icmp" | "icmp6" | "data";

const u8 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 1, shift, mask });
const u16 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 2, shift, mask });
const u32 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 4, shift, mask });
const flag = (offset: number, bit: number): HeaderField => u8(offset, bit, 1);

const AFTER_ETH = { kind: "fixed", bytes: 14 } as const;
const AFTER_IP6 = { kind: "fixed", bytes: 40 } as const;
const AFTER_IP = { kind: "ihl" } as const;
const AFTER_TCP = { kind: "tcp_offset" } as const;
const AFTER_UDP = { kind: "fixed", bytes: 8 } as const;

/** The header table. `pkt` itself is the Ethernet header (as in bcc). */
export const HEADERS: Readonly<Record<HeaderName, HeaderLayout>> = {
  eth: {
    title: "Ethernet header",
    fields: { type: u16(12) },
    next: { ip: { header: "ip", at: AFTER_ETH }, ip6: { header: "ip6", at: AFTER_ETH } },
  },
  ip: {
    title: "IPv4 header",
    fields: {
      ver: u8(0, 4, 0xf),
      hlen: u8(0, 0, 0xf),
      ihl: u8(0, 0, 0xf),
      tos: u8(1),
      len: u16(2),
      tlen: u16(2),
      id: u16(4),
      identification: u16(4),
      frag: u16(6),
      df: u16(6, 14, 1),
      mf: u16(6, 13, 1),
      foffset: u16(6, 0, 0x1fff),
      ttl: u8(8),
      proto: u8(9),
      checksum: u16(10),
      hchecksum: u16(10),
      src: u32(12),
      dst: u32(16),
    },
    next: { tcp: { header: "tcp", at: AFTER_IP }, udp: { header: "udp", at: AFTER_IP }, icmp: { header: "icmp", at: AFTER_IP } },
  },
  ip6: {
    title: "IPv6 header",
    fields: {
      ver: u8(0, 4, 0xf),
      priority: u16(0, 4, 0xff),
      flow_label: u32(0, 0, 0xfffff),
      payload_len: u16(4),
      next_header: u8(6),
      hop_limit: u8(7),
    },
    next: { tcp: { header: "tcp", at: AFTER_IP6 }, udp: { header: "udp", at: AFTER_IP6 }, icmp6: { header: "icmp6", at: AFTER_IP6 } },
  },
  tcp: {
    title: "TCP header",
    fields: {
      src_port: u16(0),
      dst_port: u16(2),
      seq: u32(4),
      seq_num: u32(4),
      ack: u32(8),
      ack_num: u32(8),
      offset: u8(12, 4, 0xf),
      reserved: u8(12, 0, 0xf),
      flags: u8(13),
      flag_fin: flag(13, 0),
      flag_syn: flag(13, 1),
      flag_rst: flag(13, 2),
      flag_psh: flag(13, 3),
      flag_ack: flag(13, 4),
      flag_urg: flag(13, 5),
      flag_ece: flag(13, 6),
      flag_cwr: flag(13, 7),
      window: u16(14),
      rcv_wnd: u16(14),
      checksum: u16(16),
      cksum: u16(16),
      urg_ptr: u16(18),
    },
    next: { data: { header: "data", at: AFTER_TCP } },
  },
  udp: {
    title: "UDP header",
    fields: { src_port: u16(0), dst_port: u16(2), length: u16(4), len: u16(4), checksum: u16(6), crc: u16(6) },
    next: { data: { header: "data", at: AFTER_UDP } },
  },
  icmp: {
    title: "ICMP header",
    fields: { type: u8(0), code: u8(1), checksum: u16(2) },
    next: {},
  },
  icmp6: {
    title: "ICMPv6 header",
    fields: { type: u8(0), code: u8(1), checksum: u16(2) },
    next: {},
  },
  /** The payload after a TCP or UDP header: read with `data[i]` and `data(from, to)`. */
  data: {
    title: "payload",
    fields: {},
    next: {},
  },
};

/** Byte offset of the IPv4 header in the packet (right after Ethernet). */
export const IP_OFFSET = 14;
