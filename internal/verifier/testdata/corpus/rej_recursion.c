// expect: reject KindCallDepth deeper than 8 frames
// A recursive function: its depth depends on the data, and nothing
// bounds it below the frame limit.
#include "common.h"

static __noinline __u64 count_down(__u32 n)
{
	volatile __u64 here = n * 7;
	if (n == 0)
		return here;
	__u64 below = count_down(n - 1);
	return below ^ here;
}

SEC("xdp")
int rej_recursion(struct xdp_md *ctx)
{
	return count_down(ctx->rx_queue_index & 15) & 3;
}
