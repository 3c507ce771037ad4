// expect: accept
// Reflects a packet: swaps the Ethernet addresses in place with 2-byte
// loads and stores, then returns XDP_TX.
#include "common.h"

SEC("xdp")
int mac_swap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	__u16 *d = (__u16 *)eth->h_dest, *s = (__u16 *)eth->h_source;
	for (int i = 0; i < 3; i++) {
		__u16 t = d[i];
		d[i] = s[i];
		s[i] = t;
	}
	return XDP_TX;
}
