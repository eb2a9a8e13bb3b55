#include "common.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>

#define LIMIT 3

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} sketch SEC(".maps");

static __always_inline __u64 rotl64(__u64 x, int n) { return (x << n) | (x >> (64 - n)); }
static __always_inline __u64 rotr64(__u64 x, int n) { return (x >> n) | (x << (64 - n)); }

/* One row's hash: kept a real BPF-to-BPF call, as the Lua function is. */
static __noinline __u32 row_slot(__u64 seed, __u64 addrs, __u64 ports)
{
	__u64 h = addrs ^ seed;
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ ports ^ (h >> 29)) * 0xc4ceb9fe1a85ec53ULL;
	h = h ^ rotl64(h, 17) ^ (h >> 47);
	h = (h + seed) * 0x9e3779b97f4a7c15ULL;
	h = h ^ (h >> 32) ^ rotr64(h, 7);
	h = (h ^ (h << 13) ^ (h >> 41)) * 0xbf58476d1ce4e5b9ULL;
	h = h ^ rotr64(h, 23) ^ rotl64(h, 11);
	return (h ^ (h >> 19)) & 63;
}

SEC("xdp")
int xdp_sketch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	void *l4 = (void *)ip + ip->ihl * 4;
	__u64 ports;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end)
			return XDP_PASS;
		ports = (__u64)bpf_ntohs(tcp->source) << 16 | bpf_ntohs(tcp->dest);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return XDP_PASS;
		ports = (__u64)bpf_ntohs(udp->source) << 16 | bpf_ntohs(udp->dest);
	} else {
		return XDP_PASS;
	}
	__u64 addrs = (__u64)bpf_ntohl(ip->saddr) << 32 | bpf_ntohl(ip->daddr);
	__u32 a = row_slot(0x243f6a88, addrs, ports);
	__u32 b = row_slot(0x85a308d3, addrs, ports) + 64;
	__u64 *pa = bpf_map_lookup_elem(&sketch, &a);
	__u64 *pb = bpf_map_lookup_elem(&sketch, &b);
	if (!pa || !pb)
		return XDP_PASS;
	__u64 ca = *pa + 1, cb = *pb + 1;
	*pa = ca;
	*pb = cb;
	return (ca < cb ? ca : cb) > LIMIT ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
