// expect: accept
// A loop over the bytes of the packet: each iteration checks the next
// byte against data_end, and the loop is capped at 64 bytes.
#include "common.h"

SEC("xdp")
int loop_packet_bytes(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u32 sum = 0;
	for (int i = 0; i < 64; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		sum += p[i];
	}
	bump(sum & 15);
	return sum & 1 ? XDP_DROP : XDP_PASS;
}
