// expect: reject KindUnbounded without a proven upper bound
// A table on the stack indexed by a value from the packet, unchecked.
#include "common.h"

SEC("xdp")
int rej_stack_unbounded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	volatile __u64 t[8] = {};
	t[*p] = 1;
	return t[0] ? XDP_DROP : XDP_PASS;
}
