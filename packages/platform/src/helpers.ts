/**
 * The eBPF helper functions (`enum bpf_func_id`, the kernel's `__BPF_FUNC_MAPPER` list),
 * one row each: the id the `call` instruction carries, the name, the C prototype the
 * kernel documents, and — for the helpers luabpf uses — the verifier's argument and
 * result classes and the memory effects the optimiser may rely on. The interpreter's
 * implementations are keyed by these names (`@luabpf/ir`, interp/helpers.ts); every other
 * reader asks this table by name, so a helper id is written nowhere else.
 *
 * A row without `effects` may do anything (write any memory, change any map): passes
 * treat its calls as full barriers. Register effects are the same for every helper (the
 * eBPF calling convention): arguments in r1..r5, the result in r0, r1..r5 clobbered.
 *
 * The list is complete and frozen upstream (new kernel functions are kfuncs); test/uapi.test.ts
 * checks the ids, names and prototypes against the installed `linux/bpf.h`.
 */

/** Argument classes, after the kernel's `enum bpf_arg_type` (what the verifier checks an argument against). */
export type HelperArg =
  /** `ARG_CONST_MAP_PTR`: a map address (`lddw` with a map relocation). */
  | "map"
  /** `ARG_PTR_TO_MAP_KEY`: `key_size` readable bytes. */
  | "map_key"
  /** `ARG_PTR_TO_MAP_VALUE`: `value_size` readable bytes. */
  | "map_value"
  /** `ARG_PTR_TO_CTX`: the program's context. */
  | "ctx"
  /** `ARG_ANYTHING`: any scalar. */
  | "anything";

/** Result classes, after the kernel's `enum bpf_return_type`. */
export type HelperResult =
  /** `RET_INTEGER`: a scalar (often 0 or a negative errno). */
  | "integer"
  /** `RET_PTR_TO_MAP_VALUE_OR_NULL`. */
  | "map_value_or_null"
  /** `RET_VOID`. */
  | "void";

/** What a helper call may do besides returning a value. */
export interface HelperEffects {
  /** May write memory reachable from its arguments or elsewhere (stack, map values, packet). */
  readonly writesMemory: boolean;
  /** May add, remove or replace map entries (a repeated lookup could then return something else). */
  readonly modifiesMaps: boolean;
  /**
   * Writes only the entries of the maps its `map` arguments name (`map_update_elem`,
   * `map_delete_elem`): a value of another map, the stack and the packet stay as they were.
   */
  readonly writesOnlyMapArguments?: boolean;
}

/** Reads its arguments (and kernel state) only. */
const NO_WRITES: HelperEffects = Object.freeze({ writesMemory: false, modifiesMaps: false });
/** Adds, replaces or deletes entries of the map it is given (and so writes that map's values), nothing else. */
const CHANGES_MAPS: HelperEffects = Object.freeze({ writesMemory: true, modifiesMaps: true, writesOnlyMapArguments: true });
/** The effects assumed for a helper whose row has none: anything. */
export const ANY_EFFECTS: HelperEffects = Object.freeze({ writesMemory: true, modifiesMaps: true });

/** A row of {@link HELPERS}. */
export interface HelperInfo {
  /** `BPF_FUNC_<name>`: the immediate of the `call` instruction. */
  readonly id: number;
  /** The name without `bpf_` (as in `__BPF_FUNC_MAPPER`). */
  readonly name: string;
  /** The documented C prototype without the function name: `"u64 ()"`, `"void *(struct bpf_map *map, const void *key)"`. */
  readonly proto: string;
  /** Argument classes (for the helpers luabpf calls). */
  readonly args?: readonly HelperArg[];
  /** Result class (for the helpers luabpf calls). */
  readonly ret?: HelperResult;
  /** Memory effects; absent means {@link ANY_EFFECTS}. */
  readonly effects?: HelperEffects;
  /**
   * The verifier's reference tracking (`is_acquire_function`/`OBJ_RELEASE`): `acquire` —
   * the result, when not null, is a reference the program must release on every path;
   * `release` — argument 0 is such a reference, released by the call.
   */
  readonly reference?: "acquire" | "release";
  /**
   * The largest value the result can have (unsigned), where the kernel guarantees more than
   * the prototype's type says: a clock in nanoseconds stays below 2^63 (292 years). Read
   * through {@link helperResultMax}, which also bounds a `u32` result by its type.
   */
  readonly resultMax?: bigint;
  /**
   * An output buffer the helper fills whole: it writes every byte of argument `buffer`, as
   * many as argument `size` says, on success and on failure alike (the kernel zero-fills
   * the buffer when the read fails: `memset` in `bpf_probe_read_kernel_common`,
   * `bpf_get_current_comm`'s `strscpy_pad`), and reads none of them. Not the `_str`
   * readers, which stop at the string's end. Read through {@link helperFills}.
   */
  readonly fills?: { readonly buffer: number; readonly size: number };
}

/** Every helper, indexed by id. */
export const HELPERS = [
  { id: 0, name: "unspec", proto: "" },
  { id: 1, name: "map_lookup_elem", proto: "void *(struct bpf_map *map, const void *key)", args: ["map", "map_key"], ret: "map_value_or_null", effects: NO_WRITES },
  { id: 2, name: "map_update_elem", proto: "long (struct bpf_map *map, const void *key, const void *value, u64 flags)", args: ["map", "map_key", "map_value", "anything"], ret: "integer", effects: CHANGES_MAPS },
  { id: 3, name: "map_delete_elem", proto: "long (struct bpf_map *map, const void *key)", args: ["map", "map_key"], ret: "integer", effects: CHANGES_MAPS },
  { id: 4, name: "probe_read", proto: "long (void *dst, u32 size, const void *unsafe_ptr)", fills: { buffer: 0, size: 1 } },
  { id: 5, name: "ktime_get_ns", proto: "u64 ()", args: [], ret: "integer", effects: NO_WRITES, resultMax: (1n << 63n) - 1n },
  { id: 6, name: "trace_printk", proto: "long (const char *fmt, u32 fmt_size, ...)" },
  { id: 7, name: "get_prandom_u32", proto: "u32 ()" },
  { id: 8, name: "get_smp_processor_id", proto: "u32 ()", args: [], ret: "integer", effects: NO_WRITES },
  { id: 9, name: "skb_store_bytes", proto: "long (struct sk_buff *skb, u32 offset, const void *from, u32 len, u64 flags)" },
  { id: 10, name: "l3_csum_replace", proto: "long (struct sk_buff *skb, u32 offset, u64 from, u64 to, u64 size)" },
  { id: 11, name: "l4_csum_replace", proto: "long (struct sk_buff *skb, u32 offset, u64 from, u64 to, u64 flags)" },
  { id: 12, name: "tail_call", proto: "long (void *ctx, struct bpf_map *prog_array_map, u32 index)" },
  { id: 13, name: "clone_redirect", proto: "long (struct sk_buff *skb, u32 ifindex, u64 flags)" },
  { id: 14, name: "get_current_pid_tgid", proto: "u64 ()", args: [], ret: "integer", effects: NO_WRITES },
  { id: 15, name: "get_current_uid_gid", proto: "u64 ()" },
  { id: 16, name: "get_current_comm", proto: "long (void *buf, u32 size_of_buf)", fills: { buffer: 0, size: 1 } },
  { id: 17, name: "get_cgroup_classid", proto: "u32 (struct sk_buff *skb)" },
  { id: 18, name: "skb_vlan_push", proto: "long (struct sk_buff *skb, __be16 vlan_proto, u16 vlan_tci)" },
  { id: 19, name: "skb_vlan_pop", proto: "long (struct sk_buff *skb)" },
  { id: 20, name: "skb_get_tunnel_key", proto: "long (struct sk_buff *skb, struct bpf_tunnel_key *key, u32 size, u64 flags)" },
  { id: 21, name: "skb_set_tunnel_key", proto: "long (struct sk_buff *skb, struct bpf_tunnel_key *key, u32 size, u64 flags)" },
  { id: 22, name: "perf_event_read", proto: "u64 (struct bpf_map *map, u64 flags)" },
  { id: 23, name: "redirect", proto: "long (u32 ifindex, u64 flags)" },
  { id: 24, name: "get_route_realm", proto: "u32 (struct sk_buff *skb)" },
  { id: 25, name: "perf_event_output", proto: "long (void *ctx, struct bpf_map *map, u64 flags, void *data, u64 size)" },
  { id: 26, name: "skb_load_bytes", proto: "long (const void *skb, u32 offset, void *to, u32 len)" },
  { id: 27, name: "get_stackid", proto: "long (void *ctx, struct bpf_map *map, u64 flags)" },
  { id: 28, name: "csum_diff", proto: "s64 (__be32 *from, u32 from_size, __be32 *to, u32 to_size, __wsum seed)" },
  { id: 29, name: "skb_get_tunnel_opt", proto: "long (struct sk_buff *skb, void *opt, u32 size)" },
  { id: 30, name: "skb_set_tunnel_opt", proto: "long (struct sk_buff *skb, void *opt, u32 size)" },
  { id: 31, name: "skb_change_proto", proto: "long (struct sk_buff *skb, __be16 proto, u64 flags)" },
  { id: 32, name: "skb_change_type", proto: "long (struct sk_buff *skb, u32 type)" },
  { id: 33, name: "skb_under_cgroup", proto: "long (struct sk_buff *skb, struct bpf_map *map, u32 index)" },
  { id: 34, name: "get_hash_recalc", proto: "u32 (struct sk_buff *skb)" },
  { id: 35, name: "get_current_task", proto: "u64 ()" },
  { id: 36, name: "probe_write_user", proto: "long (void *dst, const void *src, u32 len)" },
  { id: 37, name: "current_task_under_cgroup", proto: "long (struct bpf_map *map, u32 index)" },
  { id: 38, name: "skb_change_tail", proto: "long (struct sk_buff *skb, u32 len, u64 flags)" },
  { id: 39, name: "skb_pull_data", proto: "long (struct sk_buff *skb, u32 len)" },
  { id: 40, name: "csum_update", proto: "s64 (struct sk_buff *skb, __wsum csum)" },
  { id: 41, name: "set_hash_invalid", proto: "void (struct sk_buff *skb)" },
  { id: 42, name: "get_numa_node_id", proto: "long ()" },
  { id: 43, name: "skb_change_head", proto: "long (struct sk_buff *skb, u32 len, u64 flags)" },
  { id: 44, name: "xdp_adjust_head", proto: "long (struct xdp_buff *xdp_md, int delta)" },
  { id: 45, name: "probe_read_str", proto: "long (void *dst, u32 size, const void *unsafe_ptr)" },
  { id: 46, name: "get_socket_cookie", proto: "u64 (struct sk_buff *skb)" },
  { id: 47, name: "get_socket_uid", proto: "u32 (struct sk_buff *skb)" },
  { id: 48, name: "set_hash", proto: "long (struct sk_buff *skb, u32 hash)" },
  { id: 49, name: "setsockopt", proto: "long (void *bpf_socket, int level, int optname, void *optval, int optlen)" },
  { id: 50, name: "skb_adjust_room", proto: "long (struct sk_buff *skb, s32 len_diff, u32 mode, u64 flags)" },
  { id: 51, name: "redirect_map", proto: "long (struct bpf_map *map, u64 key, u64 flags)" },
  { id: 52, name: "sk_redirect_map", proto: "long (struct sk_buff *skb, struct bpf_map *map, u32 key, u64 flags)" },
  { id: 53, name: "sock_map_update", proto: "long (struct bpf_sock_ops *skops, struct bpf_map *map, void *key, u64 flags)" },
  { id: 54, name: "xdp_adjust_meta", proto: "long (struct xdp_buff *xdp_md, int delta)" },
  { id: 55, name: "perf_event_read_value", proto: "long (struct bpf_map *map, u64 flags, struct bpf_perf_event_value *buf, u32 buf_size)" },
  { id: 56, name: "perf_prog_read_value", proto: "long (struct bpf_perf_event_data *ctx, struct bpf_perf_event_value *buf, u32 buf_size)" },
  { id: 57, name: "getsockopt", proto: "long (void *bpf_socket, int level, int optname, void *optval, int optlen)" },
  { id: 58, name: "override_return", proto: "long (struct pt_regs *regs, u64 rc)" },
  { id: 59, name: "sock_ops_cb_flags_set", proto: "long (struct bpf_sock_ops *bpf_sock, int argval)" },
  { id: 60, name: "msg_redirect_map", proto: "long (struct sk_msg_buff *msg, struct bpf_map *map, u32 key, u64 flags)" },
  { id: 61, name: "msg_apply_bytes", proto: "long (struct sk_msg_buff *msg, u32 bytes)" },
  { id: 62, name: "msg_cork_bytes", proto: "long (struct sk_msg_buff *msg, u32 bytes)" },
  { id: 63, name: "msg_pull_data", proto: "long (struct sk_msg_buff *msg, u32 start, u32 end, u64 flags)" },
  { id: 64, name: "bind", proto: "long (struct bpf_sock_addr *ctx, struct sockaddr *addr, int addr_len)" },
  { id: 65, name: "xdp_adjust_tail", proto: "long (struct xdp_buff *xdp_md, int delta)" },
  { id: 66, name: "skb_get_xfrm_state", proto: "long (struct sk_buff *skb, u32 index, struct bpf_xfrm_state *xfrm_state, u32 size, u64 flags)" },
  { id: 67, name: "get_stack", proto: "long (void *ctx, void *buf, u32 size, u64 flags)" },
  { id: 68, name: "skb_load_bytes_relative", proto: "long (const void *skb, u32 offset, void *to, u32 len, u32 start_header)" },
  { id: 69, name: "fib_lookup", proto: "long (void *ctx, struct bpf_fib_lookup *params, int plen, u32 flags)" },
  { id: 70, name: "sock_hash_update", proto: "long (struct bpf_sock_ops *skops, struct bpf_map *map, void *key, u64 flags)" },
  { id: 71, name: "msg_redirect_hash", proto: "long (struct sk_msg_buff *msg, struct bpf_map *map, void *key, u64 flags)" },
  { id: 72, name: "sk_redirect_hash", proto: "long (struct sk_buff *skb, struct bpf_map *map, void *key, u64 flags)" },
  { id: 73, name: "lwt_push_encap", proto: "long (struct sk_buff *skb, u32 type, void *hdr, u32 len)" },
  { id: 74, name: "lwt_seg6_store_bytes", proto: "long (struct sk_buff *skb, u32 offset, const void *from, u32 len)" },
  { id: 75, name: "lwt_seg6_adjust_srh", proto: "long (struct sk_buff *skb, u32 offset, s32 delta)" },
  { id: 76, name: "lwt_seg6_action", proto: "long (struct sk_buff *skb, u32 action, void *param, u32 param_len)" },
  { id: 77, name: "rc_repeat", proto: "long (void *ctx)" },
  { id: 78, name: "rc_keydown", proto: "long (void *ctx, u32 protocol, u64 scancode, u32 toggle)" },
  { id: 79, name: "skb_cgroup_id", proto: "u64 (struct sk_buff *skb)" },
  { id: 80, name: "get_current_cgroup_id", proto: "u64 ()" },
  { id: 81, name: "get_local_storage", proto: "void *(void *map, u64 flags)" },
  { id: 82, name: "sk_select_reuseport", proto: "long (struct sk_reuseport_md *reuse, struct bpf_map *map, void *key, u64 flags)" },
  { id: 83, name: "skb_ancestor_cgroup_id", proto: "u64 (struct sk_buff *skb, int ancestor_level)" },
  { id: 84, name: "sk_lookup_tcp", proto: "struct bpf_sock *(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns, u64 flags)", reference: "acquire" },
  { id: 85, name: "sk_lookup_udp", proto: "struct bpf_sock *(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns, u64 flags)", reference: "acquire" },
  { id: 86, name: "sk_release", proto: "long (void *sock)", reference: "release" },
  { id: 87, name: "map_push_elem", proto: "long (struct bpf_map *map, const void *value, u64 flags)" },
  { id: 88, name: "map_pop_elem", proto: "long (struct bpf_map *map, void *value)" },
  { id: 89, name: "map_peek_elem", proto: "long (struct bpf_map *map, void *value)" },
  { id: 90, name: "msg_push_data", proto: "long (struct sk_msg_buff *msg, u32 start, u32 len, u64 flags)" },
  { id: 91, name: "msg_pop_data", proto: "long (struct sk_msg_buff *msg, u32 start, u32 len, u64 flags)" },
  { id: 92, name: "rc_pointer_rel", proto: "long (void *ctx, s32 rel_x, s32 rel_y)" },
  { id: 93, name: "spin_lock", proto: "long (struct bpf_spin_lock *lock)" },
  { id: 94, name: "spin_unlock", proto: "long (struct bpf_spin_lock *lock)" },
  { id: 95, name: "sk_fullsock", proto: "struct bpf_sock *(struct bpf_sock *sk)" },
  { id: 96, name: "tcp_sock", proto: "struct bpf_tcp_sock *(struct bpf_sock *sk)" },
  { id: 97, name: "skb_ecn_set_ce", proto: "long (struct sk_buff *skb)" },
  { id: 98, name: "get_listener_sock", proto: "struct bpf_sock *(struct bpf_sock *sk)" },
  { id: 99, name: "skc_lookup_tcp", proto: "struct bpf_sock *(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns, u64 flags)", reference: "acquire" },
  { id: 100, name: "tcp_check_syncookie", proto: "long (void *sk, void *iph, u32 iph_len, struct tcphdr *th, u32 th_len)" },
  { id: 101, name: "sysctl_get_name", proto: "long (struct bpf_sysctl *ctx, char *buf, size_t buf_len, u64 flags)" },
  { id: 102, name: "sysctl_get_current_value", proto: "long (struct bpf_sysctl *ctx, char *buf, size_t buf_len)" },
  { id: 103, name: "sysctl_get_new_value", proto: "long (struct bpf_sysctl *ctx, char *buf, size_t buf_len)" },
  { id: 104, name: "sysctl_set_new_value", proto: "long (struct bpf_sysctl *ctx, const char *buf, size_t buf_len)" },
  { id: 105, name: "strtol", proto: "long (const char *buf, size_t buf_len, u64 flags, long *res)" },
  { id: 106, name: "strtoul", proto: "long (const char *buf, size_t buf_len, u64 flags, unsigned long *res)" },
  { id: 107, name: "sk_storage_get", proto: "void *(struct bpf_map *map, void *sk, void *value, u64 flags)" },
  { id: 108, name: "sk_storage_delete", proto: "long (struct bpf_map *map, void *sk)" },
  { id: 109, name: "send_signal", proto: "long (u32 sig)" },
  { id: 110, name: "tcp_gen_syncookie", proto: "s64 (void *sk, void *iph, u32 iph_len, struct tcphdr *th, u32 th_len)" },
  { id: 111, name: "skb_output", proto: "long (void *ctx, struct bpf_map *map, u64 flags, void *data, u64 size)" },
  { id: 112, name: "probe_read_user", proto: "long (void *dst, u32 size, const void *unsafe_ptr)", fills: { buffer: 0, size: 1 } },
  { id: 113, name: "probe_read_kernel", proto: "long (void *dst, u32 size, const void *unsafe_ptr)", fills: { buffer: 0, size: 1 } },
  { id: 114, name: "probe_read_user_str", proto: "long (void *dst, u32 size, const void *unsafe_ptr)" },
  { id: 115, name: "probe_read_kernel_str", proto: "long (void *dst, u32 size, const void *unsafe_ptr)" },
  { id: 116, name: "tcp_send_ack", proto: "long (void *tp, u32 rcv_nxt)" },
  { id: 117, name: "send_signal_thread", proto: "long (u32 sig)" },
  { id: 118, name: "jiffies64", proto: "u64 ()" },
  { id: 119, name: "read_branch_records", proto: "long (struct bpf_perf_event_data *ctx, void *buf, u32 size, u64 flags)" },
  { id: 120, name: "get_ns_current_pid_tgid", proto: "long (u64 dev, u64 ino, struct bpf_pidns_info *nsdata, u32 size)" },
  { id: 121, name: "xdp_output", proto: "long (void *ctx, struct bpf_map *map, u64 flags, void *data, u64 size)" },
  { id: 122, name: "get_netns_cookie", proto: "u64 (void *ctx)" },
  { id: 123, name: "get_current_ancestor_cgroup_id", proto: "u64 (int ancestor_level)" },
  { id: 124, name: "sk_assign", proto: "long (struct sk_buff *skb, void *sk, u64 flags)" },
  { id: 125, name: "ktime_get_boot_ns", proto: "u64 ()", resultMax: (1n << 63n) - 1n },
  { id: 126, name: "seq_printf", proto: "long (struct seq_file *m, const char *fmt, u32 fmt_size, const void *data, u32 data_len)" },
  { id: 127, name: "seq_write", proto: "long (struct seq_file *m, const void *data, u32 len)" },
  { id: 128, name: "sk_cgroup_id", proto: "u64 (void *sk)" },
  { id: 129, name: "sk_ancestor_cgroup_id", proto: "u64 (void *sk, int ancestor_level)" },
  { id: 130, name: "ringbuf_output", proto: "long (void *ringbuf, void *data, u64 size, u64 flags)" },
  { id: 131, name: "ringbuf_reserve", proto: "void *(void *ringbuf, u64 size, u64 flags)", reference: "acquire" },
  { id: 132, name: "ringbuf_submit", proto: "void (void *data, u64 flags)", reference: "release" },
  { id: 133, name: "ringbuf_discard", proto: "void (void *data, u64 flags)", reference: "release" },
  { id: 134, name: "ringbuf_query", proto: "u64 (void *ringbuf, u64 flags)" },
  { id: 135, name: "csum_level", proto: "long (struct sk_buff *skb, u64 level)" },
  { id: 136, name: "skc_to_tcp6_sock", proto: "struct tcp6_sock *(void *sk)" },
  { id: 137, name: "skc_to_tcp_sock", proto: "struct tcp_sock *(void *sk)" },
  { id: 138, name: "skc_to_tcp_timewait_sock", proto: "struct tcp_timewait_sock *(void *sk)" },
  { id: 139, name: "skc_to_tcp_request_sock", proto: "struct tcp_request_sock *(void *sk)" },
  { id: 140, name: "skc_to_udp6_sock", proto: "struct udp6_sock *(void *sk)" },
  { id: 141, name: "get_task_stack", proto: "long (struct task_struct *task, void *buf, u32 size, u64 flags)" },
  { id: 142, name: "load_hdr_opt", proto: "long (struct bpf_sock_ops *skops, void *searchby_res, u32 len, u64 flags)" },
  { id: 143, name: "store_hdr_opt", proto: "long (struct bpf_sock_ops *skops, const void *from, u32 len, u64 flags)" },
  { id: 144, name: "reserve_hdr_opt", proto: "long (struct bpf_sock_ops *skops, u32 len, u64 flags)" },
  { id: 145, name: "inode_storage_get", proto: "void *(struct bpf_map *map, void *inode, void *value, u64 flags)" },
  { id: 146, name: "inode_storage_delete", proto: "int (struct bpf_map *map, void *inode)" },
  { id: 147, name: "d_path", proto: "long (const struct path *path, char *buf, u32 sz)" },
  { id: 148, name: "copy_from_user", proto: "long (void *dst, u32 size, const void *user_ptr)" },
  { id: 149, name: "snprintf_btf", proto: "long (char *str, u32 str_size, struct btf_ptr *ptr, u32 btf_ptr_size, u64 flags)" },
  { id: 150, name: "seq_printf_btf", proto: "long (struct seq_file *m, struct btf_ptr *ptr, u32 ptr_size, u64 flags)" },
  { id: 151, name: "skb_cgroup_classid", proto: "u64 (struct sk_buff *skb)" },
  { id: 152, name: "redirect_neigh", proto: "long (u32 ifindex, struct bpf_redir_neigh *params, int plen, u64 flags)" },
  { id: 153, name: "per_cpu_ptr", proto: "void *(const void *percpu_ptr, u32 cpu)" },
  { id: 154, name: "this_cpu_ptr", proto: "void *(const void *percpu_ptr)" },
  { id: 155, name: "redirect_peer", proto: "long (u32 ifindex, u64 flags)" },
  { id: 156, name: "task_storage_get", proto: "void *(struct bpf_map *map, struct task_struct *task, void *value, u64 flags)" },
  { id: 157, name: "task_storage_delete", proto: "long (struct bpf_map *map, struct task_struct *task)" },
  { id: 158, name: "get_current_task_btf", proto: "struct task_struct *()" },
  { id: 159, name: "bprm_opts_set", proto: "long (struct linux_binprm *bprm, u64 flags)" },
  { id: 160, name: "ktime_get_coarse_ns", proto: "u64 ()", resultMax: (1n << 63n) - 1n },
  { id: 161, name: "ima_inode_hash", proto: "long (struct inode *inode, void *dst, u32 size)" },
  { id: 162, name: "sock_from_file", proto: "struct socket *(struct file *file)" },
  { id: 163, name: "check_mtu", proto: "long (void *ctx, u32 ifindex, u32 *mtu_len, s32 len_diff, u64 flags)" },
  { id: 164, name: "for_each_map_elem", proto: "long (struct bpf_map *map, void *callback_fn, void *callback_ctx, u64 flags)" },
  { id: 165, name: "snprintf", proto: "long (char *str, u32 str_size, const char *fmt, u64 *data, u32 data_len)" },
  { id: 166, name: "sys_bpf", proto: "long (u32 cmd, void *attr, u32 attr_size)" },
  { id: 167, name: "btf_find_by_name_kind", proto: "long (char *name, int name_sz, u32 kind, int flags)" },
  { id: 168, name: "sys_close", proto: "long (u32 fd)" },
  { id: 169, name: "timer_init", proto: "long (struct bpf_timer *timer, struct bpf_map *map, u64 flags)" },
  { id: 170, name: "timer_set_callback", proto: "long (struct bpf_timer *timer, void *callback_fn)" },
  { id: 171, name: "timer_start", proto: "long (struct bpf_timer *timer, u64 nsecs, u64 flags)" },
  { id: 172, name: "timer_cancel", proto: "long (struct bpf_timer *timer)" },
  { id: 173, name: "get_func_ip", proto: "u64 (void *ctx)" },
  { id: 174, name: "get_attach_cookie", proto: "u64 (void *ctx)" },
  { id: 175, name: "task_pt_regs", proto: "long (struct task_struct *task)" },
  { id: 176, name: "get_branch_snapshot", proto: "long (void *entries, u32 size, u64 flags)" },
  { id: 177, name: "trace_vprintk", proto: "long (const char *fmt, u32 fmt_size, const void *data, u32 data_len)" },
  { id: 178, name: "skc_to_unix_sock", proto: "struct unix_sock *(void *sk)" },
  { id: 179, name: "kallsyms_lookup_name", proto: "long (const char *name, int name_sz, int flags, u64 *res)" },
  { id: 180, name: "find_vma", proto: "long (struct task_struct *task, u64 addr, void *callback_fn, void *callback_ctx, u64 flags)" },
  { id: 181, name: "loop", proto: "long (u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags)" },
  { id: 182, name: "strncmp", proto: "long (const char *s1, u32 s1_sz, const char *s2)" },
  { id: 183, name: "get_func_arg", proto: "long (void *ctx, u32 n, u64 *value)" },
  { id: 184, name: "get_func_ret", proto: "long (void *ctx, u64 *value)" },
  { id: 185, name: "get_func_arg_cnt", proto: "long (void *ctx)" },
  { id: 186, name: "get_retval", proto: "int ()" },
  { id: 187, name: "set_retval", proto: "int (int retval)" },
  { id: 188, name: "xdp_get_buff_len", proto: "u64 (struct xdp_buff *xdp_md)" },
  { id: 189, name: "xdp_load_bytes", proto: "long (struct xdp_buff *xdp_md, u32 offset, void *buf, u32 len)" },
  { id: 190, name: "xdp_store_bytes", proto: "long (struct xdp_buff *xdp_md, u32 offset, void *buf, u32 len)" },
  { id: 191, name: "copy_from_user_task", proto: "long (void *dst, u32 size, const void *user_ptr, struct task_struct *tsk, u64 flags)" },
  { id: 192, name: "skb_set_tstamp", proto: "long (struct sk_buff *skb, u64 tstamp, u32 tstamp_type)" },
  { id: 193, name: "ima_file_hash", proto: "long (struct file *file, void *dst, u32 size)" },
  { id: 194, name: "kptr_xchg", proto: "void *(void *dst, void *ptr)" },
  { id: 195, name: "map_lookup_percpu_elem", proto: "void *(struct bpf_map *map, const void *key, u32 cpu)" },
  { id: 196, name: "skc_to_mptcp_sock", proto: "struct mptcp_sock *(void *sk)" },
  { id: 197, name: "dynptr_from_mem", proto: "long (void *data, u64 size, u64 flags, struct bpf_dynptr *ptr)" },
  { id: 198, name: "ringbuf_reserve_dynptr", proto: "long (void *ringbuf, u32 size, u64 flags, struct bpf_dynptr *ptr)" },
  { id: 199, name: "ringbuf_submit_dynptr", proto: "void (struct bpf_dynptr *ptr, u64 flags)" },
  { id: 200, name: "ringbuf_discard_dynptr", proto: "void (struct bpf_dynptr *ptr, u64 flags)" },
  { id: 201, name: "dynptr_read", proto: "long (void *dst, u64 len, const struct bpf_dynptr *src, u64 offset, u64 flags)" },
  { id: 202, name: "dynptr_write", proto: "long (const struct bpf_dynptr *dst, u64 offset, void *src, u64 len, u64 flags)" },
  { id: 203, name: "dynptr_data", proto: "void *(const struct bpf_dynptr *ptr, u64 offset, u64 len)" },
  { id: 204, name: "tcp_raw_gen_syncookie_ipv4", proto: "s64 (struct iphdr *iph, struct tcphdr *th, u32 th_len)" },
  { id: 205, name: "tcp_raw_gen_syncookie_ipv6", proto: "s64 (struct ipv6hdr *iph, struct tcphdr *th, u32 th_len)" },
  { id: 206, name: "tcp_raw_check_syncookie_ipv4", proto: "long (struct iphdr *iph, struct tcphdr *th)" },
  { id: 207, name: "tcp_raw_check_syncookie_ipv6", proto: "long (struct ipv6hdr *iph, struct tcphdr *th)" },
  { id: 208, name: "ktime_get_tai_ns", proto: "u64 ()", resultMax: (1n << 63n) - 1n },
  { id: 209, name: "user_ringbuf_drain", proto: "long (struct bpf_map *map, void *callback_fn, void *ctx, u64 flags)" },
  { id: 210, name: "cgrp_storage_get", proto: "void *(struct bpf_map *map, struct cgroup *cgroup, void *value, u64 flags)" },
  { id: 211, name: "cgrp_storage_delete", proto: "long (struct bpf_map *map, struct cgroup *cgroup)" },
] as const satisfies readonly HelperInfo[];

/** A helper name: `map_lookup_elem`, `ktime_get_ns`, ... */
export type HelperName = (typeof HELPERS)[number]["name"];

/** `BPF_FUNC_*`: helper ids by name (`BPF_FUNC.map_lookup_elem` is 1). */
export const BPF_FUNC: Readonly<Record<HelperName, number>> = Object.freeze(
  Object.fromEntries(HELPERS.map((h) => [h.name, h.id])) as Record<HelperName, number>,
);

/** Is `name` a helper name? */
export function isHelperName(name: string): name is HelperName {
  return Object.hasOwn(BPF_FUNC, name);
}

/** The helper called `name` ({@link HELPERS} is indexed by id). */
export function helper(name: HelperName): HelperInfo {
  return HELPERS[BPF_FUNC[name]]!;
}

/** The helper with id `id`, or undefined for an id the kernel does not define. */
export function helperById(id: number): HelperInfo | undefined {
  const h: HelperInfo | undefined = HELPERS[id];
  return h?.id === id ? h : undefined;
}

/** The effects of a call of helper `id`: its row's, or {@link ANY_EFFECTS} when unknown. */
export function helperEffects(id: number | undefined): HelperEffects {
  return (id === undefined ? undefined : helperById(id)?.effects) ?? ANY_EFFECTS;
}

/** The output buffer a call of helper `id` fills whole (see {@link HelperInfo.fills}), if it has one. */
export function helperFills(id: number | undefined): HelperInfo["fills"] {
  return id === undefined ? undefined : helperById(id)?.fills;
}

/**
 * The largest value a call of helper `id` can return (unsigned 64-bit): the row's
 * `resultMax`, else 2^32-1 for a prototype whose result is `u32` (the helper's 64-bit
 * return register holds the zero-extended value), else undefined (any value).
 */
export function helperResultMax(id: number | undefined): bigint | undefined {
  const info = id === undefined ? undefined : helperById(id);
  if (!info) return undefined;
  if (info.resultMax !== undefined) return info.resultMax;
  return /^u32\s*\(/.test(info.proto) ? 0xffffffffn : undefined;
}

/** One parameter of a parsed prototype. */
export interface HelperParam {
  /** The C type, e.g. `const void *`, `u64`. */
  readonly type: string;
  /** The parameter name (`...` for a variadic tail). */
  readonly name: string;
}

/** A helper prototype split into C types. */
export interface HelperSignature {
  readonly result: string;
  readonly params: readonly HelperParam[];
}

/** Splits `info.proto` into the result type and typed parameters (undefined for `unspec`). */
export function helperSignature(info: HelperInfo): HelperSignature | undefined {
  const m = /^(.*?)\s*\((.*)\)$/.exec(info.proto);
  if (!m) return undefined;
  const params = m[2] === "" ? [] : m[2]!.split(",").map((p): HelperParam => {
    const s = p.trim();
    if (s === "...") return { type: "...", name: "..." };
    const n = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(s)!;
    return { type: s.slice(0, n.index).trim(), name: n[1]! };
  });
  return { result: m[1]!, params };
}
