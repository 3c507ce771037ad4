// expect: reject KindReturnValue a callback returns 0 (continue) or 1 (stop)
// A bpf_loop callback that returns 2: callbacks may only continue (0)
// or stop (1).
#include "common.h"

static long step(__u32 i, __u64 *acc)
{
	*acc += i;
	return *acc > 10 ? 2 : 0;
}

SEC("xdp")
int rej_callback_return(struct xdp_md *ctx)
{
	__u64 acc = 0;
	bpf_loop(8, step, &acc, 0);
	return acc & 1;
}
