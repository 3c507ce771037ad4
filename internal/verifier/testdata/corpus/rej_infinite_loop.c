// expect: reject KindInfiniteLoop loop never ends
// A retry loop whose condition never changes inside the loop.
#include "common.h"

SEC("xdp")
int rej_infinite_loop(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	__u32 tries = 0;
	while (q != 7) {
		if (tries < 5) /* tries is never incremented */
			continue;
		q = 7;
	}
	return XDP_PASS;
}
