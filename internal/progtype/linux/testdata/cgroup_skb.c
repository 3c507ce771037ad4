// A cgroup_skb egress firewall: packets from the cgroup to an address in a
// blocklist are dropped (0), others allowed (1). cgroup_skb packets start at
// the network header.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c cgroup_skb.c -o cgroup_skb.o
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

/* struct __sk_buff (uapi), up to data_end. */
struct __sk_buff {
	__u32 len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto;
	__u32 priority, ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid;
	__u32 data, data_end;
};

struct iphdr {
	__u8 ihl_version;
	__u8 tos;
	__u16 tot_len, id, frag_off;
	__u8 ttl, protocol;
	__u16 check;
	__u32 saddr, daddr;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_skb_cgroup_id)(struct __sk_buff *skb) = (void *)79;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u32);
	__type(value, __u64); /* the cgroup the rule applies to, 0 for any */
	__uint(max_entries, 1024);
} blocked SEC(".maps");

SEC("cgroup_skb/egress")
int egress_firewall(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;
	if ((void *)(ip + 1) > data_end)
		return 1;
	if ((ip->ihl_version >> 4) != 4)
		return 1;
	__u32 daddr = ip->daddr;
	__u64 *cg = bpf_map_lookup_elem(&blocked, &daddr);
	if (!cg)
		return 1;
	if (*cg != 0 && *cg != bpf_skb_cgroup_id(skb))
		return 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
