// expect: accept
// A per-CPU log2 histogram of packet sizes: the bucket index is computed
// with a bounded loop and clamped before indexing the map.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 32);
} hist SEC(".maps");

static __always_inline __u32 log2u(__u64 v)
{
	__u32 r = 0;
	for (int i = 0; i < 32 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("xdp")
int log2_histogram(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	__u32 slot = log2u(len);
	if (slot > 31)
		slot = 31;
	__u64 *v = bpf_map_lookup_elem(&hist, &slot);
	if (v)
		*v += 1;
	return XDP_PASS;
}
