// expect: accept
// An array of maps selecting a per-tenant table: the inner map from the
// outer lookup is checked against NULL before it is used.
#include "common.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
};
struct inner tenant0 SEC(".maps"), tenant1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 4);
	__array(values, struct inner);
} tenants SEC(".maps") = {
	.values = { [0] = &tenant0, [1] = &tenant1 },
};

SEC("xdp")
int map_in_map(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 t = len & 3;
	void *inner = bpf_map_lookup_elem(&tenants, &t);
	if (!inner)
		return XDP_PASS;
	__u32 k = len & 15;
	__u64 *v = bpf_map_lookup_elem(inner, &k);
	if (v) {
		*v += len;
	} else {
		__u64 init = len;
		bpf_map_update_elem(inner, &k, &init, BPF_ANY);
	}
	return XDP_PASS;
}
