// expect: reject KindReadOnly context is read-only
// The program writes to a field of the xdp context.
#include "common.h"

SEC("xdp")
int rej_ctx_write(struct xdp_md *ctx)
{
	ctx->rx_queue_index = 0;
	return XDP_PASS;
}
