// A tracing fixture for `luabpf run` tests: on syscalls/sys_enter_openat, for processes named
// "lbpf_opener" only, emit an event with the process id, name and opened path to a ring buffer,
// count opens per process id, and add the path's length to a log2 histogram (bucket k holds
// lengths in [2^(k-1), 2^k), the convention `luabpf run` draws for maps named *_hist).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct open_event {
  __u32 pid;
  char comm[16];
  char path[48];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} events SEC(".maps") __attribute__((btf_decl_tag("luabpf.record=struct open_event")));

struct open_event *__luabpf_record_events __attribute__((unused));

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} length_hist SEC(".maps");

/* The tracepoint's record: common fields, syscall number, then the six arguments. */
struct sys_enter_ctx {
  __u64 common;
  __s64 id;
  __u64 args[6];
};

/* 0 for 0, else floor(log2(v)) + 1: the number of significant bits. */
static __always_inline __u32 log2_bucket(__u64 v) {
  __u32 k = 0;
  if (v >> 32) { v >>= 32; k += 32; }
  if (v >> 16) { v >>= 16; k += 16; }
  if (v >> 8) { v >>= 8; k += 8; }
  if (v >> 4) { v >>= 4; k += 4; }
  if (v >> 2) { v >>= 2; k += 2; }
  if (v >> 1) { v >>= 1; k += 1; }
  return k + (__u32)v;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_opens(struct sys_enter_ctx *ctx) {
  char comm[16];
  bpf_get_current_comm(comm, sizeof(comm));
  const char want[] = "lbpf_opener";
#pragma unroll
  for (int i = 0; i < sizeof(want); i++)
    if (comm[i] != want[i])
      return 0;

  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  struct open_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e)
    return 0;
  e->pid = pid;
  __builtin_memcpy(e->comm, comm, sizeof(comm));
  long length = bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)ctx->args[1]);
  bpf_ringbuf_submit(e, 0);

  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&counts, &pid);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);

  if (length > 1) {
    __u32 bucket = log2_bucket(length - 1); /* the string's length without its NUL */
    __u64 *slot = bpf_map_lookup_elem(&length_hist, &bucket);
    if (slot)
      __sync_fetch_and_add(slot, 1);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
