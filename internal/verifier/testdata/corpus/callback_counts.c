// expect: accept
// bpf_for_each_map_elem over a hash map: the callback reads each value,
// counts the ones above a threshold in the caller's context and deletes
// nothing; the caller then records the count.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 32);
} sizes SEC(".maps");

struct count_ctx {
	__u64 threshold;
	__u32 above;
};

static long count_above(void *map, __u32 *key, __u64 *value, struct count_ctx *c)
{
	if (*value > c->threshold)
		c->above++;
	return 0;
}

SEC("xdp")
int callback_counts(struct xdp_md *ctx)
{
	struct count_ctx c = {.threshold = ctx->data_end - ctx->data};
	bpf_for_each_map_elem(&sizes, count_above, &c, 0);
	bump(c.above & 15);
	return XDP_PASS;
}
