// expect: accept
// Copies the start of the packet with bpf_memcpy_s, its size the length
// end - data capped at the buffer's size: the length is tracked as the
// number of bytes left in the packet, so no data_end check is needed.
#include "common.h"
#include "ringbuf.h"

SEC("xdp")
int pkt_len_copy(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	char buf[64] = {};
	__u64 len = data_end - data;
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (len == 0)
		return XDP_PASS;
	bpf_memcpy_s(buf, sizeof(buf), data, len);
	bpf_ringbuf_output(&rb, buf, sizeof(buf), 0);
	return XDP_PASS;
}
