// expect: accept
// Copies a UDP payload: the headers are checked against data_end, then
// the payload's length (end - payload) bounds the copy into a ring
// buffer record.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} payloads SEC(".maps");

struct sample {
	__u32 len;
	__u8 bytes[60];
};

SEC("xdp")
int pkt_payload_copy(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);
	void *payload = udp + 1;
	if (payload > data_end)
		return XDP_PASS;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	__u64 len = data_end - payload;
	if (len == 0)
		return XDP_PASS;
	if (len > 60)
		len = 60;
	struct sample *s = bpf_ringbuf_reserve(&payloads, sizeof(*s), 0);
	if (!s)
		return XDP_PASS;
	s->len = len;
	bpf_memcpy_s(s->bytes, sizeof(s->bytes), payload, len);
	bpf_ringbuf_submit(s, 0);
	return XDP_PASS;
}
