// expect: reject KindPointerLeak stores a pointer
// The packet pointer itself is stored in a map value, where user space
// would read a kernel address.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} last SEC(".maps");

SEC("xdp")
int rej_pointer_into_map(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&last, &k);
	if (v)
		*v = (__u64)(long)ctx->data + 0; /* a pointer, not a number */
	return XDP_PASS;
}
