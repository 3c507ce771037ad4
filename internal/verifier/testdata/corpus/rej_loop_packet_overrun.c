// expect: reject KindOutOfBounds packet offset
// A loop over 16-bit words of the packet that checks one byte per word
// against data_end but reads two.
#include "common.h"

SEC("xdp")
int rej_loop_packet_overrun(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 sum = 0;
	for (int i = 0; i < 16; i++) {
		__u8 *b = data + 2 * i;
		if ((void *)(b + 1) > data_end)
			break;
		sum += *(__u16 *)b;
	}
	return sum & 1 ? XDP_DROP : XDP_PASS;
}
