// Tracing fixtures for the loader's attach and event tests: one tracepoint program on
// syscalls/sys_enter_openat that counts calls per process and, for the process named in
// `config[0]`, emits an event to a ring buffer and a perf event array. Compiled by the tests
// with clang-16 -O2 -g -target bpf.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
  __u32 pid;
  __u32 seq;
  char comm[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} sequence SEC(".maps");

// The record types of both event maps, named by the luabpf.record decl tag; the pointer global
// makes clang emit `struct event` into BTF.
struct event *__luabpf_record_perf __attribute__((unused));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} rb SEC(".maps") __attribute__((btf_decl_tag("luabpf.record=struct event")));

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u64 one = 1;
  __u64 *count = bpf_map_lookup_elem(&counts, &tgid);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);

  __u32 zero = 0;
  __u32 *target = bpf_map_lookup_elem(&config, &zero);
  if (!target || *target != tgid)
    return 0;
  __u32 *seq = bpf_map_lookup_elem(&sequence, &zero);
  if (!seq)
    return 0;
  struct event e = {};
  e.pid = tgid;
  e.seq = __sync_fetch_and_add(seq, 1);
  bpf_get_current_comm(e.comm, sizeof(e.comm));
  bpf_ringbuf_output(&rb, &e, sizeof(e), 0);
  bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
