// expect: accept
// Ethernet, then IPv4 with a header of ihl*4 bytes (a variable offset into
// the packet, checked against data_end again), then TCP ports.
#include "common.h"

SEC("xdp")
int parse_ipv4_tcp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	__u32 hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip))
		return XDP_DROP;
	if (ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	struct tcphdr *tcp = (void *)ip + hlen;
	if ((void *)(tcp + 1) > data_end)
		return XDP_DROP;
	if (tcp->dest == bpf_htons(22))
		return XDP_DROP;
	bump(bpf_ntohs(tcp->source) & 15);
	return XDP_PASS;
}
