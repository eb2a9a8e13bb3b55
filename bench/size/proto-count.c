#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("socket")
int proto_count(struct __sk_buff *skb)
{
	__u32 proto = load_byte(skb, IP_PROTO);
	__u64 *v = bpf_map_lookup_elem(&counts, &proto);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
