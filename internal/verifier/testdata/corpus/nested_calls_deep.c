// expect: accept
// Eight frames: main and seven functions that cannot be inlined, each
// adding to a value on the previous frame's stack.
#include "common.h"

#define LEVEL(n, next)                                  \
	static __noinline __u64 level##n(__u64 *acc, __u64 x) \
	{                                               \
		__u64 local = x * 3 + n;                    \
		*acc += next(&local, x + 1);                \
		return local;                               \
	}

static __noinline __u64 level7(__u64 *acc, __u64 x)
{
	*acc += x;
	return x ^ 7;
}
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)

SEC("xdp")
int nested_calls_deep(struct xdp_md *ctx)
{
	__u64 acc = 0;
	acc += level1(&acc, ctx->rx_queue_index);
	bump(acc & 15);
	return XDP_PASS;
}
