// expect: reject KindOutOfBounds nothing checked the packet's length
// The Ethernet type is read without any check against data_end.
#include "common.h"

SEC("xdp")
int rej_packet_unchecked(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}
