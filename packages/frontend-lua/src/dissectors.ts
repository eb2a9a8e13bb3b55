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
  /** A packet pointer field (`data`, `data_end`, `data_meta`): read as a packet position, not a number. */
  readonly pointer?: "packet" | "packet_end" | "packet_meta";
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
 * The fields of `struct` a program body can read: 4- and 8-byte scalar fields, and the
 * packet pointers (`data`, `data_end`, `data_meta`) of programs that read packets
 * (`packetAccess`), marked as such. Arrays, narrower fields and C pointers
 * (`__bpf_md_ptr`) are left out. Register contexts get bcc's aliases: `parm1`..`parm5` for
 * the argument registers, `ret` for the return value register, `fp` for the frame pointer.
 */
export function contextView(struct: ContextStruct, packetAccess: boolean): ContextLayout {
  const fields: Record<string, ContextField> = {};
  for (const f of struct.fields) {
    if (f.count !== undefined || (f.size !== 4 && f.size !== 8) || f.type === "__bpf_md_ptr") continue;
    const pointer = f.pointer === "packet" || f.pointer === "packet_end" || f.pointer === "packet_meta" ? f.pointer : undefined;
    if (f.pointer !== undefined && (pointer === undefined || !packetAccess)) continue;
    fields[f.name] = { offset: f.offset, size: f.size, ...(pointer ? { pointer } : {}) };
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
 * A header field: `size` bytes at `offset` (big-endian on the wire), then
 * `(value >> shift) & mask` for bit fields. 6- and 8-byte fields (MAC addresses, IPv6
 * address halves) are read as one 48- or 64-bit number.
 */
export interface HeaderField {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 6 | 8;
  readonly shift?: number;
  readonly mask?: number;
}

/** How the next header's start follows from this one's. */
export type NextHeader =
  /** A fixed number of bytes later. */
  | { readonly kind: "fixed"; readonly bytes: number }
  /**
   * After a header whose length is read from the packet: `(field + plus) * scale` bytes
   * (IPv4's IHL and TCP's data offset count 32-bit words; an IPv6 extension header's
   * length counts 8-byte units after the first 8).
   */
  | { readonly kind: "length"; readonly field: HeaderField; readonly scale: number; readonly plus: number };

/** A protocol header the dissectors know. */
export interface HeaderLayout {
  /** A readable name, for messages. */
  readonly title: string;
  /**
   * Bytes of the header's fixed part: reading any field of the header needs this many
   * bytes from its start (direct packet access checks them once per header).
   */
  readonly size: number;
  readonly fields: Readonly<Record<string, HeaderField>>;
  /** Headers that can follow this one (`pkt.ip.tcp`). */
  readonly next: Readonly<Record<string, { readonly header: HeaderName; readonly at: NextHeader }>>;
}

export type HeaderName = "eth" | "dot1q" | "arp" | "ip" | "ip6" | "ip6_opt" | "tcp" | "udp" | "icmp" | "icmp6" | "data" | "raw";

const u8 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 1, shift, mask });
const u16 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 2, shift, mask });
const u32 = (offset: number, shift?: number, mask?: number): HeaderField => ({ offset, size: 4, shift, mask });
const u48 = (offset: number): HeaderField => ({ offset, size: 6 });
const u64 = (offset: number): HeaderField => ({ offset, size: 8 });
const flag = (offset: number, bit: number): HeaderField => u8(offset, bit, 1);

const fixed = (bytes: number) => ({ kind: "fixed", bytes }) as const;
const AFTER_IP: NextHeader = { kind: "length", field: u8(0, 0, 0xf), scale: 4, plus: 0 };
const AFTER_TCP: NextHeader = { kind: "length", field: u8(12, 4, 0xf), scale: 4, plus: 0 };
const AFTER_IP6_OPT: NextHeader = { kind: "length", field: u8(1), scale: 8, plus: 1 };
/** The headers a link-layer header (Ethernet, a VLAN tag) can carry, `bytes` after its start. */
const network = (bytes: number) => ({
  ip: { header: "ip", at: fixed(bytes) },
  ip6: { header: "ip6", at: fixed(bytes) },
  arp: { header: "arp", at: fixed(bytes) },
}) as const;
/** The headers that can follow IPv6 or one of its extension headers. */
const afterIp6 = (at: NextHeader) => ({
  tcp: { header: "tcp", at },
  udp: { header: "udp", at },
  icmp6: { header: "icmp6", at },
  ip6_opt: { header: "ip6_opt", at },
}) as const;

/**
 * The header table, with bcc's field names (and the longer names earlier versions of this
 * dialect accepted). `pkt` (or `eth`) itself is the Ethernet header, as in bcc.
 */
export const HEADERS: Readonly<Record<HeaderName, HeaderLayout>> = {
  eth: {
    title: "Ethernet header",
    size: 14,
    fields: { dst: u48(0), src: u48(6), type: u16(12) },
    next: { ...network(14), dot1q: { header: "dot1q", at: fixed(14) } },
  },
  /** An 802.1Q VLAN tag after the Ethernet header: tag control information, then the inner EtherType. */
  dot1q: {
    title: "802.1Q VLAN tag",
    size: 4,
    fields: { pri: u16(0, 13, 0x7), cfi: u16(0, 12, 1), vlanid: u16(0, 0, 0xfff), type: u16(2) },
    next: network(4),
  },
  arp: {
    title: "ARP header",
    size: 28,
    fields: { htype: u16(0), ptype: u16(2), hlen: u8(4), plen: u8(5), oper: u16(6), sha: u48(8), spa: u32(14), tha: u48(18), tpa: u32(24) },
    next: {},
  },
  ip: {
    title: "IPv4 header",
    size: 20,
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
      ffo_unused: u16(6, 15, 1),
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
    size: 40,
    fields: {
      ver: u8(0, 4, 0xf),
      priority: u16(0, 4, 0xff),
      flow_label: u32(0, 0, 0xfffff),
      payload_len: u16(4),
      next_header: u8(6),
      hop_limit: u8(7),
      src_hi: u64(8),
      src_lo: u64(16),
      dst_hi: u64(24),
      dst_lo: u64(32),
    },
    next: afterIp6(fixed(40)),
  },
  /** An IPv6 extension header (hop-by-hop, routing, destination options): its length is `(ext_len + 1) * 8` bytes. */
  ip6_opt: {
    title: "IPv6 extension header",
    size: 8,
    fields: { next_header: u8(0), ext_len: u8(1) },
    next: afterIp6(AFTER_IP6_OPT),
  },
  tcp: {
    title: "TCP header",
    size: 20,
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
    size: 8,
    fields: { src_port: u16(0), dst_port: u16(2), length: u16(4), len: u16(4), checksum: u16(6), crc: u16(6) },
    next: { data: { header: "data", at: fixed(8) } },
  },
  icmp: {
    title: "ICMP header",
    size: 4,
    fields: { type: u8(0), code: u8(1), checksum: u16(2) },
    next: {},
  },
  icmp6: {
    title: "ICMPv6 header",
    size: 4,
    fields: { type: u8(0), code: u8(1), checksum: u16(2) },
    next: {},
  },
  /** The payload after a TCP or UDP header: read with `data[i]` and `data(from, to)`. */
  data: {
    title: "payload",
    size: 0,
    fields: {},
    next: {},
  },
  /**
   * bcc's raw packet pointer (`skb.data`, `ctx.data`, and positions from it: `skb.data + 5`):
   * bytes read with `ptr[i]`, read directly where the program type allows it.
   */
  raw: {
    title: "packet pointer",
    size: 0,
    fields: {},
    next: {},
  },
};

/**
 * bcc's protocol constants (`c.eth.ip`, `c.ip.proto_tcp`, ...): EtherTypes of the IEEE
 * registry, and for IPv4 the reserved addresses, type-of-service and fragment bits, TTLs
 * and the IANA protocol numbers.
 */
export const PROTOCOL_CONSTANTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  eth: { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, revarp: 0x8035, vlan: 0x8100 },
  ip: {
    addr_any: 0x00000000,
    addr_broadcast: 0xffffffff,
    addr_loopback: 0x7f000001,
    addr_mcast_all: 0xe0000001,
    addr_mcast_local: 0xe00000ff,
    tos_default: 0x00,
    tos_lowdelay: 0x10,
    tos_throughput: 0x08,
    tos_reliability: 0x04,
    tos_lowcost: 0x02,
    tos_ect: 0x02,
    tos_ce: 0x01,
    rf: 0x8000,
    df: 0x4000,
    mf: 0x2000,
    offmask: 0x1fff,
    ttl_default: 64,
    ttl_max: 255,
    ...ipProtocols(),
  },
};

/** `proto_<name>` for each IANA protocol number bcc names (several names may share a number). */
function ipProtocols(): Record<string, number> {
  // Numbers in order from 0; "" skips a number; "a/b" gives one number two names.
  const names =
    "ip/hopopts icmp igmp ggp ipip st tcp cbt egp igp bbnrcc nvp pup argus emcon xnet chaos udp mux dcnmeas hmp prm idp " +
    "trunk1 trunk2 leaf1 leaf2 rdp irtp tp netblt mfpnsp meritinp sep 3pc idpr xtp ddp cmtp tppp il ip6 sdrp routing " +
    "fragment - rsvp gre mhrp ena esp ah inlsp swipe narp mobile tlsp skip icmp6 none dstopts anyhost cftp anynet expak " +
    "kryptolan rvd ippc distfs satmon visa ipcv cpnx cphb wsn pvp brsatmon sunnd wbmon wbexpak eon vmtp svmtp vines ttp " +
    "nsfigp dgp tcf eigrp ospf spriterpc larp mtp ax25 ipipencap micp sccsp etherip encap anyenc gmtp ifmp pnni pim aris " +
    "scps qnx an ipcomp snp compaqpeer ipxip vrrp pgm any0hop l2tp ddx iatp stp srp uti smp sm ptp isis fire crtp crudp " +
    "sscopmce iplt sps pipe sctp fc rsvpign";
  const out: Record<string, number> = {};
  names.split(" ").forEach((entry, n) => {
    if (entry !== "-") for (const name of entry.split("/")) out[`proto_${name}`] = n;
  });
  out.proto_raw = 255;
  out.proto_reserved = 255;
  return out;
}
