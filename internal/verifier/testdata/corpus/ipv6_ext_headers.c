// expect: accept
// Walking IPv6 extension headers: a bounded loop whose header offset
// grows by a length read from the packet each iteration.
#include "common.h"

struct ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

SEC("xdp")
int ipv6_ext_headers(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	__u8 next = ip6->nexthdr;
	void *cur = ip6 + 1;
	for (int i = 0; i < 4; i++) {
		if (next != 0 && next != 43 && next != 60)
			break;
		struct ipv6_opt_hdr *h = cur;
		if ((void *)(h + 1) > data_end)
			return XDP_DROP;
		next = h->nexthdr;
		cur += (h->hdrlen + 1) * 8;
	}
	if (next == IPPROTO_UDP) {
		struct udphdr *u = cur;
		if ((void *)(u + 1) > data_end)
			return XDP_DROP;
		bump(bpf_ntohs(u->dest) & 15);
	}
	return XDP_PASS;
}
