// expect: reject KindUninitStack reads stack byte
// A key struct with padding, filled field by field: the padding bytes are
// uninitialized when the struct is passed to the lookup helper.
#include "common.h"

struct key {
	__u8 proto;
	/* 3 bytes of padding */
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key);
	__type(value, __u64);
	__uint(max_entries, 64);
} by_key SEC(".maps");

SEC("xdp")
int rej_struct_hole(struct xdp_md *ctx)
{
	struct key k;
	k.proto = ctx->rx_queue_index;
	k.addr = ctx->ingress_ifindex;
	__u64 *v = bpf_map_lookup_elem(&by_key, &k);
	if (v)
		*v += 1;
	return XDP_PASS;
}
