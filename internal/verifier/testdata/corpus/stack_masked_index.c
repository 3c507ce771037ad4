// expect: accept
// A table on the stack indexed by a value from the packet, masked to the
// table's size: a variable-offset stack access after the mask.
#include "common.h"

SEC("xdp")
int stack_masked_index(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	volatile __u64 table[8];
	for (int i = 0; i < 8; i++)
		table[i] = i * 3;
	__u8 *p = data;
	if ((void *)(p + 2) > data_end)
		return XDP_PASS;
	__u32 idx = p[1] & 7;
	table[idx] += 1;
	return table[(idx + 1) & 7] > 100 ? XDP_DROP : XDP_PASS;
}
