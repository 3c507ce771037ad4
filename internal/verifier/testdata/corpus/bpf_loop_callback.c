// expect: accept
// bpf_loop over the first bytes of the packet: the callback gets a
// context on the caller's stack holding packet pointers, checks each byte
// against data_end, and stops the loop at the end of the packet.
#include "common.h"

struct scan {
	__u8 *data;
	__u8 *data_end;
	__u32 zeros;
	__u32 sum;
};

static long scan_byte(__u32 i, void *arg)
{
	struct scan *s = arg;
	__u8 *p = s->data + (i & 63);
	if (p + 1 > s->data_end)
		return 1;
	if (*p == 0)
		s->zeros++;
	s->sum += *p;
	return 0;
}

SEC("xdp")
int bpf_loop_callback(struct xdp_md *ctx)
{
	struct scan s = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	bpf_loop(64, scan_byte, &s, 0);
	bump(s.zeros & 15);
	return s.sum & 1 ? XDP_DROP : XDP_PASS;
}
