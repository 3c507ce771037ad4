// expect: reject KindHelperArg must be a prog_array map
// bpf_tail_call is given the counters array instead of a program array.
#include "common.h"

SEC("xdp")
int rej_tail_call_wrong_map(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &counters, 0);
	return XDP_PASS;
}
