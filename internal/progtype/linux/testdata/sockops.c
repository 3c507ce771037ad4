// sock_ops programs. rtt_events turns on the RTT callback for established
// connections and counts callbacks per remote port; it reads the TCP header
// of the current packet through skb_data and skb_data_end, which in struct
// bpf_sock_ops are 64-bit fields. set_initial_rwnd answers the
// BPF_SOCK_OPS_RWND_INIT query by writing skops->reply, as tcp tuning
// programs do.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c sockops.c -o sockops.o
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

/* struct bpf_sock_ops (uapi). */
struct bpf_sock_ops {
	__u32 op;
	union {
		__u32 args[4];
		__u32 reply;
		__u32 replylong[4];
	};
	__u32 family, remote_ip4, local_ip4, remote_ip6[4], local_ip6[4];
	__u32 remote_port, local_port, is_fullsock, snd_cwnd, srtt_us, bpf_sock_ops_cb_flags;
	__u32 state, rtt_min, snd_ssthresh, rcv_nxt, snd_nxt, snd_una, mss_cache, ecn_flags;
	__u32 rate_delivered, rate_interval_us, packets_out, retrans_out, total_retrans;
	__u32 segs_in, data_segs_in, segs_out, data_segs_out, lost_out, sacked_out, sk_txhash;
	__u64 bytes_received, bytes_acked;
	__u64 sk;
	__u64 skb_data, skb_data_end;
	__u32 skb_len, skb_tcp_flags;
	__u64 skb_hwtstamp;
};

struct tcphdr {
	__u16 source, dest;
	__u32 seq, ack_seq;
	__u16 flags; /* doff in the top four bits of the first byte */
	__u16 window, check, urg_ptr;
};

#define BPF_SOCK_OPS_RWND_INIT 2
#define BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB 4
#define BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB 5
#define BPF_SOCK_OPS_RTT_CB 12
#define BPF_SOCK_OPS_RTT_CB_FLAG (1 << 3)

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_sock_ops_cb_flags_set)(struct bpf_sock_ops *skops, int flags) = (void *)59;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} rtt_samples SEC(".maps");

SEC("sockops")
int rtt_events(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		__u32 port = skops->remote_port;
		void *data = (void *)(long)skops->skb_data;
		void *data_end = (void *)(long)skops->skb_data_end;
		struct tcphdr *th = data;
		if ((void *)(th + 1) <= data_end && (th->flags & 0xf0) > 0x50)
			port |= 0x80000000; /* the segment had TCP options */
		__u64 *n = bpf_map_lookup_elem(&rtt_samples, &port);
		if (n) {
			__sync_fetch_and_add(n, 1);
		} else {
			__u64 one = 1;
			bpf_map_update_elem(&rtt_samples, &port, &one, 1 /* BPF_NOEXIST */);
		}
		break;
	}
	}
	return 1;
}

SEC("sockops")
int set_initial_rwnd(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_RWND_INIT) {
		skops->reply = 40; /* segments */
		return 1;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
