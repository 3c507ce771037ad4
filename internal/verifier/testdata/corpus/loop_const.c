// expect: accept
// A counted loop with a constant bound over a value the compiler cannot
// fold (the packet's length): the verifier explores its 100 iterations.
#include "common.h"

SEC("xdp")
int loop_const(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	__u64 sum = 0;
	for (__u32 i = 0; i < 100; i++) {
		sum += (len ^ i) * i;
		if (sum & 0x100000)
			sum ^= len;
	}
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		*v = sum;
	return XDP_PASS;
}
