// Event throughput benchmark (npm run bench:events): for the process whose id is config[0], every
// getppid system call emits one record of `config[1]` bytes (16 to 256) to the ring buffer
// (config[2] = 0) or to the perf event array (config[2] = 1). stats[0] counts records the
// program tried to emit, stats[1] those the ring buffer refused (full).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct record {
  __u64 seq;
  __u64 time_ns;
  __u8 pad[240];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u32);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct record);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22);
} ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int emit(void *ctx) {
  __u32 zero = 0, one = 1, two = 2;
  __u32 *target = bpf_map_lookup_elem(&config, &zero);
  __u32 *size = bpf_map_lookup_elem(&config, &one);
  __u32 *mode = bpf_map_lookup_elem(&config, &two);
  __u64 *tried = bpf_map_lookup_elem(&stats, &zero);
  __u64 *refused = bpf_map_lookup_elem(&stats, &one);
  struct record *r = bpf_map_lookup_elem(&scratch, &zero);
  if (!target || !size || !mode || !tried || !refused || !r)
    return 0;
  if ((__u32)(bpf_get_current_pid_tgid() >> 32) != *target)
    return 0;
  r->seq = __sync_fetch_and_add(tried, 1);
  r->time_ns = bpf_ktime_get_ns();
  __u32 n = *size;
  if (n < 16)
    n = 16;
  if (n > sizeof(*r))
    n = sizeof(*r);
  if (*mode == 0) {
    if (bpf_ringbuf_output(&ring, r, n, 0) < 0)
      __sync_fetch_and_add(refused, 1);
  } else {
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, r, n);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
