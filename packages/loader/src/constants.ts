// Numeric constants of the bpf(2) ABI, as declared in the kernel's include/uapi/linux/bpf.h.
// Only the subset the loader and its callers use is listed; every value is the kernel's own
// enumerator value, so these tables are the single place where uapi numbers appear.

/** `enum bpf_cmd`: the first argument of bpf(2). */
export const BpfCommand = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  MAP_LOOKUP_BATCH: 24,
  LINK_CREATE: 28,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  LINK_DETACH: 34,
} as const;
/** A value of {@link BpfCommand}. */
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

/** `enum bpf_map_type`. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  QUEUE: 22,
  STACK: 23,
  RINGBUF: 27,
  BLOOM_FILTER: 30,
} as const;
/** A value of {@link MapType}. */
export type MapType = (typeof MapType)[keyof typeof MapType];

/** `enum bpf_prog_type`. */
export const ProgramType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  FLOW_DISSECTOR: 22,
  TRACING: 26,
  SYSCALL: 31,
} as const;
/** A value of {@link ProgramType}. */
export type ProgramType = (typeof ProgramType)[keyof typeof ProgramType];

/** `enum bpf_attach_type` (the values a program may name as its expected attach type). */
export const AttachType = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  FLOW_DISSECTOR: 17,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  XDP: 37,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
} as const;
/** A value of {@link AttachType}. */
export type AttachType = (typeof AttachType)[keyof typeof AttachType];

/** `enum bpf_link_type`: what `bpftool link` prints as a link's type. */
export const LinkType = {
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  TCX: 11,
} as const;
/** A value of {@link LinkType}. */
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** `XDP_FLAGS_*` of an XDP link (include/uapi/linux/if_link.h): which driver hook runs the program. */
export const XdpFlags = {
  /** Generic (skb) mode: works on every device, after the skb is built. */
  SKB_MODE: 1 << 1,
  /** Native (driver) mode: the driver runs the program before allocating an skb. */
  DRV_MODE: 1 << 2,
  /** Offloaded to the NIC. */
  HW_MODE: 1 << 3,
} as const;

/** Flags of BPF_MAP_UPDATE_ELEM. */
export const UpdateFlags = {
  /** Create a new element or update an existing one. */
  ANY: 0,
  /** Create only: fail with EEXIST when the key exists. */
  NOEXIST: 1,
  /** Update only: fail with ENOENT when the key does not exist. */
  EXIST: 2,
} as const;

/** `src_reg` value of an `lddw` whose immediate is a map file descriptor. */
export const BPF_PSEUDO_MAP_FD = 1;

/** Opcode byte of `lddw` (BPF_LD | BPF_IMM | BPF_DW), the only instruction a map relocation may target. */
export const LDDW_OPCODE = 0x18;

/** Length of the kernel's object names (`BPF_OBJ_NAME_LEN`), including the terminating NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** Map types whose values the kernel stores once per possible CPU. */
export const PER_CPU_MAP_TYPES: ReadonlySet<number> = new Set<number>([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
]);

/** Name of a {@link BpfCommand} value, for error messages. */
export function commandName(command: number): string {
  for (const [name, value] of Object.entries(BpfCommand)) {
    if (value === command) return `BPF_${name}`;
  }
  return `bpf command ${command}`;
}
