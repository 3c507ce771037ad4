// expect: reject KindBadPointer context may only be accessed at fixed offsets
// The context is read at an index computed at run time.
#include "common.h"

SEC("xdp")
int rej_ctx_variable_offset(struct xdp_md *ctx)
{
	__u32 *fields = (__u32 *)ctx;
	__u32 i = 3 + (ctx->rx_queue_index & 1);
	return fields[i] == 1 ? XDP_DROP : XDP_PASS;
}
