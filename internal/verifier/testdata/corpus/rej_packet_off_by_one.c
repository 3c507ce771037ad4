// expect: reject KindOutOfBounds only offsets below 14
// The bound check covers the Ethernet header, but the program reads the
// byte after it (an off-by-one in the header length).
#include "common.h"

SEC("xdp")
int rej_packet_off_by_one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 14) > data_end)
		return XDP_DROP;
	return p[14] == 0x45 ? XDP_PASS : XDP_DROP;
}
