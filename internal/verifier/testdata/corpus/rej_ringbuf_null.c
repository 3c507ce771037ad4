// expect: reject KindNullDeref may be NULL
// The record bpf_ringbuf_reserve returns is written without checking it:
// the reservation fails (NULL) when the ring buffer is full.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_ringbuf_null(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	r->len = ctx->data_end - ctx->data;
	r->flags = 0;
	r->stamp = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
