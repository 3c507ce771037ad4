// expect: accept
// A dispatcher over the L3 protocol with a switch, parsing IPv4 or IPv6
// and then TCP, UDP or ICMP; counts land in a per-protocol slot.
#include "common.h"

static __always_inline int l4(void *l4h, void *data_end, __u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP: {
		struct tcphdr *t = l4h;
		if ((void *)(t + 1) > data_end)
			return -1;
		return 1 + (bpf_ntohs(t->dest) < 1024);
	}
	case IPPROTO_UDP: {
		struct udphdr *u = l4h;
		if ((void *)(u + 1) > data_end)
			return -1;
		return 3 + (bpf_ntohs(u->dest) < 1024);
	}
	case IPPROTO_ICMP:
		return 5;
	default:
		return 6;
	}
}

SEC("xdp")
int parse_dual_stack(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	int slot;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP: {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		__u32 hlen = ip->ihl * 4;
		if (hlen < sizeof(*ip))
			return XDP_DROP;
		slot = l4((void *)ip + hlen, data_end, ip->protocol);
		break;
	}
	case ETH_P_IPV6: {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		slot = l4(ip6 + 1, data_end, ip6->nexthdr);
		if (slot > 0)
			slot += 6;
		break;
	}
	default:
		slot = 0;
	}
	if (slot < 0)
		return XDP_DROP;
	bump(slot);
	return XDP_PASS;
}
