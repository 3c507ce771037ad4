// expect: reject KindUnbounded no proven upper bound
// The payload pointer is never checked against data_end, so end - payload
// may be negative: as an unsigned size it has no bound.
#include "common.h"

SEC("xdp")
int rej_pkt_len_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	char buf[64] = {};
	void *payload = data + 42;
	long len = data_end - payload;
	if (len > 64)
		len = 64;
	if (len == 0)
		return XDP_PASS;
	bpf_memcpy_s(buf, sizeof(buf), payload, len);
	bump(buf[0] & 15);
	return XDP_PASS;
}
