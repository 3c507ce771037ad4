// expect: accept
// A dispatcher that tail-calls a handler chosen by the packet's first
// byte, and the handlers it may reach (one of which tail-calls again).
#include "common.h"

int handle_a(struct xdp_md *ctx);
int handle_b(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 4);
	__array(values, int(struct xdp_md *));
} handlers SEC(".maps") = {
	.values = { [0] = (void *)&handle_a, [1] = (void *)&handle_b },
};

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	bpf_tail_call(ctx, &handlers, p[0] & 3);
	return XDP_PASS;
}

SEC("xdp")
int handle_a(struct xdp_md *ctx)
{
	bump(1);
	return XDP_DROP;
}

SEC("xdp")
int handle_b(struct xdp_md *ctx)
{
	bump(2);
	bpf_tail_call(ctx, &handlers, 0);
	return XDP_TX;
}
