// expect: accept
// Reserves a record, then submits or discards it depending on the packet,
// with the record pointer kept across a helper call in a callee-saved
// register.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int ringbuf_discard_branch(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->len = ctx->data_end - ctx->data;
	r->flags = ctx->rx_queue_index;
	r->stamp = bpf_ktime_get_ns();
	if (r->len < 64) {
		bpf_ringbuf_discard(r, 0);
		return XDP_DROP;
	}
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
