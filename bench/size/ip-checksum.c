#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

SEC("socket")
int ip_checksum(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x0800 || (load_byte(skb, ETH_HLEN) & 0x0f) != 5)
		return 0;
	__u64 b0 = load_byte(skb, ETH_HLEN);
	__u64 src = load_word(skb, IP_SRC), dst = load_word(skb, ETH_HLEN + 16);
	__u64 sum = ((b0 >> 4) << 12 | (b0 & 0x0f) << 8 | load_byte(skb, ETH_HLEN + 1)) + load_half(skb, ETH_HLEN + 2) +
		    load_half(skb, ETH_HLEN + 4) + load_half(skb, ETH_HLEN + 6) +
		    (load_byte(skb, ETH_HLEN + 8) << 8 | load_byte(skb, ETH_HLEN + 9)) + load_half(skb, ETH_HLEN + 10) +
		    (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
	for (int i = 0; i < 2; i++)
		sum = (sum & 0xffff) + (sum >> 16);
	__u32 key = sum == 0xffff ? 0 : 1; /* GOOD, BAD */
	__u64 *v = bpf_map_lookup_elem(&results, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
