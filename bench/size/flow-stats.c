#include "common.h"

struct flow_stats {
	__u64 packets;
	__u64 bytes;
	__u32 min_len, max_len;
	__u16 last_ttl;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct flow_stats);
} stats SEC(".maps");

SEC("socket")
int flow_stats(struct __sk_buff *skb)
{
	__u32 proto = load_byte(skb, IP_PROTO);
	__u32 len = skb->len;
	struct flow_stats *s = bpf_map_lookup_elem(&stats, &proto);
	if (!s) {
		struct flow_stats fresh;
		__builtin_memset(&fresh, 0, sizeof(fresh));
		fresh.packets = 1;
		fresh.bytes = len;
		fresh.min_len = len;
		fresh.max_len = len;
		fresh.last_ttl = load_byte(skb, ETH_HLEN + 8);
		bpf_map_update_elem(&stats, &proto, &fresh, BPF_ANY);
		return 0;
	}
	s->packets++;
	s->bytes += len;
	if (len < s->min_len)
		s->min_len = len;
	if (len > s->max_len)
		s->max_len = len;
	s->last_ttl = load_byte(skb, ETH_HLEN + 8);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
