// expect: accept
// Counts TCP SYN, FIN and RST packets: Ethernet, IPv4 with options
// (ihl checked), then the TCP flags byte.
#include "common.h"

SEC("xdp")
int tcp_flags(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	__u32 hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip))
		return XDP_DROP;
	__u8 *tcp = (void *)ip + hlen;
	if (tcp + 14 > (__u8 *)data_end)
		return XDP_PASS;
	__u8 flags = tcp[13];
	if (flags & 0x02)
		bump(1);
	if (flags & 0x01)
		bump(2);
	if (flags & 0x04) {
		bump(3);
		return XDP_DROP;
	}
	return XDP_PASS;
}
