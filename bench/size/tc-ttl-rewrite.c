/* Twin of examples/tc-ttl-rewrite.lua: raise the IPv4 TTL to 64, fixing the header checksum. */
#include "common.h"
#include <stddef.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rewritten SEC(".maps");

SEC("tc")
int tc_ttl_rewrite(struct __sk_buff *skb)
{
	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return TC_ACT_OK;
	__u8 ttl = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, ttl));
	if (ttl >= 64)
		return TC_ACT_OK;
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + sizeof(struct iphdr) > end)
		return TC_ACT_OK;
	struct iphdr *ip = data + ETH_HLEN;
	__u16 old = ((__u16 *)ip)[4];
	ip->ttl = 64;
	__u16 new = ((__u16 *)ip)[4];
	bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new, 2);
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&rewritten, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
