// expect: reject KindUninitStack bpf_ringbuf_output reads stack byte
// An event struct of which one field is set only on one path, sent with
// bpf_ringbuf_output.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_output_uninit(struct xdp_md *ctx)
{
	struct record r;
	r.len = ctx->data_end - ctx->data;
	r.flags = 0;
	if (ctx->rx_queue_index == 0)
		r.stamp = bpf_ktime_get_ns();
	bpf_ringbuf_output(&rb, &r, sizeof(r), 0);
	return XDP_PASS;
}
