/**
 * Program types (`enum bpf_prog_type`) and the section-name conventions that select them
 * (libbpf's `section_defs[]`): one row per program type with its context struct, whether
 * it may use the legacy packet loads, how `BPF_PROG_TEST_RUN` feeds it and what its
 * return value means; one row per section rule with the program type, the expected attach
 * type and the hook it attaches to. The front end (which section a `bpf.xdp(...)`
 * declaration gets and which context it reads), the loader (which type to load a section
 * as) and `luabpf run` (what to feed a loaded program and how to print its verdict) all
 * read these rows.
 *
 * A section is either exactly a rule's prefix (`xdp`, `socket`) or the prefix, `/` and a
 * target (`kprobe/do_nanosleep`, `tracepoint/syscalls/sys_enter_write`). Adding a section
 * convention or program type is adding a row.
 */
import { AttachType, type AttachTypeName } from "./uapi.js";

/** How `BPF_PROG_TEST_RUN` runs a program type. */
export type TestRunInput =
  /** On a packet that the program sees from its link-layer (Ethernet) header. */
  | "packet_l2"
  /** On a packet whose Ethernet header the kernel consumes first: the program sees the network header. */
  | "packet_l3"
  /** On a context only (no packet). */
  | "ctx";

/** What a program's return value means. */
export type ProgramResult = "xdp_action" | "tc_action" | "socket_filter" | "cgroup_verdict" | "integer";

/** The properties of a row of {@link PROGRAM_TYPES}. */
interface ProgramTypeRow {
  readonly id: number;
  /** The C struct r1 points at (layouts of some are in contexts.ts). */
  readonly context?: string;
  /** `BPF_LD_ABS`/`BPF_LD_IND` packet loads are allowed. */
  readonly legacyPacketLoads?: boolean;
  /**
   * Direct packet access: loads (`read`), or loads and stores (`write`), through the packet
   * pointers of the context (`data`/`data_end`), checked against `data_end` before use.
   */
  readonly directPacketAccess?: "read" | "write";
  readonly testRun?: TestRunInput;
  readonly result?: ProgramResult;
}

/** A program type: one row of {@link PROGRAM_TYPES}. */
export interface ProgramTypeInfo extends ProgramTypeRow {
  /** The libbpf name, e.g. `socket_filter`, `sched_cls`. */
  readonly name: ProgramTypeName;
  readonly legacyPacketLoads: boolean;
  readonly result: ProgramResult;
}

const ROWS = {
  unspec: { id: 0 },
  socket_filter: { id: 1, context: "__sk_buff", legacyPacketLoads: true, testRun: "packet_l3", result: "socket_filter" },
  kprobe: { id: 2, context: "pt_regs" },
  sched_cls: { id: 3, context: "__sk_buff", directPacketAccess: "write", legacyPacketLoads: true, testRun: "packet_l2", result: "tc_action" },
  sched_act: { id: 4, context: "__sk_buff", directPacketAccess: "write", legacyPacketLoads: true, testRun: "packet_l2", result: "tc_action" },
  tracepoint: { id: 5 },
  xdp: { id: 6, context: "xdp_md", directPacketAccess: "write", testRun: "packet_l2", result: "xdp_action" },
  perf_event: { id: 7, context: "bpf_perf_event_data" },
  cgroup_skb: { id: 8, context: "__sk_buff", directPacketAccess: "read", testRun: "packet_l3", result: "cgroup_verdict" },
  cgroup_sock: { id: 9, context: "bpf_sock", result: "cgroup_verdict" },
  lwt_in: { id: 10, context: "__sk_buff", directPacketAccess: "read", testRun: "packet_l3" },
  lwt_out: { id: 11, context: "__sk_buff", directPacketAccess: "read", testRun: "packet_l3" },
  lwt_xmit: { id: 12, context: "__sk_buff", directPacketAccess: "write", testRun: "packet_l3" },
  sock_ops: { id: 13, context: "bpf_sock_ops" },
  sk_skb: { id: 14, context: "__sk_buff" },
  cgroup_device: { id: 15, context: "bpf_cgroup_dev_ctx", result: "cgroup_verdict" },
  sk_msg: { id: 16, context: "sk_msg_md" },
  raw_tracepoint: { id: 17, context: "bpf_raw_tracepoint_args", testRun: "ctx" },
  cgroup_sock_addr: { id: 18, context: "bpf_sock_addr", result: "cgroup_verdict" },
  lwt_seg6local: { id: 19, context: "__sk_buff" },
  lirc_mode2: { id: 20 },
  sk_reuseport: { id: 21, context: "sk_reuseport_md" },
  flow_dissector: { id: 22, context: "__sk_buff" },
  cgroup_sysctl: { id: 23, context: "bpf_sysctl", result: "cgroup_verdict" },
  raw_tracepoint_writable: { id: 24, context: "bpf_raw_tracepoint_args" },
  cgroup_sockopt: { id: 25, context: "bpf_sockopt", result: "cgroup_verdict" },
  tracing: { id: 26, testRun: "ctx" },
  struct_ops: { id: 27 },
  ext: { id: 28 },
  lsm: { id: 29 },
  sk_lookup: { id: 30, context: "bpf_sk_lookup" },
  syscall: { id: 31, testRun: "ctx" },
  netfilter: { id: 32, context: "bpf_nf_ctx" },
} as const satisfies Record<string, ProgramTypeRow>;

/** A program type name: `socket_filter`, `kprobe`, `sched_cls`, `xdp`, ... */
export type ProgramTypeName = keyof typeof ROWS;

/** Every program type, by name. `id` is the `BPF_PROG_TYPE_*` value. */
export const PROGRAM_TYPES: Readonly<Record<ProgramTypeName, ProgramTypeInfo>> = Object.freeze(
  Object.fromEntries(
    Object.entries(ROWS).map(([name, row]) => {
      const r = row as ProgramTypeRow;
      return [name, Object.freeze({ ...r, name, legacyPacketLoads: r.legacyPacketLoads ?? false, result: r.result ?? "integer" })];
    }),
  ) as Record<ProgramTypeName, ProgramTypeInfo>,
);

const BY_ID = new Map<number, ProgramTypeInfo>(Object.values(PROGRAM_TYPES).map((t) => [t.id, t]));

/** Is `name` a program type name? */
export function isProgramTypeName(name: string): name is ProgramTypeName {
  return Object.hasOwn(ROWS, name);
}

/** The program type with `BPF_PROG_TYPE_*` value `id`, or undefined. */
export function programTypeById(id: number): ProgramTypeInfo | undefined {
  return BY_ID.get(id);
}

/** The kernel hook a section's programs attach to (what `attach` code must create). */
export type Hook =
  | "socket" // SO_ATTACH_BPF on a socket
  | "xdp" // a network device's XDP hook
  | "tc" // a tc (clsact) filter or action, or tcx
  | "kprobe" // kernel function entry
  | "kretprobe" // kernel function return
  | "uprobe" // user function entry
  | "uretprobe" // user function return
  | "tracepoint" // a static tracepoint (tracefs category/name)
  | "raw_tracepoint" // a raw tracepoint by name
  | "tracing" // a kernel function or BTF tracepoint through a BPF trampoline (fentry, fexit, tp_btf)
  | "perf_event" // a perf event (sampling)
  | "none"; // run only on demand (BPF_PROG_RUN)

/** A section-name convention (libbpf `section_defs[]`). */
export interface SectionRule {
  /** The section name, or the part before `/`. */
  readonly prefix: string;
  readonly type: ProgramTypeName;
  /** The attach type the kernel wants at load time, if any. */
  readonly expectedAttachType?: AttachTypeName;
  /** `prefix` alone is a valid section name. */
  readonly bare: boolean;
  /** `prefix/target` is a valid section name (the target: a function, tracepoint, interface...). */
  readonly withTarget: boolean;
  readonly hook: Hook;
  /**
   * Tracing programs are verified against the BTF of what they attach to: they load with
   * `attach_btf_id`, the vmlinux BTF id of the type of `kind` named `namePrefix` + the
   * section's target (`fentry/do_sys_open` → func `do_sys_open`; `tp_btf/sched_switch` →
   * typedef `btf_trace_sched_switch`).
   */
  readonly kernelBtf?: { readonly kind: "func" | "typedef"; readonly namePrefix: string };
}

const rule = (
  prefix: string,
  type: ProgramTypeName,
  hook: Hook,
  shape: "bare" | "target" | "both",
  expectedAttachType?: AttachTypeName,
  kernelBtf?: SectionRule["kernelBtf"],
): SectionRule =>
  Object.freeze({
    prefix,
    type,
    hook,
    bare: shape !== "target",
    withTarget: shape !== "bare",
    ...(expectedAttachType ? { expectedAttachType } : {}),
    ...(kernelBtf ? { kernelBtf: Object.freeze(kernelBtf) } : {}),
  });

/** The section conventions understood, in match order. */
export const SECTION_RULES: readonly SectionRule[] = Object.freeze([
  rule("socket", "socket_filter", "socket", "both"),
  rule("xdp", "xdp", "xdp", "both", "xdp"),
  rule("tc", "sched_cls", "tc", "both"),
  rule("tcx", "sched_cls", "tc", "target"),
  rule("classifier", "sched_cls", "tc", "both"),
  rule("action", "sched_act", "tc", "both"),
  rule("kprobe", "kprobe", "kprobe", "target"),
  rule("kretprobe", "kprobe", "kretprobe", "target"),
  // Bare: the binary and function are given when attaching (libbpf's "uprobe+").
  rule("uprobe", "kprobe", "uprobe", "both"),
  rule("uretprobe", "kprobe", "uretprobe", "both"),
  rule("tracepoint", "tracepoint", "tracepoint", "target"),
  rule("tp", "tracepoint", "tracepoint", "target"),
  rule("raw_tracepoint", "raw_tracepoint", "raw_tracepoint", "target"),
  rule("raw_tp", "raw_tracepoint", "raw_tracepoint", "target"),
  rule("fentry", "tracing", "tracing", "target", "trace_fentry", { kind: "func", namePrefix: "" }),
  rule("fexit", "tracing", "tracing", "target", "trace_fexit", { kind: "func", namePrefix: "" }),
  rule("tp_btf", "tracing", "tracing", "target", "trace_raw_tp", { kind: "typedef", namePrefix: "btf_trace_" }),
  rule("perf_event", "perf_event", "perf_event", "bare"),
  rule("syscall", "syscall", "none", "bare"),
]);

/** The section names or `name/…` patterns {@link sectionRule} understands, for messages. */
export const KNOWN_SECTIONS: readonly string[] = Object.freeze(
  SECTION_RULES.flatMap((r) => [...(r.bare ? [r.prefix] : []), ...(r.withTarget ? [`${r.prefix}/…`] : [])]),
);

/** The rule whose prefix is `prefix` (whatever the shape), or undefined. */
export function sectionRuleByPrefix(prefix: string): SectionRule | undefined {
  return SECTION_RULES.find((r) => r.prefix === prefix);
}

/** The rule a section name follows, or undefined when it follows none. */
export function sectionRule(section: string): SectionRule | undefined {
  const slash = section.indexOf("/");
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const hasTarget = slash >= 0 && slash < section.length - 1;
  return SECTION_RULES.find((r) => r.prefix === prefix && (hasTarget ? r.withTarget : r.bare));
}

/** What the kernel needs at load time for a program: its `BPF_PROG_TYPE_*` and, if needed, its expected attach type. */
export interface SectionProgramType {
  /** A `BPF_PROG_TYPE_*` value. */
  type: number;
  /** A `BPF_*` attach type value, when the program type needs one at load time. */
  expectedAttachType?: number;
}

/** The load-time program type of a program in `section`, or undefined when the name follows no known convention. */
export function programTypeForSection(section: string): SectionProgramType | undefined {
  const r = sectionRule(section);
  if (!r) return undefined;
  const type = PROGRAM_TYPES[r.type].id;
  return r.expectedAttachType === undefined ? { type } : { type, expectedAttachType: AttachType[r.expectedAttachType] };
}
