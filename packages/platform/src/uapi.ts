/**
 * Numbers of the bpf(2) ABI that are not rows of the map, helper or program tables: the
 * commands, attach and link types, update and creation flags, the pseudo source registers
 * of `lddw` and `call`, and program return codes. Values are the kernel's own
 * (include/uapi/linux/bpf.h, linux/pkt_cls.h), checked against the installed header by
 * test/uapi.test.ts.
 *
 * Enumerations are spelled as the kernel spells them without their prefix; attach and link
 * types are lower-case, as libbpf and bpftool print them (`xdp`, `cgroup_inet_ingress`).
 */

/** `enum bpf_cmd`: the first argument of bpf(2) (`BPF_PROG_RUN` is `PROG_TEST_RUN`). */
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
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
  PROG_STREAM_READ_BY_FD: 37,
  PROG_ASSOC_STRUCT_OPS: 38,
} as const satisfies Record<string, number>;
/** A value of {@link BpfCommand}. */
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

/** `enum bpf_attach_type`, as libbpf names them (`BPF_XDP` is `xdp`). */
export const AttachType = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  cgroup_inet_sock_create: 2,
  cgroup_sock_ops: 3,
  sk_skb_stream_parser: 4,
  sk_skb_stream_verdict: 5,
  cgroup_device: 6,
  sk_msg_verdict: 7,
  cgroup_inet4_bind: 8,
  cgroup_inet6_bind: 9,
  cgroup_inet4_connect: 10,
  cgroup_inet6_connect: 11,
  cgroup_inet4_post_bind: 12,
  cgroup_inet6_post_bind: 13,
  cgroup_udp4_sendmsg: 14,
  cgroup_udp6_sendmsg: 15,
  lirc_mode2: 16,
  flow_dissector: 17,
  cgroup_sysctl: 18,
  cgroup_udp4_recvmsg: 19,
  cgroup_udp6_recvmsg: 20,
  cgroup_getsockopt: 21,
  cgroup_setsockopt: 22,
  trace_raw_tp: 23,
  trace_fentry: 24,
  trace_fexit: 25,
  modify_return: 26,
  lsm_mac: 27,
  trace_iter: 28,
  cgroup_inet4_getpeername: 29,
  cgroup_inet6_getpeername: 30,
  cgroup_inet4_getsockname: 31,
  cgroup_inet6_getsockname: 32,
  xdp_devmap: 33,
  cgroup_inet_sock_release: 34,
  xdp_cpumap: 35,
  sk_lookup: 36,
  xdp: 37,
  sk_skb_verdict: 38,
  sk_reuseport_select: 39,
  sk_reuseport_select_or_migrate: 40,
  perf_event: 41,
  trace_kprobe_multi: 42,
  lsm_cgroup: 43,
  struct_ops: 44,
  netfilter: 45,
  tcx_ingress: 46,
  tcx_egress: 47,
  trace_uprobe_multi: 48,
  cgroup_unix_connect: 49,
  cgroup_unix_sendmsg: 50,
  cgroup_unix_recvmsg: 51,
  cgroup_unix_getpeername: 52,
  cgroup_unix_getsockname: 53,
  netkit_primary: 54,
  netkit_peer: 55,
  trace_kprobe_session: 56,
  trace_uprobe_session: 57,
  trace_fsession: 58,
  trace_fentry_multi: 59,
  trace_fexit_multi: 60,
  trace_fsession_multi: 61,
} as const satisfies Record<string, number>;
/** A name of {@link AttachType}. */
export type AttachTypeName = keyof typeof AttachType;

/** `enum bpf_link_type`. */
export const LinkType = {
  unspec: 0,
  raw_tracepoint: 1,
  tracing: 2,
  cgroup: 3,
  iter: 4,
  netns: 5,
  xdp: 6,
  perf_event: 7,
  kprobe_multi: 8,
  struct_ops: 9,
  netfilter: 10,
  tcx: 11,
  uprobe_multi: 12,
  netkit: 13,
  sockmap: 14,
  tracing_multi: 15,
} as const satisfies Record<string, number>;
/** A name of {@link LinkType}. */
export type LinkTypeName = keyof typeof LinkType;

/** `XDP_FLAGS_*` of an XDP attachment (include/uapi/linux/if_link.h): which driver hook runs the program. */
export const XdpFlag = {
  /** Fail if a program is already attached (netlink attach only; links always do). */
  UPDATE_IF_NOEXIST: 1 << 0,
  /** Generic (skb) mode: works on every device, after the skb is built. */
  SKB_MODE: 1 << 1,
  /** Native (driver) mode: the driver runs the program before allocating an skb. */
  DRV_MODE: 1 << 2,
  /** Offloaded to the NIC. */
  HW_MODE: 1 << 3,
} as const satisfies Record<string, number>;

/** Flags of `BPF_MAP_UPDATE_ELEM` and of the `bpf_map_update_elem` helper. */
export const UpdateFlag = {
  /** Create a new element or update an existing one (`BPF_ANY`). */
  ANY: 0,
  /** Create only: fail with EEXIST when the key exists (`BPF_NOEXIST`). */
  NOEXIST: 1,
  /** Update only: fail with ENOENT when the key is absent (`BPF_EXIST`). */
  EXIST: 2,
  /** Take the value's `bpf_spin_lock` (`BPF_F_LOCK`). */
  F_LOCK: 4,
} as const satisfies Record<string, number>;

/** `BPF_F_*` flags of `BPF_MAP_CREATE` (`map_flags`). */
export const MapFlag = {
  noPrealloc: 1 << 0,
  noCommonLru: 1 << 1,
  numaNode: 1 << 2,
  rdonly: 1 << 3,
  wronly: 1 << 4,
  stackBuildId: 1 << 5,
  zeroSeed: 1 << 6,
  rdonlyProg: 1 << 7,
  wronlyProg: 1 << 8,
  clone: 1 << 9,
  mmapable: 1 << 10,
  preserveElems: 1 << 11,
  innerMap: 1 << 12,
  link: 1 << 13,
  pathFd: 1 << 14,
  vtypeBtfObjFd: 1 << 15,
  tokenFd: 1 << 16,
  segvOnFault: 1 << 17,
  noUserConv: 1 << 18,
} as const satisfies Record<string, number>;

/** `BPF_F_*` flags of `BPF_PROG_LOAD` (`prog_flags`). */
export const ProgFlag = {
  /** Check every access's alignment as on architectures without efficient unaligned access (`BPF_F_STRICT_ALIGNMENT`). */
  strictAlignment: 1 << 0,
  /** Do not check alignment (`BPF_F_ANY_ALIGNMENT`; testing only). */
  anyAlignment: 1 << 1,
} as const satisfies Record<string, number>;

/** Flags and flag fields of helper arguments (`BPF_F_*`, `BPF_RB_*` of the helper documentation). */
export const HelperFlag = {
  /** `get_stackid`/`get_stack`: frames to skip (low 8 bits). */
  SKIP_FIELD_MASK: 0xff,
  /** `get_stackid`/`get_stack`: the user stack instead of the kernel stack. */
  USER_STACK: 1 << 8,
  /** `get_stackid`: compare stacks by hash only. */
  FAST_STACK_CMP: 1 << 9,
  /** `get_stackid`: reuse the id of a colliding stack. */
  REUSE_STACKID: 1 << 10,
  /** `get_stack`: build ids and offsets instead of addresses. */
  USER_BUILD_ID: 1 << 11,
  /** `perf_event_output`/`skb_output`: the perf event array index (low 32 bits). */
  INDEX_MASK: 0xffffffff,
  /** `perf_event_output`: the index of the current CPU (`BPF_F_CURRENT_CPU`, all index bits set). */
  CURRENT_CPU: 0xffffffff,
  /** `l3_csum_replace`/`l4_csum_replace`: the size of the changed field (2 or 4), in the low 4 bits. */
  HDR_FIELD_MASK: 0xf,
  /** `l4_csum_replace`: the changed field is in the pseudo-header (an IP address). */
  PSEUDO_HDR: 1 << 4,
  /** `l4_csum_replace`: a checksum of 0 ("none", UDP) stays 0; a computed 0 becomes 0xffff. */
  MARK_MANGLED_0: 1 << 5,
  /** `ringbuf_output`/`submit`/`discard`: do not wake up the consumer. */
  RB_NO_WAKEUP: 1 << 0,
  /** `ringbuf_output`/`submit`/`discard`: always wake up the consumer. */
  RB_FORCE_WAKEUP: 1 << 1,
} as const satisfies Record<string, number>;

/** `flags` of `ringbuf_query`: which quantity to return. */
export const RingbufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const satisfies Record<string, number>;

/** `src_reg` of an `lddw`: what its immediate means (`BPF_PSEUDO_MAP_FD`, ...; 0 is a plain constant). */
export const PseudoSrc = {
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const satisfies Record<string, number>;

/** `src_reg` of a `call`: a helper id, a pc-relative BPF-to-BPF call, or a kernel function's BTF id. */
export const CallSrc = { HELPER: 0, PSEUDO_CALL: 1, KFUNC: 2 } as const satisfies Record<string, number>;

/**
 * `enum bpf_core_relo_kind`: what a CO-RE relocation record (`.BTF.ext` core_relo,
 * `struct bpf_core_relo`) asks the loader to compute against the target kernel's BTF and
 * write into its instruction. Field kinds take an access string through members and array
 * elements; type kinds name a type; enum value kinds name an enumerator.
 */
export const CoreReloKind = {
  /** The field's byte offset from the root. */
  field_byte_offset: 0,
  /** The field's size in bytes. */
  field_byte_size: 1,
  /** 1 if the field exists in the target, else 0. */
  field_exists: 2,
  /** 1 if the field is a signed integer (or signed enum), else 0. */
  field_signed: 3,
  /** Bit-fields: left shift that brings the field to the top of a u64. */
  field_lshift_u64: 4,
  /** Bit-fields: right shift that brings it back down (and sign-/zero-extends). */
  field_rshift_u64: 5,
  /** The type's id in the object's own BTF. */
  type_id_local: 6,
  /** The matching type's id in the target BTF. */
  type_id_target: 7,
  /** 1 if a compatible type exists in the target. */
  type_exists: 8,
  /** The matching type's size in bytes. */
  type_size: 9,
  /** 1 if the enumerator exists in the target. */
  enumval_exists: 10,
  /** The enumerator's value in the target. */
  enumval_value: 11,
  /** 1 if the type matches a target type (stricter than exists). */
  type_matches: 12,
} as const satisfies Record<string, number>;

/** A CO-RE relocation kind name (`field_byte_offset`, ...). */
export type CoreReloKindName = keyof typeof CoreReloKind;

/**
 * What a CO-RE relocation kind is based on (libbpf's `core_relo_is_field_based`,
 * `core_relo_is_type_based`, `core_relo_is_enumval_based`): a field reached by the access
 * string, a type, or an enumerator.
 */
export type CoreReloClass = "field" | "type" | "enumval";

/** The class of every CO-RE relocation kind. */
export const CORE_RELO_CLASS: Readonly<Record<CoreReloKindName, CoreReloClass>> = Object.freeze({
  field_byte_offset: "field",
  field_byte_size: "field",
  field_exists: "field",
  field_signed: "field",
  field_lshift_u64: "field",
  field_rshift_u64: "field",
  type_id_local: "type",
  type_id_target: "type",
  type_exists: "type",
  type_size: "type",
  enumval_exists: "enumval",
  enumval_value: "enumval",
  type_matches: "type",
});

/** The CO-RE relocation kinds of class `c`. */
export function coreReloKindsOf(c: CoreReloClass): ReadonlySet<CoreReloKindName> {
  return new Set((Object.keys(CORE_RELO_CLASS) as CoreReloKindName[]).filter((k) => CORE_RELO_CLASS[k] === c));
}

/** Size of `struct bpf_core_relo` (insn_off, type_id, access_str_off, kind: four u32). */
export const CORE_RELO_SIZE = 16;

/** Length of the kernel's object names (`BPF_OBJ_NAME_LEN`), including the terminating NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** At most this many arguments reach a helper or a BPF-to-BPF function (r1..r5). */
export const MAX_CALL_ARGS = 5;

/** The stack a program (each frame) may use, in bytes (`MAX_BPF_STACK`). */
export const MAX_STACK = 512;

/**
 * The most instruction slots a program may have (`BPF_COMPLEXITY_LIMIT_INSNS`, the length
 * limit for loaders with CAP_BPF or CAP_SYS_ADMIN; unprivileged ones get `BPF_MAXINSNS` = 4096).
 */
export const MAX_PROGRAM_INSNS = 1_000_000;

/** `enum xdp_action`, indexed by value. */
export const XDP_ACTIONS = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"] as const;

/** `TC_ACT_*` of linux/pkt_cls.h, by value. */
export const TC_ACTIONS: Readonly<Record<number, string>> = {
  [-1]: "TC_ACT_UNSPEC",
  0: "TC_ACT_OK",
  1: "TC_ACT_RECLASSIFY",
  2: "TC_ACT_SHOT",
  3: "TC_ACT_PIPE",
  4: "TC_ACT_STOLEN",
  5: "TC_ACT_QUEUED",
  6: "TC_ACT_REPEAT",
  7: "TC_ACT_REDIRECT",
};
