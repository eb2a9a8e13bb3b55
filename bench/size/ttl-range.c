#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u8);
	__type(value, __u8);
} lowest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u8);
	__type(value, __u8);
} highest SEC(".maps");

SEC("tc")
int ttl_range(struct __sk_buff *skb)
{
	if (skb->protocol != 0x0008) /* ETH_P_IP in network byte order */
		return 0;
	__u8 proto = load_byte(skb, IP_PROTO);
	__u8 ttl = load_byte(skb, ETH_HLEN + 8);
	__u8 *lo = bpf_map_lookup_elem(&lowest, &proto);
	__u8 *hi = bpf_map_lookup_elem(&highest, &proto);
	if (!lo || ttl < *lo)
		bpf_map_update_elem(&lowest, &proto, &ttl, BPF_ANY);
	if (!hi || ttl > *hi)
		bpf_map_update_elem(&highest, &proto, &ttl, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
