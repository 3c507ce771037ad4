// expect: accept
// Global variables: a counter in .bss, a table in .data indexed after a
// check, and configuration in .rodata (const volatile) that the verifier
// reads as constants, so the disabled branch (which would index the table
// without a check) is never explored.
#include "common.h"

__u64 packets = 0;
__u32 by_len[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
const volatile __u32 cfg_mode = 1;
const volatile __u32 cfg_shift = 6;

SEC("xdp")
int globals(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__sync_fetch_and_add(&packets, 1);
	__u32 slot = len >> cfg_shift;
	if (cfg_mode == 0) {
		by_len[slot]++; /* unchecked: only valid with mode 0 */
	} else if (slot < 8) {
		by_len[slot]++;
	}
	return XDP_PASS;
}
