// expect: accept
// Ethernet with up to two VLAN tags (a loop the compiler unrolls), then
// IPv6 and UDP; the offset of each header depends on the tags seen.
#include "common.h"

SEC("xdp")
int parse_vlan_ipv6_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	void *cur = eth + 1;
	__u16 proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = cur;
		if ((void *)(vh + 1) > data_end)
			return XDP_DROP;
		proto = vh->h_vlan_encapsulated_proto;
		cur = vh + 1;
	}
	if (proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	struct ipv6hdr *ip6 = cur;
	if ((void *)(ip6 + 1) > data_end)
		return XDP_DROP;
	if (ip6->nexthdr != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip6 + 1);
	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	bump(ip6->daddr[15] & 15);
	return udp->dest == bpf_htons(53) ? XDP_TX : XDP_PASS;
}
