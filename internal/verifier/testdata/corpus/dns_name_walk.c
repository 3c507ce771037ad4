// expect: accept
// Walks the labels of a DNS query name in a UDP packet to port 53: a
// bounded loop whose packet pointer advances by a length read from the
// packet, checked against data_end on every step.
#include "common.h"

SEC("xdp")
int dns_name_walk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != __builtin_bswap16(53))
		return XDP_PASS;
	__u8 *p = (__u8 *)(udp + 1) + 12; /* past the DNS header */
	__u32 labels = 0;
	for (int i = 0; i < 8; i++) {
		if (p + 1 > (__u8 *)data_end)
			return XDP_DROP;
		__u8 len = *p;
		if (len == 0)
			break;
		if (len > 63)
			return XDP_DROP;
		p += len + 1;
		labels++;
	}
	bump(labels & 15);
	return XDP_PASS;
}
