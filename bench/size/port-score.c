#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} scores SEC(".maps");

static int score(__u32 port)
{
	if (port < 1024)
		return 2;
	if (port < 49152)
		return 1;
	return 0;
}

SEC("socket")
int port_score(struct __sk_buff *skb)
{
	__u64 l4 = ETH_HLEN + IP_HLEN(skb);
	__u32 s = score(load_half(skb, l4)) + score(load_half(skb, l4 + 2));
	__u64 *n = bpf_map_lookup_elem(&scores, &s);
	if (n)
		__sync_fetch_and_add(n, 1);
	return s;
}

char LICENSE[] SEC("license") = "GPL";
