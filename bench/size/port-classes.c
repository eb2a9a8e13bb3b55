#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

SEC("socket")
int port_classes(struct __sk_buff *skb)
{
	__u64 proto = load_byte(skb, IP_PROTO);
	long port = -1;
	if (proto == 6)
		port = load_half(skb, ETH_HLEN + IP_HLEN(skb) + 2);
	else if (proto == 17)
		port = load_half(skb, ETH_HLEN + IP_HLEN(skb) + 2);
	if (port < 0)
		return 0;
	__u32 c = 2;
	if (port < 1024)
		c = 0;
	else if (port < 49152)
		c = 1;
	__u64 *v = bpf_map_lookup_elem(&bytes, &c);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
