// expect: accept
// A loop whose bound comes from the packet, with an explicit limit that
// the verifier can use (n is clamped to 16 before the loop).
#include "common.h"

SEC("xdp")
int loop_data_bound(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_DROP;
	__u32 n = p[0];
	__u64 acc = 0;
	for (__u32 i = 0; i < n && i < 16; i++)
		acc = acc * 31 + i;
	bump(acc & 15);
	return XDP_PASS;
}
