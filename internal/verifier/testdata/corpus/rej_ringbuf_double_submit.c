// expect: reject KindUninitRegister it no longer holds a value
// The record is submitted twice: after the first submit the pointer is
// dead, so the second call has nothing valid to pass.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_ringbuf_double_submit(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->len = ctx->data_end - ctx->data;
	r->flags = 1;
	r->stamp = 0;
	bpf_ringbuf_submit(r, 0);
	if (ctx->ingress_ifindex == 3)
		bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
