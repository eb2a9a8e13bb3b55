/**
 * Which helpers each program type may call: the kernel's `get_func_proto` of every program
 * type (kernel/bpf/helpers.c `bpf_base_func_proto`, kernel/trace/bpf_trace.c,
 * net/core/filter.c, ...), as data. The front end checks calls against it so that a helper
 * a program type cannot use is a compile error naming the program type, not a verifier
 * rejection ("program of this type cannot use helper") at load time.
 *
 * The rows were probed on Linux 6.18 by loading, for each program type, a program that
 * calls each helper as root and reading the verifier's verdict (loader/test/helper-table.test.ts
 * repeats the probe on the running kernel and compares). Where the kernel's answer depends
 * on its configuration, the row follows the kernel's code with the option enabled (see
 * {@link CONFIG_DEPENDENT_HELPERS}), so a program valid on some kernel is never refused.
 * fentry/fexit rows cannot be probed on a kernel without BPF trampolines; they are the
 * tp_btf row plus the helpers `tracing_prog_func_proto` adds for trampolines.
 *
 * A program type without a row (lirc_mode2, struct_ops, ext, lsm) is not checked.
 */
import type { AttachTypeName } from "./uapi.js";
import type { ProgramTypeName } from "./programs.js";
import type { HelperName } from "./helpers.js";

/** Every program type may call these (`bpf_base_func_proto` with CAP_BPF and CAP_PERFMON). */
const BASE: readonly HelperName[] = [
  "cgrp_storage_delete", "cgrp_storage_get", "copy_from_user", "copy_from_user_task", "current_task_under_cgroup",
  "dynptr_data", "dynptr_from_mem", "dynptr_read", "dynptr_write", "find_vma", "for_each_map_elem",
  "get_branch_snapshot", "get_cgroup_classid", "get_current_ancestor_cgroup_id", "get_current_cgroup_id",
  "get_current_comm", "get_current_pid_tgid", "get_current_task", "get_current_task_btf", "get_current_uid_gid",
  "get_ns_current_pid_tgid", "get_numa_node_id", "get_prandom_u32", "get_smp_processor_id", "get_task_stack",
  "jiffies64", "kptr_xchg", "ktime_get_boot_ns", "ktime_get_ns", "ktime_get_tai_ns", "loop", "map_delete_elem",
  "map_lookup_elem", "map_lookup_percpu_elem", "map_peek_elem", "map_pop_elem", "map_push_elem", "map_update_elem",
  "per_cpu_ptr", "perf_event_read", "perf_event_read_value", "probe_read_kernel", "probe_read_kernel_str",
  "probe_read_user", "probe_read_user_str", "ringbuf_discard", "ringbuf_discard_dynptr", "ringbuf_output",
  "ringbuf_query", "ringbuf_reserve", "ringbuf_reserve_dynptr", "ringbuf_submit", "ringbuf_submit_dynptr",
  "send_signal", "send_signal_thread", "snprintf", "snprintf_btf", "spin_lock", "spin_unlock", "strncmp", "strtol",
  "strtoul", "tail_call", "task_pt_regs", "task_storage_delete", "task_storage_get", "this_cpu_ptr", "timer_cancel",
  "timer_init", "timer_set_callback", "timer_start", "trace_printk", "trace_vprintk", "user_ringbuf_drain",
];

/** `bpf_tracing_func_proto` and friends: kernel memory, stacks and perf output for tracing programs. */
const TRACING: readonly HelperName[] = [
  "get_attach_cookie", "get_func_ip", "get_stack", "get_stackid", "perf_event_output", "probe_read",
  "probe_read_str", "probe_write_user",
];

/** The `bpf_skc_to_*` socket casts (networking and BTF-typed tracing programs). */
const SKC_CASTS: readonly HelperName[] = [
  "skc_to_mptcp_sock", "skc_to_tcp6_sock", "skc_to_tcp_request_sock", "skc_to_tcp_sock", "skc_to_tcp_timewait_sock",
  "skc_to_udp6_sock", "skc_to_unix_sock",
];

/**
 * Helpers whose availability depends on the kernel's configuration or state, listed in the
 * rows as the kernel's code allows them: `override_return` needs CONFIG_BPF_KPROBE_OVERRIDE,
 * `probe_write_user` is refused under lockdown (as on the probing machine).
 */
export const CONFIG_DEPENDENT_HELPERS: ReadonlySet<HelperName> = new Set<HelperName>(["override_return", "probe_write_user"]);

/**
 * A row: BASE, the groups and the extra helpers, made into a set when first asked for (by
 * {@link programHelpers}). A compile asks for one row at most; making all ~25 sets (~3,000
 * insertions) when the module loaded was ~1 ms of a compile's start-up.
 */
type Row = () => ReadonlySet<HelperName>;

/** The rows asked for so far, as sets. */
const made = new Map<Row, ReadonlySet<HelperName>>();

const rule = (groups: readonly (readonly HelperName[])[], extra: readonly HelperName[] = []): Row => () =>
  new Set<HelperName>([...BASE, ...groups.flat(), ...extra]);

const TP_BTF_EXTRA: readonly HelperName[] = [
  "d_path", "get_socket_cookie", "sk_storage_delete", "sk_storage_get", "skb_output", "sock_from_file",
  "xdp_get_buff_len", "xdp_output",
];
/** BTF-typed tracing programs (program type `tracing`) by attach type. */
const TRACING_BY_ATTACH: Readonly<Partial<Record<AttachTypeName, Row>>> = {
  trace_raw_tp: rule([TRACING, SKC_CASTS], TP_BTF_EXTRA),
  trace_fentry: rule([TRACING, SKC_CASTS], [...TP_BTF_EXTRA, "get_func_arg", "get_func_arg_cnt"]),
  trace_fexit: rule([TRACING, SKC_CASTS], [...TP_BTF_EXTRA, "get_func_arg", "get_func_arg_cnt", "get_func_ret"]),
  modify_return: rule([TRACING, SKC_CASTS], [...TP_BTF_EXTRA, "get_func_arg", "get_func_arg_cnt", "get_func_ret"]),
};

/** The helpers of each program type (those whose answer does not depend on the attach type). */
const BY_PROGRAM_TYPE: Readonly<Partial<Record<ProgramTypeName, Row>>> = {
  socket_filter: rule([SKC_CASTS], [
    "get_netns_cookie", "get_socket_cookie", "get_socket_uid", "ktime_get_coarse_ns", "perf_event_output",
    "skb_load_bytes", "skb_load_bytes_relative",
  ]),
  kprobe: rule([TRACING], [
    "override_return",
  ]),
  sched_cls: rule([SKC_CASTS], [
    "check_mtu", "clone_redirect", "csum_diff", "csum_level", "csum_update", "fib_lookup", "get_hash_recalc",
    "get_listener_sock", "get_netns_cookie", "get_route_realm", "get_socket_cookie", "get_socket_uid",
    "ktime_get_coarse_ns", "l3_csum_replace", "l4_csum_replace", "perf_event_output", "redirect", "redirect_neigh",
    "redirect_peer", "set_hash", "set_hash_invalid", "sk_assign", "sk_fullsock", "sk_lookup_tcp", "sk_lookup_udp",
    "sk_release", "sk_storage_delete", "sk_storage_get", "skb_adjust_room", "skb_ancestor_cgroup_id",
    "skb_cgroup_classid", "skb_cgroup_id", "skb_change_head", "skb_change_proto", "skb_change_tail",
    "skb_change_type", "skb_ecn_set_ce", "skb_get_tunnel_key", "skb_get_tunnel_opt", "skb_get_xfrm_state",
    "skb_load_bytes", "skb_load_bytes_relative", "skb_pull_data", "skb_set_tstamp", "skb_set_tunnel_key",
    "skb_set_tunnel_opt", "skb_store_bytes", "skb_under_cgroup", "skb_vlan_pop", "skb_vlan_push", "skc_lookup_tcp",
    "tcp_check_syncookie", "tcp_gen_syncookie", "tcp_raw_check_syncookie_ipv4", "tcp_raw_check_syncookie_ipv6",
    "tcp_raw_gen_syncookie_ipv4", "tcp_raw_gen_syncookie_ipv6", "tcp_sock",
  ]),
  sched_act: rule([SKC_CASTS], [
    "check_mtu", "clone_redirect", "csum_diff", "csum_level", "csum_update", "fib_lookup", "get_hash_recalc",
    "get_listener_sock", "get_netns_cookie", "get_route_realm", "get_socket_cookie", "get_socket_uid",
    "ktime_get_coarse_ns", "l3_csum_replace", "l4_csum_replace", "perf_event_output", "redirect", "redirect_neigh",
    "redirect_peer", "set_hash", "set_hash_invalid", "sk_assign", "sk_fullsock", "sk_lookup_tcp", "sk_lookup_udp",
    "sk_release", "sk_storage_delete", "sk_storage_get", "skb_adjust_room", "skb_ancestor_cgroup_id",
    "skb_cgroup_classid", "skb_cgroup_id", "skb_change_head", "skb_change_proto", "skb_change_tail",
    "skb_change_type", "skb_ecn_set_ce", "skb_get_tunnel_key", "skb_get_tunnel_opt", "skb_get_xfrm_state",
    "skb_load_bytes", "skb_load_bytes_relative", "skb_pull_data", "skb_set_tstamp", "skb_set_tunnel_key",
    "skb_set_tunnel_opt", "skb_store_bytes", "skb_under_cgroup", "skb_vlan_pop", "skb_vlan_push", "skc_lookup_tcp",
    "tcp_check_syncookie", "tcp_gen_syncookie", "tcp_raw_check_syncookie_ipv4", "tcp_raw_check_syncookie_ipv6",
    "tcp_raw_gen_syncookie_ipv4", "tcp_raw_gen_syncookie_ipv6", "tcp_sock",
  ]),
  tracepoint: rule([TRACING]),
  xdp: rule([SKC_CASTS], [
    "check_mtu", "csum_diff", "fib_lookup", "ktime_get_coarse_ns", "perf_event_output", "redirect", "redirect_map",
    "sk_lookup_tcp", "sk_lookup_udp", "sk_release", "skc_lookup_tcp", "tcp_check_syncookie", "tcp_gen_syncookie",
    "tcp_raw_check_syncookie_ipv4", "tcp_raw_check_syncookie_ipv6", "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6", "xdp_adjust_head", "xdp_adjust_meta", "xdp_adjust_tail", "xdp_get_buff_len",
    "xdp_load_bytes", "xdp_store_bytes",
  ]),
  perf_event: rule([TRACING], [
    "perf_prog_read_value", "read_branch_records",
  ]),
  // probed as attach type cgroup_inet_ingress
  cgroup_skb: rule([SKC_CASTS], [
    "get_listener_sock", "get_local_storage", "get_netns_cookie", "get_socket_cookie", "get_socket_uid",
    "ktime_get_coarse_ns", "perf_event_output", "sk_ancestor_cgroup_id", "sk_cgroup_id", "sk_fullsock",
    "sk_lookup_tcp", "sk_lookup_udp", "sk_release", "sk_storage_delete", "sk_storage_get", "skb_ancestor_cgroup_id",
    "skb_cgroup_id", "skb_ecn_set_ce", "skb_load_bytes", "skb_load_bytes_relative", "skc_lookup_tcp", "tcp_sock",
  ]),
  // probed as attach type cgroup_inet_sock_create
  cgroup_sock: rule([], [
    "get_local_storage", "get_netns_cookie", "get_retval", "get_socket_cookie", "ktime_get_coarse_ns",
    "perf_event_output", "set_retval", "sk_storage_get",
  ]),
  lwt_in: rule([SKC_CASTS], [
    "csum_diff", "get_hash_recalc", "get_route_realm", "ktime_get_coarse_ns", "lwt_push_encap", "perf_event_output",
    "skb_load_bytes", "skb_pull_data", "skb_under_cgroup",
  ]),
  lwt_out: rule([SKC_CASTS], [
    "csum_diff", "get_hash_recalc", "get_route_realm", "ktime_get_coarse_ns", "perf_event_output", "skb_load_bytes",
    "skb_pull_data", "skb_under_cgroup",
  ]),
  lwt_xmit: rule([SKC_CASTS], [
    "clone_redirect", "csum_diff", "csum_level", "csum_update", "get_hash_recalc", "get_route_realm",
    "ktime_get_coarse_ns", "l3_csum_replace", "l4_csum_replace", "lwt_push_encap", "perf_event_output", "redirect",
    "set_hash_invalid", "skb_change_head", "skb_change_tail", "skb_get_tunnel_key", "skb_get_tunnel_opt",
    "skb_load_bytes", "skb_pull_data", "skb_set_tunnel_key", "skb_set_tunnel_opt", "skb_store_bytes",
    "skb_under_cgroup",
  ]),
  sock_ops: rule([SKC_CASTS], [
    "get_local_storage", "get_netns_cookie", "get_socket_cookie", "getsockopt", "ktime_get_coarse_ns",
    "load_hdr_opt", "perf_event_output", "reserve_hdr_opt", "setsockopt", "sk_storage_delete", "sk_storage_get",
    "sock_hash_update", "sock_map_update", "sock_ops_cb_flags_set", "store_hdr_opt", "tcp_sock",
  ]),
  sk_skb: rule([SKC_CASTS], [
    "get_socket_cookie", "get_socket_uid", "ktime_get_coarse_ns", "perf_event_output", "sk_lookup_tcp",
    "sk_lookup_udp", "sk_redirect_hash", "sk_redirect_map", "sk_release", "skb_adjust_room", "skb_change_head",
    "skb_change_tail", "skb_load_bytes", "skb_pull_data", "skb_store_bytes", "skc_lookup_tcp",
  ]),
  cgroup_device: rule([], [
    "get_local_storage", "perf_event_output",
  ]),
  sk_msg: rule([SKC_CASTS], [
    "get_netns_cookie", "ktime_get_coarse_ns", "msg_apply_bytes", "msg_cork_bytes", "msg_pop_data", "msg_pull_data",
    "msg_push_data", "msg_redirect_hash", "msg_redirect_map", "perf_event_output", "sk_storage_delete",
    "sk_storage_get",
  ]),
  raw_tracepoint: rule([TRACING]),
  // probed as attach type cgroup_inet4_connect
  cgroup_sock_addr: rule([SKC_CASTS], [
    "bind", "get_local_storage", "get_netns_cookie", "get_retval", "get_socket_cookie", "getsockopt",
    "ktime_get_coarse_ns", "perf_event_output", "set_retval", "setsockopt", "sk_lookup_tcp", "sk_lookup_udp",
    "sk_release", "sk_storage_delete", "sk_storage_get", "skc_lookup_tcp",
  ]),
  lwt_seg6local: rule([SKC_CASTS], [
    "csum_diff", "get_hash_recalc", "get_route_realm", "ktime_get_coarse_ns", "lwt_seg6_action",
    "lwt_seg6_adjust_srh", "lwt_seg6_store_bytes", "perf_event_output", "skb_load_bytes", "skb_pull_data",
    "skb_under_cgroup",
  ]),
  sk_reuseport: rule([], [
    "get_socket_cookie", "ktime_get_coarse_ns", "sk_select_reuseport", "skb_load_bytes", "skb_load_bytes_relative",
  ]),
  flow_dissector: rule([SKC_CASTS], [
    "ktime_get_coarse_ns", "skb_load_bytes",
  ]),
  cgroup_sysctl: rule([], [
    "get_local_storage", "ktime_get_coarse_ns", "perf_event_output", "sysctl_get_current_value", "sysctl_get_name",
    "sysctl_get_new_value", "sysctl_set_new_value",
  ]),
  raw_tracepoint_writable: rule([TRACING]),
  // probed as attach type cgroup_getsockopt
  cgroup_sockopt: rule([], [
    "get_local_storage", "get_netns_cookie", "get_retval", "perf_event_output", "set_retval", "sk_storage_delete",
    "sk_storage_get", "tcp_sock",
  ]),
  // probed as attach type sk_lookup
  sk_lookup: rule([SKC_CASTS], [
    "ktime_get_coarse_ns", "perf_event_output", "sk_assign", "sk_release",
  ]),
  syscall: rule([SKC_CASTS], [
    "btf_find_by_name_kind", "d_path", "get_func_ip", "get_socket_cookie", "get_stack", "get_stackid",
    "kallsyms_lookup_name", "perf_event_output", "probe_read", "probe_read_str", "sk_storage_delete",
    "sk_storage_get", "skb_output", "sock_from_file", "sys_bpf", "sys_close", "xdp_get_buff_len", "xdp_output",
  ]),
  // probed as attach type netfilter
  netfilter: rule([]),
};

/**
 * The helpers a program of `type` (loaded with expected attach type `attach`, where the
 * answer depends on it) may call, or undefined when the table has no row for it.
 */
export function programHelpers(type: ProgramTypeName, attach?: AttachTypeName): ReadonlySet<HelperName> | undefined {
  const row = type === "tracing" ? (attach === undefined ? undefined : TRACING_BY_ATTACH[attach]) : BY_PROGRAM_TYPE[type];
  if (row === undefined) return undefined;
  let set = made.get(row);
  if (set === undefined) made.set(row, (set = row()));
  return set;
}

/** May a program of `type` (and attach type `attach`) call `helper`? True when the table does not know. */
export function helperAllowed(type: ProgramTypeName, helper: HelperName, attach?: AttachTypeName): boolean {
  return programHelpers(type, attach)?.has(helper) ?? true;
}
