// expect: accept
// A queue and a stack map: push the packet length, pop and peek into
// stack buffers.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 8);
} q SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(value_size, sizeof(__u32) * 2);
	__uint(max_entries, 8);
} s SEC(".maps");

SEC("xdp")
int queue_stack(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	bpf_map_push_elem(&q, &len, BPF_EXIST);
	__u32 pair[2] = { ctx->ingress_ifindex, ctx->rx_queue_index };
	bpf_map_push_elem(&s, pair, BPF_EXIST);
	__u64 oldest;
	if (bpf_map_peek_elem(&q, &oldest) == 0 && oldest > 1000)
		bpf_map_pop_elem(&q, &oldest);
	__u32 top[2];
	if (bpf_map_pop_elem(&s, top) == 0)
		bump(top[1] & 15);
	return XDP_PASS;
}
