// expect: reject KindCallDepth deeper than 8 frames
// A chain of nine nested bpf-to-bpf calls: with the program itself that is
// ten frames, more than the eight the runtime's stack holds.
#include "common.h"

#define LEVEL(n, next)                                        \
	static __noinline __u64 f##n(__u64 x)                 \
	{                                                     \
		volatile __u64 pad = x;                       \
		return next(pad * 3 + n) + 1;                 \
	}

static __noinline __u64 f9(__u64 x)
{
	return x ^ 0x55;
}
LEVEL(8, f9)
LEVEL(7, f8)
LEVEL(6, f7)
LEVEL(5, f6)
LEVEL(4, f5)
LEVEL(3, f4)
LEVEL(2, f3)
LEVEL(1, f2)

SEC("xdp")
int rej_call_depth(struct xdp_md *ctx)
{
	return f1(ctx->ingress_ifindex) & 3;
}
