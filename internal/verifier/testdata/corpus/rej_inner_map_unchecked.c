// expect: reject KindNullDeref may be NULL
// The inner map of a map-in-map lookup is used without a NULL check.
#include "common.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
};
struct inner inner0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 2);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner0 },
};

SEC("xdp")
int rej_inner_map_unchecked(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index & 1;
	void *m = bpf_map_lookup_elem(&outer, &k);
	__u32 i = 0;
	__u64 *v = bpf_map_lookup_elem(m, &i);
	if (v)
		*v += 1;
	return XDP_PASS;
}
