/**
 * Data tables: the layouts of the program contexts (`struct __sk_buff`, `struct xdp_md`,
 * x86-64 `struct pt_regs`) and of the packet headers the `pkt` dissectors read (Ethernet,
 * IPv4, IPv6, TCP, UDP, ICMP), after bcc's Lua `proto.lua`.
 *
 * Context offsets are those of the kernel's `include/uapi/linux/bpf.h` and
 * `arch/x86/include/asm/ptrace.h`. Header offsets are relative to the header's start;
 * multi-byte fields are big-endian on the wire and are read with classic packet loads,
 * which return them in host order.
 */

/** A readable field of a program context. */
export interface ContextField {
  readonly offset: number;
  /** 4-byte fields are zero-extended to 64 bits; 8-byte fields are read whole. */
  readonly size: 4 | 8;
}

/** A program context struct. */
export interface ContextLayout {
  /** The C struct name, for messages. */
  readonly struct: string;
  readonly fields: Readonly<Record<string, ContextField>>;
  /** Alternative names (bcc's `parm1` for `di`, ...). */
  readonly aliases: Readonly<Record<string, string>>;
}

function u32Fields(entries: Record<string, number>): Record<string, ContextField> {
  const out: Record<string, ContextField> = {};
  for (const [name, offset] of Object.entries(entries)) out[name] = { offset, size: 4 };
  return out;
}

/** `struct __sk_buff` (socket filters and tc classifiers). Pointer fields are left out. */
export const SK_BUFF: ContextLayout = {
  struct: "__sk_buff",
  fields: {
    ...u32Fields({
      len: 0,
      pkt_type: 4,
      mark: 8,
      queue_mapping: 12,
      protocol: 16,
      vlan_present: 20,
      vlan_tci: 24,
      vlan_proto: 28,
      priority: 32,
      ingress_ifindex: 36,
      ifindex: 40,
      tc_index: 44,
      // cb[5] occupies 48..67
      hash: 68,
      tc_classid: 72,
      // data 76, data_end 80: packet pointers, not numbers (use `pkt` instead)
      napi_id: 84,
      family: 88,
      remote_ip4: 92,
      local_ip4: 96,
      // remote_ip6[4] 100..115, local_ip6[4] 116..131
      remote_port: 132,
      local_port: 136,
      // data_meta 140, flow_keys 144 (pointer)
      wire_len: 160,
      gso_segs: 164,
      // sk 168 (pointer)
      gso_size: 176,
    }),
    tstamp: { offset: 152, size: 8 },
    hwtstamp: { offset: 184, size: 8 },
  },
  aliases: {},
};

/** `struct xdp_md` (XDP programs). `data`, `data_end` and `data_meta` read as 32-bit values. */
export const XDP_MD: ContextLayout = {
  struct: "xdp_md",
  fields: u32Fields({ data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 }),
  aliases: {},
};

const PT_REGS_X86_64 = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"];

/** x86-64 `struct pt_regs` (kprobes): 8-byte registers, with bcc's argument aliases. */
export const PT_REGS: ContextLayout = {
  struct: "pt_regs",
  fields: Object.fromEntries(PT_REGS_X86_64.map((name, i) => [name, { offset: i * 8, size: 8 } satisfies ContextField])),
  // The System V argument registers; `ret` is the return value register (PT_REGS_RC).
  aliases: { parm1: "di", parm2: "si", parm3: "dx", parm4: "cx", parm5: "r8", ret: "ax", fp: "bp" },
};

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
