// expect: reject KindOutOfBounds outside the 8-byte value
// The value is a __u64, but the program reads it as a larger struct.
#include "common.h"

struct wide {
	__u64 a;
	__u64 b;
};

SEC("xdp")
int rej_map_value_overread(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct wide *w = bpf_map_lookup_elem(&counters, &key);
	if (!w)
		return XDP_PASS;
	return w->b > 10 ? XDP_DROP : XDP_PASS;
}
