#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

SEC("kprobe/do_nanosleep")
int sleep_start(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 t = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &id, &t, BPF_ANY);
	return 0;
}

SEC("kretprobe/do_nanosleep")
int sleep_end(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *t0 = bpf_map_lookup_elem(&start, &id);
	if (!t0)
		return 0;
	__u64 t = *t0;
	bpf_map_delete_elem(&start, &id);
	__u64 delta = bpf_ktime_get_ns() - t;
	__u32 bucket = 0;
	for (int b = 1; b <= 63; b++)
		if (delta >> b)
			bucket = b;
	__u64 *v = bpf_map_lookup_elem(&hist, &bucket);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
