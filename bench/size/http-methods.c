/* Twin of examples/http-methods.lua: count HTTP requests by the first 4 bytes of the TCP payload. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} methods SEC(".maps");

SEC("socket")
int http_methods(struct __sk_buff *skb)
{
	__u64 ihl = IP_HLEN(skb);
	__u64 doff = (load_byte(skb, ETH_HLEN + ihl + 12) >> 4) << 2;
	__u64 data = ETH_HLEN + ihl + doff;
	if (data + 4 > skb->len)
		return 0;
	__u32 h = load_word(skb, data);
	if (h != 0x47455420 && h != 0x504f5354 && h != 0x50555420 && h != 0x48454144 && h != 0x44454c45)
		return 0; /* "GET " "POST" "PUT " "HEAD" "DELE" */
	__u64 *n = bpf_map_lookup_elem(&methods, &h);
	if (!n) {
		__u64 one = 1;
		bpf_map_update_elem(&methods, &h, &one, BPF_ANY);
	} else {
		__sync_fetch_and_add(n, 1);
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
