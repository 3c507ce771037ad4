// expect: reject KindOutOfBounds outside the 16 bytes the helper provided
// A record of 16 bytes is reserved, but the program writes a 24-byte
// struct into it.
#include "common.h"
#include "ringbuf.h"

struct big_record {
	struct record r;
	__u64 extra;
};

SEC("xdp")
int rej_ringbuf_overflow(struct xdp_md *ctx)
{
	struct big_record *r = bpf_ringbuf_reserve(&rb, sizeof(struct record), 0);
	if (!r)
		return XDP_PASS;
	r->r.len = ctx->data_end - ctx->data;
	r->r.flags = 0;
	r->r.stamp = 0;
	r->extra = 1;
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
