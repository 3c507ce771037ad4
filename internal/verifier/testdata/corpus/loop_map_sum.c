// expect: accept
// Sums an array held in a hash map value with a bounded loop, then
// writes the total back at an index the loop found.
#include "common.h"

struct stats {
	__u64 bucket[16];
	__u64 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct stats);
	__uint(max_entries, 64);
} stats SEC(".maps");

SEC("xdp")
int loop_map_sum(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	struct stats *s = bpf_map_lookup_elem(&stats, &key);
	if (!s)
		return XDP_PASS;
	__u64 sum = 0;
	__u32 max_i = 0;
	for (__u32 i = 0; i < 16; i++) {
		sum += s->bucket[i];
		if (s->bucket[i] > s->bucket[max_i])
			max_i = i;
	}
	s->total = sum;
	s->bucket[max_i] = 0;
	return XDP_PASS;
}
