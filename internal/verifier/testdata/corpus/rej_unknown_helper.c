// expect: reject KindUnknownHelper helper 999 is not available
// A helper id no program type provides.
#include "common.h"

static long (*const bpf_not_a_helper)(__u64 x) = (void *)999;

SEC("xdp")
int rej_unknown_helper(struct xdp_md *ctx)
{
	return bpf_not_a_helper(ctx->ingress_ifindex) ? XDP_DROP : XDP_PASS;
}
