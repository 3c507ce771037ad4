// expect: reject KindOutOfBounds outside the 512-byte stack frame
// A stack table indexed after a check against the wrong limit (the
// table has 8 entries, the check allows 64).
#include "common.h"

SEC("xdp")
int rej_stack_index_too_big(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	volatile __u64 t[8] = {};
	__u32 i = p[0];
	if (i < 64)
		t[i] = 1;
	return t[0] ? XDP_DROP : XDP_PASS;
}
