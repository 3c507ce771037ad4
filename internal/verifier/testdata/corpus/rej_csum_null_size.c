// expect: reject KindHelperArg is NULL, so its size
// bpf_csum_diff may take NULL for "from" only with a size of 0: the
// helper would read 4 bytes at address 0.
#include "common.h"

SEC("xdp")
int rej_csum_null_size(struct xdp_md *ctx)
{
	__be32 to = ctx->rx_queue_index;
	__s64 sum = bpf_csum_diff(0, 4, &to, sizeof(to), 0);
	bump(sum & 15);
	return XDP_PASS;
}
