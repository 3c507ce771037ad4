// expect: accept
// A switch over a byte of the packet with many cases and a table of
// per-case counters.
#include "common.h"

SEC("xdp")
int switch_verdict(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 1) > data_end)
		return XDP_ABORTED;
	int v;
	switch (p[0]) {
	case 0:
	case 1:
		v = XDP_PASS;
		break;
	case 2:
		v = XDP_DROP;
		break;
	case 3:
		v = XDP_TX;
		break;
	case 7:
	case 9:
	case 11:
		v = XDP_REDIRECT;
		break;
	case 0x45:
		v = XDP_PASS;
		bump(5);
		break;
	case 0xff:
		v = XDP_DROP;
		bump(6);
		break;
	default:
		v = XDP_PASS;
	}
	bump(v);
	return v;
}
