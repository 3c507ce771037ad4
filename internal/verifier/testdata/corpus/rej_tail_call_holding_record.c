// expect: reject KindUnreleased bpf_tail_call
// A tail call made while a ring buffer reservation is held: when the
// call succeeds, nothing ever submits the record.
#include "common.h"
#include "ringbuf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 2);
	__uint(value_size, sizeof(__u32));
} jmp SEC(".maps");

SEC("xdp")
int rej_tail_call_holding_record(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->len = 0;
	r->flags = 0;
	r->stamp = 0;
	bpf_tail_call(ctx, &jmp, 0);
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
