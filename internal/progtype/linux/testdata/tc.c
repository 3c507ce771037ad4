// tc (sched_cls) programs as iproute2 and libbpf load them. count_protocols
// parses Ethernet and IPv4 headers through skb->data and skb->data_end,
// reads the transport ports behind a variable-length IP header with
// bpf_skb_load_bytes, and counts packets per protocol in a hash map.
// decrement_ttl rewrites the packet with bpf_skb_store_bytes and fixes the
// checksum with bpf_l3_csum_replace. mark_packets sets skb->mark, which
// Linux lets tc programs write.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c tc.c -o tc.o
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define BPF_NOEXIST 1
#define BPF_F_RECOMPUTE_CSUM 1

/* struct __sk_buff (uapi), in full so that the offsets are Linux's. */
struct __sk_buff {
	__u32 len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto;
	__u32 priority, ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid;
	__u32 data, data_end, napi_id, family, remote_ip4, local_ip4, remote_ip6[4], local_ip6[4];
	__u32 remote_port, local_port, data_meta;
	__u64 flow_keys;
	__u64 tstamp;
	__u32 wire_len, gso_segs;
	__u64 sk;
	__u32 gso_size;
	__u8 tstamp_type;
	__u32 : 24;
	__u64 hwtstamp;
};

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
} __attribute__((packed));

struct iphdr {
	__u8 ihl_version; /* little endian: ihl in the low nibble */
	__u8 tos;
	__u16 tot_len, id, frag_off;
	__u8 ttl, protocol;
	__u16 check;
	__u32 saddr, daddr;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_skb_store_bytes)(struct __sk_buff *skb, __u32 offset, const void *from, __u32 len, __u64 flags) = (void *)9;
static long (*bpf_l3_csum_replace)(struct __sk_buff *skb, __u32 offset, __u64 from, __u64 to, __u64 size) = (void *)10;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *)26;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 512);
} counts SEC(".maps");

SEC("tc")
int count_protocols(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return TC_ACT_OK;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	__u32 key = ip->protocol;
	__u16 ports[2];
	__u32 off = sizeof(struct ethhdr) + (ip->ihl_version & 0xf) * 4;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) == 0 && ports[1] == __builtin_bswap16(53))
		key |= 0x10000; /* DNS */
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	}
	return TC_ACT_OK;
}

SEC("classifier/ttl")
int decrement_ttl(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->ttl <= 1)
		return 2; /* TC_ACT_SHOT */
	/* ttl and protocol share a 16-bit checksum word. */
	__u16 old = *(__u16 *)&ip->ttl;
	__u8 ttl = ip->ttl - 1;
	__u16 new = (old & 0xff00) | ttl;
	/* The store invalidates data and the header pointers: nothing below
	 * uses them. */
	bpf_l3_csum_replace(skb, sizeof(*eth) + __builtin_offsetof(struct iphdr, check), old, new, 2);
	bpf_skb_store_bytes(skb, sizeof(*eth) + __builtin_offsetof(struct iphdr, ttl), &ttl, 1, 0);
	return TC_ACT_OK;
}

SEC("tc/ingress")
int mark_packets(struct __sk_buff *skb)
{
	if (skb->len > 1000)
		skb->mark = 0x1;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
