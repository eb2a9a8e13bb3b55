#include "common.h"

#define BUDGET 1000

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} slot SEC(".maps");

SEC("xdp")
int xdp_cpu_budget(struct xdp_md *ctx)
{
	__u32 k0 = 0, k1 = 1;
	__u64 *s = bpf_map_lookup_elem(&seen, &k0);
	if (s)
		__sync_fetch_and_add(s, 1);
	__u64 now = bpf_ktime_get_ns() / 1000000;
	__u64 *current = bpf_map_lookup_elem(&slot, &k0);
	if (!current || *current != now) {
		__u64 zero = 0;
		bpf_map_update_elem(&slot, &k0, &now, BPF_ANY);
		bpf_map_update_elem(&slot, &k1, &zero, BPF_ANY);
	}
	__u64 *u = bpf_map_lookup_elem(&slot, &k1);
	__u64 used = u ? *u : 0;
	if (used >= BUDGET)
		return XDP_DROP;
	used++;
	bpf_map_update_elem(&slot, &k1, &used, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
