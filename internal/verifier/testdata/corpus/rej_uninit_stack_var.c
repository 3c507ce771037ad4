// expect: reject KindUninitStack which nothing wrote
// An array on the stack of which only some elements are set, read at an
// index that may select the others.
#include "common.h"

SEC("xdp")
int rej_uninit_stack_var(struct xdp_md *ctx)
{
	volatile __u64 t[4];
	t[0] = 1;
	t[1] = 2;
	__u32 i = ctx->ingress_ifindex & 3;
	return t[i] == 2 ? XDP_DROP : XDP_PASS;
}
