// expect: reject KindUnbounded without a proven upper bound
// A map value indexed by a value from the packet with no check at all.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64[16]);
	__uint(max_entries, 1);
} table SEC(".maps");

SEC("xdp")
int rej_map_value_unbounded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	__u32 key = 0;
	__u64 *t = bpf_map_lookup_elem(&table, &key);
	if (!t)
		return XDP_PASS;
	t[*p] += 1;
	return XDP_PASS;
}
