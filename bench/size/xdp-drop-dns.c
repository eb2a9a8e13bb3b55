/* Twin of examples/xdp-drop-dns.lua: drop UDP to port 53 over IPv4 and IPv6 (direct packet access). */
#include "common.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

static __always_inline int count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&dropped, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_DROP;
}

SEC("xdp")
int xdp_drop_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *udp = (void *)ip + ip->ihl * 4;
			if ((void *)(udp + 1) > end)
				return XDP_PASS;
			if (udp->dest == bpf_htons(53))
				return count(0);
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		if (ip6->nexthdr == IPPROTO_UDP) {
			struct udphdr *udp = (void *)(ip6 + 1);
			if ((void *)(udp + 1) > end)
				return XDP_PASS;
			if (udp->dest == bpf_htons(53))
				return count(1);
		}
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
