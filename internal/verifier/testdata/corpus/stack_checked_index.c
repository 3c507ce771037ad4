// expect: accept
// A histogram on the stack indexed by a bounds-checked value.
#include "common.h"

SEC("xdp")
int stack_checked_index(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 hist[16] = {};
	__u8 *p = data;
	for (int i = 0; i < 32; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		__u32 b = p[i] >> 2;
		if (b < 16)
			hist[b]++;
	}
	__u32 best = 0;
	for (int i = 1; i < 16; i++)
		if (hist[i] > hist[best])
			best = i;
	bump(best);
	return XDP_PASS;
}
