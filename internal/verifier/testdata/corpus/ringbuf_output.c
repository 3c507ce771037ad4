// expect: accept
// bpf_ringbuf_output of a fully initialized struct on the stack.
#include "common.h"

struct sample {
	__u64 ts;
	__u32 len;
	__u32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} samples SEC(".maps");

SEC("xdp")
int ringbuf_output(struct xdp_md *ctx)
{
	struct sample s;
	s.ts = bpf_ktime_get_ns();
	s.len = ctx->data_end - ctx->data;
	s.ifindex = ctx->ingress_ifindex;
	if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) < 2048)
		bpf_ringbuf_output(&samples, &s, sizeof(s), 0);
	return XDP_PASS;
}
