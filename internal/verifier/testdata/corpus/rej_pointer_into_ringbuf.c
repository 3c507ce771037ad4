// expect: reject KindPointerLeak stores a pointer
// The record sent to user space would carry the packet's address.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_pointer_into_ringbuf(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->len = 0;
	r->flags = 0;
	r->stamp = (__u64)(long)data;
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
