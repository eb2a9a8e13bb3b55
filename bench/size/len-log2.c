#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

SEC("socket")
int len_log2(struct __sk_buff *skb)
{
	__u32 bucket = 0;
	for (int b = 1; b <= 15; b++)
		if (skb->len >> b)
			bucket = b;
	__u64 *v = bpf_map_lookup_elem(&sizes, &bucket);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
