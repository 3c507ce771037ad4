// expect: accept
// Packet metadata: compared with data before it is read (the test runs
// give no metadata, so the read never happens there).
#include "common.h"

SEC("xdp")
int data_meta(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *meta = (void *)(long)ctx->data_meta;
	__u32 *mark = meta;
	if ((void *)(mark + 1) > data)
		return XDP_PASS;
	return *mark == 42 ? XDP_DROP : XDP_PASS;
}
