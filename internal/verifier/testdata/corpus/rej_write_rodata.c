// expect: reject KindReadOnly read-only
// A const volatile configuration value is written through a cast: .rodata
// is read-only for programs.
#include "common.h"

const volatile __u32 cfg_limit = 100;

SEC("xdp")
int rej_write_rodata(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	if (len > cfg_limit)
		*(volatile __u32 *)&cfg_limit = len;
	return XDP_PASS;
}
