// expect: accept
// A flow table: the 5-tuple of a TCP or UDP packet as a hash map key,
// built in a struct on the stack (zeroed first, so no padding byte is
// uninitialized), looked up and updated or inserted.
#include "common.h"

struct flow {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_stats {
	__u64 packets, bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow);
	__type(value, struct flow_stats);
	__uint(max_entries, 1024);
} flows SEC(".maps");

SEC("xdp")
int flow_table(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->ihl != 5)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *l4 = (void *)(ip + 1); /* ports sit alike in both */
	if ((void *)(l4 + 1) > data_end)
		return XDP_PASS;
	struct flow key;
	__builtin_memset(&key, 0, sizeof(key));
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.sport = l4->source;
	key.dport = l4->dest;
	key.proto = ip->protocol;
	__u64 len = data_end - data;
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &key);
	if (st) {
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, len);
		return XDP_PASS;
	}
	struct flow_stats init = {1, len};
	bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
	return XDP_PASS;
}
