// expect: accept
// bpf_loop whose callback indexes an array on the caller's stack with
// the iteration number after a bounds check, and stops early.
#include "common.h"

struct loop_ctx {
	__u64 table[8];
	__u64 sum;
	__u32 limit;
};

static long add_one(__u32 i, struct loop_ctx *c)
{
	if (i >= 8)
		return 1;
	c->sum += c->table[i];
	if (c->sum > c->limit)
		return 1;
	return 0;
}

SEC("xdp")
int bpf_loop_sum(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	for (int i = 0; i < 8; i++)
		c.table[i] = i * i;
	c.limit = ctx->rx_queue_index;
	bpf_loop(8, add_one, &c, 0);
	bump(c.sum & 15);
	return XDP_PASS;
}
