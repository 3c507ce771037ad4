// expect: accept
// bpf_for_each_map_elem over an array and a hash: the callback reads the
// key, updates the value and accumulates into the caller's stack.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 32);
} table SEC(".maps");

struct walk {
	__u64 sum;
	__u32 seen;
	__u32 limit;
};

static long visit(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	w->sum += *value + *key;
	*value += 1;
	w->seen++;
	return w->seen >= w->limit;
}

SEC("xdp")
int for_each_map_elem(struct xdp_md *ctx)
{
	__u32 k = ctx->data_end - ctx->data;
	__u64 v = k;
	bpf_map_update_elem(&table, &k, &v, BPF_ANY);
	struct walk w = { .limit = 10 };
	bpf_for_each_map_elem(&counters, visit, &w, 0);
	bpf_for_each_map_elem(&table, visit, &w, 0);
	return w.sum > 1000 ? XDP_DROP : XDP_PASS;
}
