// xdp programs. drop_udp_port drops UDP packets to a port configured in a
// const volatile global (.rodata), counting them in a per-CPU array.
// tag_meta grows the metadata area in front of the packet with
// bpf_xdp_adjust_meta and writes a tag there for a tc program to read,
// reloading the packet pointers after the helper (which invalidates them).
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c xdp.c -o xdp.o
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

#define XDP_DROP 1
#define XDP_PASS 2

struct xdp_md {
	__u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
} __attribute__((packed));

struct iphdr {
	__u8 ihl_version;
	__u8 tos;
	__u16 tot_len, id, frag_off;
	__u8 ttl, protocol;
	__u16 check;
	__u32 saddr, daddr;
};

struct udphdr {
	__u16 source, dest, len, check;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_xdp_adjust_meta)(struct xdp_md *xdp_md, int delta) = (void *)54;

struct {
	__uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} dropped SEC(".maps");

const volatile __u16 blocked_port = 9;

SEC("xdp")
int drop_udp_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != __builtin_bswap16(0x0800))
		return XDP_PASS;
	if (ip->protocol != 17 || ip->ihl_version != 0x45) /* UDP, no IP options */
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest != __builtin_bswap16(blocked_port))
		return XDP_PASS;
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&dropped, &key);
	if (n)
		*n += 1;
	return XDP_DROP;
}

SEC("xdp.frags")
int tag_meta(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)) < 0)
		return XDP_PASS;
	void *data = (void *)(long)ctx->data;
	__u32 *meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_PASS;
	*meta = ctx->ingress_ifindex;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
