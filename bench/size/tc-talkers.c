#include "common.h"
#include <linux/pkt_cls.h>

#define ALLOWANCE 4

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} talkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

SEC("tc")
int tc_talkers(struct __sk_buff *skb)
{
	if (skb->protocol != 0x0008) /* ETH_P_IP in network byte order */
		return TC_ACT_OK;
	__u32 proto = load_byte(skb, IP_PROTO);
	__u64 len = skb->len;
	__u64 *b = bpf_map_lookup_elem(&bytes, &proto);
	if (b)
		__sync_fetch_and_add(b, len);
	else
		bpf_map_update_elem(&bytes, &proto, &len, BPF_ANY);
	__u32 src = load_word(skb, IP_SRC);
	__u64 *seen = bpf_map_lookup_elem(&talkers, &src);
	__u64 n = (seen ? *seen : 0) + 1;
	bpf_map_update_elem(&talkers, &src, &n, BPF_ANY);
	return n > ALLOWANCE ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
