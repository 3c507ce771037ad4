// expect: reject KindOutOfBounds packet offset
// The TCP header sits ihl*4 bytes after the IPv4 header, but the program
// only checked the fixed 20-byte header before reading the ports.
#include "common.h"

SEC("xdp")
int rej_ihl_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
	if ((void *)ip + sizeof(*ip) + sizeof(*tcp) > data_end)
		return XDP_DROP;
	return tcp->dest == bpf_htons(80) ? XDP_DROP : XDP_PASS;
}
