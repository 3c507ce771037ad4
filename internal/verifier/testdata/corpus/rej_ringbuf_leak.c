// expect: reject KindUnreleased neither submitted nor discarded
// The reservation is submitted on the main path, but the early return
// for short packets forgets to discard it.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_ringbuf_leak(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	if (data + 14 > data_end)
		return XDP_DROP; /* leaks r */
	r->len = data_end - data;
	r->flags = 0;
	r->stamp = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
