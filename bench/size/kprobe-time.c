#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} last SEC(".maps");

SEC("kprobe/do_nanosleep")
int kprobe_time(void *ctx)
{
	__u64 key = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&last, &key, &now, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
