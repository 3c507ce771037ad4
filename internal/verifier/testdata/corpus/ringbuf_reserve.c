// expect: accept
// Ring buffer events: reserve a record, fill it from the packet, submit
// it, or discard it when the packet is too short; reserve may fail.
#include "common.h"

struct event {
	__u32 len;
	__u16 proto;
	__u8 head[10];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int ringbuf_reserve(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	e->len = data_end - data;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end) {
		bpf_ringbuf_discard(e, 0);
		return XDP_PASS;
	}
	e->proto = eth->h_proto;
	__builtin_memcpy(e->head, eth->h_dest, 6);
	__builtin_memset(e->head + 6, 0, 4);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return XDP_PASS;
}
