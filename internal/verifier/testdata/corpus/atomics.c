// expect: accept
// Atomic operations on a map value: add, or, and, xor, fetch-and-add,
// exchange and compare-and-exchange (64-bit, as clang emits them for the
// default BPF CPU).
#include "common.h"

struct state {
	__u64 count;
	__u64 last;
	__u64 flags;
	__u64 owner;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct state);
	__uint(max_entries, 1);
} shared SEC(".maps");

SEC("xdp")
int atomics(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct state *s = bpf_map_lookup_elem(&shared, &k);
	if (!s)
		return XDP_PASS;
	__u64 len = ctx->data_end - ctx->data;
	__u64 before = __sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_or(&s->flags, 1ull << (len & 63));
	__sync_fetch_and_and(&s->flags, ~2ull);
	__sync_fetch_and_xor(&s->owner, ctx->rx_queue_index);
	__u64 prev = __sync_lock_test_and_set(&s->last, len);
	__u64 cpu = bpf_get_smp_processor_id();
	__sync_val_compare_and_swap(&s->owner, 0, cpu + 1);
	return before + prev > 1000000 ? XDP_DROP : XDP_PASS;
}
