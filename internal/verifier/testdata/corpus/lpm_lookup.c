// expect: accept
// Longest-prefix match of the IPv4 source address in an LPM trie.
#include "common.h"

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist SEC(".maps");

SEC("xdp")
int lpm_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	struct lpm_key k = { .prefixlen = 32, .addr = ip->saddr };
	__u32 *action = bpf_map_lookup_elem(&blocklist, &k);
	if (action && *action == 1)
		return XDP_DROP;
	return XDP_PASS;
}
