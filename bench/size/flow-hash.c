#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} last SEC(".maps");

#define GOLDEN 0x9e3779b97f4a7c15ULL

static __always_inline __u64 rotl64(__u64 x, int n) { return (x << n) | (x >> (64 - n)); }
static __always_inline __u64 rotr64(__u64 x, int n) { return (x >> n) | (x << (64 - n)); }

SEC("socket")
int flow_hash(struct __sk_buff *skb)
{
	__u64 l4 = ETH_HLEN + IP_HLEN(skb);
	__u64 x = (load_word(skb, IP_SRC) << 32) | load_word(skb, IP_SRC + 4);
	x ^= (load_half(skb, l4) << 16) | load_half(skb, l4 + 2);
	x *= GOLDEN;
	x ^= x >> 31;
	x = rotl64(x, 27) * 0x94d049bb133111ebULL;
	x = x ^ (__u64)((__s64)x >> 29) ^ ~rotr64(x, 13);
	__u32 bucket = x & 15;
	__u64 *n = bpf_map_lookup_elem(&buckets, &bucket);
	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_map_update_elem(&last, &bucket, &x, BPF_ANY);
	return __builtin_bswap64(x) & 0xff;
}

char LICENSE[] SEC("license") = "GPL";
