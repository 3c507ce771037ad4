// expect: reject KindHelperArg cannot be used on map
// bpf_ringbuf_output is given an array map instead of the ring buffer.
#include "common.h"

SEC("xdp")
int rej_ringbuf_output_wrong_map(struct xdp_md *ctx)
{
	__u64 v = ctx->data_end - ctx->data;
	bpf_ringbuf_output(&counters, &v, sizeof(v), 0);
	return XDP_PASS;
}
