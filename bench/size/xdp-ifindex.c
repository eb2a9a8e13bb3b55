#include "common.h"

SEC("xdp")
int xdp_ifindex(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex == 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
