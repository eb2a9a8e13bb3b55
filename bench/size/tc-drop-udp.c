#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

SEC("tc")
int tc_drop_udp(struct __sk_buff *skb)
{
	if (load_byte(skb, IP_PROTO) == 17 && load_half(skb, ETH_HLEN + IP_HLEN(skb) + 2) == 53) {
		__u32 key = 0;
		__u64 *v = bpf_map_lookup_elem(&dropped, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
		return 2;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
