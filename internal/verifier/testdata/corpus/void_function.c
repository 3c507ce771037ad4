// expect: accept
// (regression: the verifier used to reject a function returning void)
// A static void function (never inlined) that adds to an accumulator on
// the caller's stack: clang emits its exit without setting r0, and the
// caller never reads r0.
#include "common.h"

static __noinline void add(__u64 *acc, __u32 v)
{
	*acc += v;
}

SEC("xdp")
int void_function(struct xdp_md *ctx)
{
	__u64 acc = 0;
	add(&acc, ctx->rx_queue_index);
	add(&acc, ctx->ingress_ifindex);
	bump(acc & 15);
	return XDP_PASS;
}
