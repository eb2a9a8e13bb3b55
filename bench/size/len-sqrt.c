#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void add(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &key);
	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("socket")
int len_sqrt(struct __sk_buff *skb)
{
	__u64 n = skb->len;
	__u64 lo = 0, hi = 256, steps = 0;
	while (lo + 1 < hi && steps < 16) {
		__u64 mid = (lo + hi) / 2;
		if (mid * mid <= n)
			lo = mid;
		else
			hi = mid;
		steps++;
	}
	__u64 x = lo + 1, k = 0;
	do {
		x = (x + n / x) / 2;
		k++;
	} while (!(x * x <= n || k == 4));
	add(0, n); /* SUM */
	add(1, n * n); /* SQUARES */
	add(2, lo); /* ROOTS */
	add(3, 1); /* COUNT */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
