// expect: reject KindTooComplex instructions processed
// maxsteps: 20000
// (With the default budget of 1,000,000 steps the rejection takes minutes:
// every new state at the loop head is compared with all the states kept
// there, so the time grows with the square of the budget.)
// A loop bounded only by a 32-bit value from the packet: up to four
// billion iterations, which the verifier cannot prove end in time.
#include "common.h"

SEC("xdp")
int rej_loop_unbounded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	__u32 n = *p;
	__u64 acc = 0;
	for (__u32 i = 0; i < n; i++)
		acc = acc * 33 + i;
	return acc & 1 ? XDP_DROP : XDP_PASS;
}
