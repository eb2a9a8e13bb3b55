// fentry/fexit fixtures: count calls of do_sys_openat2 per process (key tgid | slot << 24,
// slot 1 fentry, 2 fexit). Loaded with the function's vmlinux BTF id.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} per_process SEC(".maps");

static __always_inline void bump(__u32 slot) {
  __u32 key = (__u32)(bpf_get_current_pid_tgid() >> 32) | slot << 24;
  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&per_process, &key);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&per_process, &key, &one, BPF_NOEXIST);
}

SEC("fentry/do_sys_openat2")
int on_openat2_entry(void *ctx) {
  bump(1);
  return 0;
}

SEC("fexit/do_sys_openat2")
int on_openat2_exit(void *ctx) {
  bump(2);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
