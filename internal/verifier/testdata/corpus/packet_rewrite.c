// expect: accept
// An XDP_TX reflector: swaps the MAC addresses, decrements the IPv4 TTL
// and patches the header checksum incrementally (writes to the packet).
#include "common.h"

SEC("xdp")
int packet_rewrite(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ttl <= 1)
		return XDP_PASS;
	__u8 tmp[6];
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
	__u32 check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (check & 0xffff) + (check >> 16);
	ip->ttl--;
	return XDP_TX;
}
