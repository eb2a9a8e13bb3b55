/**
 * Layouts of the context structs a program's r1 points at (`struct __sk_buff`,
 * `struct xdp_md`, x86-64 `struct pt_regs`), field by field with C types that map directly
 * to BTF integers. Offsets are those of the kernel's include/uapi/linux/bpf.h and
 * arch/x86/include/asm/ptrace.h; test/contexts.test.ts compares them with the running
 * kernel's BTF (`/sys/kernel/btf/vmlinux`).
 *
 * The verifier rewrites context accesses, so a field's C type is not always what a load
 * yields: `__u32 data` of `__sk_buff` and `xdp_md` loads a packet pointer. Such fields say
 * so in `pointer`. Program types name their context struct in programs.ts; front ends
 * decide which fields their language exposes.
 */

/** C integer types of context fields, with their BTF encoding. */
export const CONTEXT_FIELD_TYPES = {
  __u8: { size: 1, signed: false },
  __u16: { size: 2, signed: false },
  __u32: { size: 4, signed: false },
  __u64: { size: 8, signed: false },
  "unsigned long": { size: 8, signed: false },
  /** `__bpf_md_ptr(T *, name)`: a pointer padded to 8 bytes. */
  "__bpf_md_ptr": { size: 8, signed: false },
} as const satisfies Record<string, { size: number; signed: boolean }>;

/** A C type name of {@link CONTEXT_FIELD_TYPES}. */
export type ContextFieldType = keyof typeof CONTEXT_FIELD_TYPES;

/** What a load of a pointer-valued context field yields (the verifier's register type). */
export type ContextPointer = "packet" | "packet_end" | "packet_meta" | "flow_keys" | "sock";

/** One field of a context struct. */
export interface ContextField {
  readonly name: string;
  /** Byte offset in the struct. */
  readonly offset: number;
  readonly type: ContextFieldType;
  /** Size in bytes of one element. */
  readonly size: number;
  /** Element count of an array field (`__u32 cb[5]`). */
  readonly count?: number;
  /** Loads of this field yield a pointer of this kind, not a number. */
  readonly pointer?: ContextPointer;
}

/** A context struct. */
export interface ContextStruct {
  /** The C struct name. */
  readonly name: string;
  readonly size: number;
  readonly fields: readonly ContextField[];
}

/** `pt_regs` with the registers of an architecture's calling convention. */
export interface RegisterContext extends ContextStruct {
  /** Registers holding the first arguments of a function, in order (`PT_REGS_PARM1`, ...). */
  readonly argumentRegisters: readonly string[];
  /** The register holding a function's return value (`PT_REGS_RC`). */
  readonly returnRegister: string;
  /** The frame pointer register (`PT_REGS_FP`). */
  readonly framePointer: string;
}

type FieldSpec = readonly [name: string, type: ContextFieldType, extra?: { count?: number; pointer?: ContextPointer; offset?: number }];

/** Lays out `fields` with C rules (each field aligned to its size; `offset` forces a position). */
function layout(name: string, size: number, fields: readonly FieldSpec[]): ContextStruct {
  let at = 0;
  const out: ContextField[] = [];
  for (const [fname, type, extra] of fields) {
    const elem = CONTEXT_FIELD_TYPES[type].size;
    at = extra?.offset ?? Math.ceil(at / elem) * elem;
    const f: ContextField = { name: fname, offset: at, type, size: elem, ...(extra?.count ? { count: extra.count } : {}), ...(extra?.pointer ? { pointer: extra.pointer } : {}) };
    out.push(Object.freeze(f));
    at += elem * (extra?.count ?? 1);
  }
  return Object.freeze({ name, size, fields: Object.freeze(out) });
}

const u32 = (name: string, extra?: FieldSpec[2]): FieldSpec => [name, "__u32", extra];

/** `struct __sk_buff` (socket filters, tc, cgroup skb, lwt, sk_skb, flow dissector). */
export const SK_BUFF: ContextStruct = layout("__sk_buff", 192, [
  u32("len"),
  u32("pkt_type"),
  u32("mark"),
  u32("queue_mapping"),
  u32("protocol"),
  u32("vlan_present"),
  u32("vlan_tci"),
  u32("vlan_proto"),
  u32("priority"),
  u32("ingress_ifindex"),
  u32("ifindex"),
  u32("tc_index"),
  u32("cb", { count: 5 }),
  u32("hash"),
  u32("tc_classid"),
  u32("data", { pointer: "packet" }),
  u32("data_end", { pointer: "packet_end" }),
  u32("napi_id"),
  u32("family"),
  u32("remote_ip4"),
  u32("local_ip4"),
  u32("remote_ip6", { count: 4 }),
  u32("local_ip6", { count: 4 }),
  u32("remote_port"),
  u32("local_port"),
  u32("data_meta", { pointer: "packet_meta" }),
  ["flow_keys", "__bpf_md_ptr", { pointer: "flow_keys" }],
  ["tstamp", "__u64"],
  u32("wire_len"),
  u32("gso_segs"),
  ["sk", "__bpf_md_ptr", { pointer: "sock" }],
  u32("gso_size"),
  ["tstamp_type", "__u8"],
  ["hwtstamp", "__u64", { offset: 184 }],
]);

/** `struct xdp_md` (XDP programs). */
export const XDP_MD: ContextStruct = layout("xdp_md", 24, [
  u32("data", { pointer: "packet" }),
  u32("data_end", { pointer: "packet_end" }),
  u32("data_meta", { pointer: "packet_meta" }),
  u32("ingress_ifindex"),
  u32("rx_queue_index"),
  u32("egress_ifindex"),
]);

const X86_64_REGS = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"];

/** x86-64 `struct pt_regs` (kprobes, uprobes, perf events), with the System V calling convention. */
export const PT_REGS_X86_64: RegisterContext = Object.freeze({
  ...layout("pt_regs", 168, X86_64_REGS.map((r): FieldSpec => [r, "unsigned long"])),
  argumentRegisters: Object.freeze(["di", "si", "dx", "cx", "r8", "r9"]),
  returnRegister: "ax",
  framePointer: "bp",
});

/** The context structs with known layouts, by C name. */
export const CONTEXT_STRUCTS: Readonly<Record<string, ContextStruct>> = Object.freeze({
  __sk_buff: SK_BUFF,
  xdp_md: XDP_MD,
  pt_regs: PT_REGS_X86_64,
});

/** The field `name` of `struct`, or undefined. */
export function contextField(struct: ContextStruct, name: string): ContextField | undefined {
  return struct.fields.find((f) => f.name === name);
}
