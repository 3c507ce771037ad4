// expect: reject KindUnbounded without a proven upper bound
// clang: -mcpu=v3
// An int checked only from above may be negative: as an index it reaches
// far below the map value (built for BPF CPU v3, where the check is a
// 32-bit jump on the low half).
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64[64]);
	__uint(max_entries, 1);
} slots SEC(".maps");

SEC("xdp")
int alu32_signed_index(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&slots, &zero);
	if (!v)
		return XDP_PASS;
	int j = (int)bpf_ktime_get_ns();
	if (j < 64)
		v[j] += 2;
	return XDP_PASS;
}
