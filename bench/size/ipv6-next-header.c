#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256);
	__type(key, __u8);
	__type(value, __u64);
} by_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} short_lived SEC(".maps");

SEC("socket")
int ipv6_next_header(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x86dd)
		return 0;
	__u8 nh = load_byte(skb, ETH_HLEN + 6);
	__u64 *n = bpf_map_lookup_elem(&by_next, &nh);
	__u64 v = (n ? *n : 0) + 1;
	bpf_map_update_elem(&by_next, &nh, &v, BPF_ANY);
	if (load_byte(skb, ETH_HLEN + 7) < 8) {
		__u32 key = 0;
		__u64 *s = bpf_map_lookup_elem(&short_lived, &key);
		if (s)
			__sync_fetch_and_add(s, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
