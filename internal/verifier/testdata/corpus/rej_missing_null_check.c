// expect: reject KindNullDeref may be NULL
// The lookup result is used without checking it against NULL.
#include "common.h"

SEC("xdp")
int rej_missing_null_check(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex & 15;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	*v += 1;
	return XDP_PASS;
}
