// expect: reject KindUninitRegister bpf_ringbuf_submit
// The record is written after it was submitted (user space may already
// be reading it).
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_ringbuf_use_after_submit(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->len = ctx->data_end - ctx->data;
	r->stamp = 0;
	bpf_ringbuf_submit(r, 0);
	r->flags = 7;
	return XDP_PASS;
}
