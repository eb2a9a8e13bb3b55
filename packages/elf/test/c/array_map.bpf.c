// A small BPF C program for the reader test (compiled by the test with clang-16 -O2 -g -target bpf).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct stats);
} stats_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 128);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(key_size, 8);
  __uint(value_size, 4);
} sizes_only SEC(".maps");

SEC("socket")
int count(struct __sk_buff *skb) {
  __u32 key = 0;
  struct stats *value = bpf_map_lookup_elem(&stats_map, &key);
  if (value) {
    __sync_fetch_and_add(&value->packets, 1);
    __sync_fetch_and_add(&value->bytes, skb->len);
  }
  return 0;
}

SEC("xdp")
int pass(struct xdp_md *ctx) {
  __u64 key = 7;
  __u32 *seen = bpf_map_lookup_elem(&sizes_only, &key);
  return seen ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
