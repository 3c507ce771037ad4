// expect: accept
// clang: -mcpu=v3
// Built for BPF CPU v3 (32-bit registers and jumps): clang compares the
// low half of a 64-bit value with a 32-bit jump, then zero- or
// sign-extends that half to index with it. The verifier keeps what the
// 32-bit jump proved about the low half until the extension.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64[64]);
	__uint(max_entries, 1);
} slots SEC(".maps");

SEC("xdp")
int alu32_bounds(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&slots, &zero);
	if (!v)
		return XDP_PASS;
	/* Unsigned: a u32 taken from a 64-bit value. */
	__u32 i = bpf_ktime_get_ns();
	if (i < 64)
		v[i] += 1;
	/* Signed: an int checked on both sides, which clang folds into one
	 * unsigned 32-bit jump before sign-extending it. */
	int j = (int)bpf_ktime_get_ns();
	if (j < 0 || j >= 64)
		return XDP_DROP;
	v[j] += 2;
	return XDP_PASS;
}
