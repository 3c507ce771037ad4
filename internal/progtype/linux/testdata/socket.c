// A socket filter for a packet socket: keep IPv4 TCP packets, whole, and
// drop the rest; count the bytes kept per socket (by socket cookie). Socket filters have no direct packet
// access in Linux: they read the packet with bpf_skb_load_bytes.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c socket.c -o socket.o
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

/* struct __sk_buff (uapi), up to the fields used; the rest of the 192 bytes
 * follows in Linux's layout but is not needed here. */
struct __sk_buff {
	__u32 len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto;
	__u32 priority, ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *)26;
static __u64 (*bpf_get_socket_cookie)(void *ctx) = (void *)46;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 64);
} kept SEC(".maps");

#define ETH_HLEN 14
#define IPPROTO_TCP 6

SEC("socket")
int keep_tcp(struct __sk_buff *skb)
{
	__u16 proto;
	__u8 ipproto;
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) < 0 || proto != __builtin_bswap16(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &ipproto, 1) < 0 || ipproto != IPPROTO_TCP)
		return 0;
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u64 *v = bpf_map_lookup_elem(&kept, &cookie);
	if (v) {
		__sync_fetch_and_add(v, skb->len);
	} else {
		__u64 len = skb->len;
		bpf_map_update_elem(&kept, &cookie, &len, 1 /* BPF_NOEXIST */);
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
