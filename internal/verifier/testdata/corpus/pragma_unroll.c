// expect: accept
// An IPv4 header checksum over the ten 16-bit words of the header, fully
// unrolled with #pragma unroll after one bounds check.
#include "common.h"

SEC("xdp")
int pragma_unroll(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	__u16 *w = (__u16 *)ip;
	__u32 csum = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		csum += w[i];
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum == 0 ? XDP_PASS : XDP_DROP;
}
