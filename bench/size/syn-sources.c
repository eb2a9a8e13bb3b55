#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} syns SEC(".maps");

SEC("socket")
int syn_sources(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x0800 || load_byte(skb, IP_PROTO) != 6)
		return 0;
	__u64 flags = load_byte(skb, ETH_HLEN + IP_HLEN(skb) + 13);
	if ((flags >> 1 & 1) == 1 && (flags >> 4 & 1) == 0) { /* SYN without ACK */
		__u32 src = load_word(skb, IP_SRC);
		__u64 *n = bpf_map_lookup_elem(&syns, &src);
		__u64 v = (n ? *n : 0) + 1;
		bpf_map_update_elem(&syns, &src, &v, BPF_ANY);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
