// expect: reject KindHelperArg must be a constant size
// The reservation's size depends on the packet: the verifier cannot know
// how much memory the record has.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_ringbuf_nonconst_size(struct xdp_md *ctx)
{
	__u32 len = (ctx->data_end - ctx->data) & 63;
	__u8 *r = bpf_ringbuf_reserve(&rb, len + 8, 0);
	if (!r)
		return XDP_PASS;
	r[0] = 1;
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
