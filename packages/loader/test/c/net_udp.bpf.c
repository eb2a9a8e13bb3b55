// Network fixtures for the loader's attach tests: an XDP program, a tc classifier and a socket
// filter that single out IPv4 UDP datagrams to the port stored in `config[0]`. XDP drops them,
// tc shoots them (TC_ACT_SHOT), the socket filter keeps only them. Each program counts what it
// singled out in `hits[0]` and everything else in `hits[1]`.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&hits, &slot);
  if (n)
    __sync_fetch_and_add(n, 1);
}

static __always_inline int is_target_port(__u16 dport_be) {
  __u32 zero = 0;
  __u32 *port = bpf_map_lookup_elem(&config, &zero);
  return port && bpf_ntohs(dport_be) == *port;
}

/* The UDP destination port (network order) of an Ethernet/IPv4/UDP frame, or 0. */
static __always_inline __u16 udp_dport(void *data, void *data_end) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
    return 0;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
    return 0;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > data_end)
    return 0;
  return udp->dest;
}

SEC("xdp")
int xdp_drop_port(struct xdp_md *ctx) {
  __u16 dport = udp_dport((void *)(long)ctx->data, (void *)(long)ctx->data_end);
  if (dport && is_target_port(dport)) {
    count(0);
    return XDP_DROP;
  }
  count(1);
  return XDP_PASS;
}

SEC("tc")
int tc_shoot_port(struct __sk_buff *skb) {
  __u16 dport = udp_dport((void *)(long)skb->data, (void *)(long)skb->data_end);
  if (dport && is_target_port(dport)) {
    count(0);
    return TC_ACT_SHOT;
  }
  count(1);
  return TC_ACT_OK;
}

SEC("socket")
int socket_keep_port(struct __sk_buff *skb) {
  __u8 proto;
  __u16 dport;
  if (skb->protocol != bpf_htons(ETH_P_IP))
    goto other;
  if (bpf_skb_load_bytes(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, protocol), &proto, 1) < 0 || proto != IPPROTO_UDP)
    goto other;
  if (bpf_skb_load_bytes(skb, ETH_HLEN + sizeof(struct iphdr) + __builtin_offsetof(struct udphdr, dest), &dport, 2) < 0)
    goto other;
  if (!is_target_port(dport))
    goto other;
  count(0);
  return skb->len;
other:
  count(1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
