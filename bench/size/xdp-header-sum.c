/* Twin of examples/xdp-header-sum.lua: verify IPv4 header checksums (options included) in a bounded loop. */
#include "common.h"
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} headers SEC(".maps");

SEC("xdp")
int xdp_header_sum(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN > end)
		return XDP_PASS;
	if (*(__u16 *)(data + 12) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u8 *ip = data + ETH_HLEN;
	if (ip + 20 > end)
		return XDP_PASS;
	__u32 words = (ip[0] & 0x0f) * 2;
	__u64 sum = 0;
	for (__u32 i = 0; i < 30; i++) {
		if (i >= words)
			break;
		if (ip + 2 * i + 2 > end)
			return XDP_PASS;
		sum += (ip[2 * i] << 8) + ip[2 * i + 1];
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	__u32 key = sum == 0xffff ? 0 : 1; /* GOOD, BAD */
	__u64 *v = bpf_map_lookup_elem(&headers, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
