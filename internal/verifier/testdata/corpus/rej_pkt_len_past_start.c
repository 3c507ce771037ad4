// expect: reject KindOutOfBounds packet offset 20
// The length is measured from the start of the packet, but the copy
// starts 20 bytes in: its last 20 bytes would be past the end.
#include "common.h"

SEC("xdp")
int rej_pkt_len_past_start(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	char buf[64] = {};
	__u64 len = data_end - data;
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (len == 0)
		return XDP_PASS;
	bpf_memcpy_s(buf, sizeof(buf), data + 20, len);
	bump(buf[0] & 15);
	return XDP_PASS;
}
