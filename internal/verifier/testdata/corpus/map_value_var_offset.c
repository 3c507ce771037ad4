// expect: accept
// A map value holding an array, indexed at a variable offset after a
// check against the array's length.
#include "common.h"

struct slots {
	__u64 hits[32];
	__u64 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slots);
	__uint(max_entries, 1);
} stats SEC(".maps");

SEC("xdp")
int map_value_var_offset(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	struct slots *s = bpf_map_lookup_elem(&stats, &key);
	if (!s)
		return XDP_PASS;
	__u32 len = data_end - data;
	__u32 idx = len / 64;
	if (idx >= 32)
		idx = 31;
	s->hits[idx]++;
	s->total += len;
	return XDP_PASS;
}
