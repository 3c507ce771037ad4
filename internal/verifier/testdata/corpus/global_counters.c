// expect: accept
// Counters in .bss and configuration in .rodata: the const volatile
// threshold is a known constant, the counters are updated atomically.
#include "common.h"

const volatile __u32 threshold = 128;
__u64 small_packets;
__u64 large_packets;

SEC("xdp")
int global_counters(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	if (len < threshold)
		__sync_fetch_and_add(&small_packets, 1);
	else
		__sync_fetch_and_add(&large_packets, 1);
	return XDP_PASS;
}
