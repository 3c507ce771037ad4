// expect: reject KindBadPointer arithmetic on a packet_end
// The trailer is located by stepping back from data_end: arithmetic on
// the end pointer is not allowed (only comparisons with it are).
#include "common.h"

SEC("xdp")
int rej_packet_end_arith(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *trailer = data_end - 4;
	if ((void *)trailer < data)
		return XDP_PASS;
	return *trailer == 0xdeadbeef ? XDP_DROP : XDP_PASS;
}
