#include "common.h"

SEC("socket")
int tcp_port_filter(struct __sk_buff *skb)
{
	if (load_byte(skb, IP_PROTO) == 6 && load_half(skb, ETH_HLEN + IP_HLEN(skb) + 2) == 80)
		return skb->len;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
