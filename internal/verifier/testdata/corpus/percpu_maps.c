// expect: accept
// Per-CPU counters: an array and a hash, and reading another CPU's value
// with bpf_map_lookup_percpu_elem.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} pc_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64[2]);
	__uint(max_entries, 16);
} pc_hash SEC(".maps");

SEC("xdp")
int percpu_maps(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&pc_array, &k);
	if (c)
		*c += 1;
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 *other = bpf_map_lookup_percpu_elem(&pc_array, &k, cpu ^ 1);
	__u64 seen = other ? *other : 0;
	__u32 hk = ctx->ingress_ifindex & 15;
	__u64 *h = bpf_map_lookup_elem(&pc_hash, &hk);
	if (h) {
		h[0]++;
		h[1] += seen;
	} else {
		__u64 init[2] = { 1, seen };
		bpf_map_update_elem(&pc_hash, &hk, init, BPF_NOEXIST);
	}
	return XDP_PASS;
}
