// expect: reject KindHelperArg cannot be used on map
// A ring buffer has no elements to look up: bpf_map_lookup_elem on it is
// a type error.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int rej_lookup_ringbuf(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&rb, &key);
	if (v)
		*v += 1;
	return XDP_PASS;
}
