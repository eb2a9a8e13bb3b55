/* Loop shape benchmark (npm run bench:loops): twin of down-2.lua */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} out SEC(".maps");

SEC("socket")
int loop(struct __sk_buff *skb)
{
	__u64 s = 0, m = skb->mark;
	for (__s64 i = 40; i >= 0; i -= 2) s = s * 31 + (i ^ m);
	__u32 k = 0;
	bpf_map_update_elem(&out, &k, &s, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
