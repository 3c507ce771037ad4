// expect: reject KindOutOfBounds outside the 264-byte value
// The index is checked with <= instead of <: hits[32] is one past the
// end of the array (and of the value).
#include "common.h"

struct slots {
	__u64 total;
	__u64 hits[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slots);
	__uint(max_entries, 1);
} stats SEC(".maps");

SEC("xdp")
int rej_map_value_off_by_one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	__u32 key = 0;
	struct slots *s = bpf_map_lookup_elem(&stats, &key);
	if (!s)
		return XDP_PASS;
	__u32 idx = p[0];
	if (idx <= 32)
		s->hits[idx]++;
	return XDP_PASS;
}
