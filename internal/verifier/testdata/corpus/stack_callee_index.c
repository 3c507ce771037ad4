// expect: accept
// A callee writes into its caller's stack array at an index it checks
// itself: a variable offset into another frame.
#include "common.h"

static __noinline int record(__u8 *hist, __u32 n, __u32 v)
{
	if (v >= n)
		return 0;
	hist[v]++;
	return 1;
}

SEC("xdp")
int stack_callee_index(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 hist[16] = {};
	__u8 *p = data;
	int counted = 0;
	for (int i = 0; i < 8; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		counted += record(hist, sizeof(hist), p[i] & 31);
	}
	bump((hist[0] + counted) & 15);
	return XDP_PASS;
}
