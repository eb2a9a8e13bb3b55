#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

SEC("socket")
int bytes_per_source(struct __sk_buff *skb)
{
	__u32 src = load_word(skb, IP_SRC);
	__u64 *v = bpf_map_lookup_elem(&bytes, &src);
	if (!v) {
		__u64 len = skb->len;
		bpf_map_update_elem(&bytes, &src, &len, BPF_ANY);
	} else {
		__sync_fetch_and_add(v, skb->len);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
