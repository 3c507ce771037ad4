// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * xdp_stats.c: traffic statistics and a source blocklist for IPv4.
 *
 * For every Ethernet frame carrying IPv4 the program
 *   - counts packets per IP protocol      (proto_packets, a percpu_array),
 *   - counts bytes per source address     (src_bytes, a hash),
 *   - drops sources on the blocklist      (blocklist, an lpm_trie of
 *                                          prefixes; each entry's value
 *                                          counts the packets it stopped),
 *   - sends a record of the packet to user space (events, a ringbuf).
 * Frames that are not IPv4 pass untouched and are only counted (the .bss
 * variable other_frames). Two constants in .rodata configure it.
 *
 * Every access to the packet is checked against data_end first, as the
 * Linux verifier insists; in ebpfhost's checked mode an access beyond it
 * would stop the program.
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c xdp_stats.c -o xdp_stats.o
 *
 * (The go:build line at the top keeps the go tool, to which examples/ is a
 * package of Go tests, from taking this file for cgo source.)
 */
#include "bpf_helpers.h"
#include "xdp.h"

#define ETH_P_IP 0x0800

/* The headers the program reads, as on the wire. */
struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__be16 h_proto;
};

struct iphdr {
	__u8 ihl : 4, version : 4; /* little-endian bit-field order */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

/*
 * The record sent to user space for each IPv4 packet. Addresses stay in
 * network byte order, as in the header; the rest is in host order.
 */
struct packet_event {
	__be32 saddr;
	__be32 daddr;
	__u32 len;     /* bytes of the frame, Ethernet header included */
	__u8 proto;    /* IP protocol: 1 ICMP, 6 TCP, 17 UDP, ... */
	__u8 verdict;  /* XDP_PASS or XDP_DROP */
	__u16 pad;
};

/* An IPv4 prefix, the key of the blocklist: prefixlen bits of addr count. */
struct ipv4_prefix {
	__u32 prefixlen;
	__be32 addr;
};

/* Packets per IP protocol (the key), one counter per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} proto_packets SEC(".maps");

/* Bytes per source address (network byte order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} src_bytes SEC(".maps");

/* Blocked source prefixes; the value counts the packets each one dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipv4_prefix);
	__type(value, __u64);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* Linux requires it for tries */
} blocklist SEC(".maps");

/* One struct packet_event per IPv4 packet. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/*
 * Configuration (.rodata). A loader that rewrites constants before loading
 * can change these; ebpfhost loads them as compiled and freezes them.
 */
const volatile __u32 blocked_verdict = XDP_DROP; /* XDP_PASS: count, don't drop */
const volatile __u8 send_events = 1;             /* 0: no ring buffer records */

/* Frames that are not IPv4 (.bss). */
__u64 other_frames;

/* Add len to the byte count of saddr, creating the entry on first sight. */
static __always_inline void count_bytes(__be32 saddr, __u64 len)
{
	__u64 *bytes = bpf_map_lookup_elem(&src_bytes, &saddr);
	if (bytes) {
		/* Other CPUs may count the same source at the same time. */
		__sync_fetch_and_add(bytes, len);
		return;
	}
	/* BPF_NOEXIST: if another CPU created it meanwhile, add to that one. */
	if (bpf_map_update_elem(&src_bytes, &saddr, &len, BPF_NOEXIST) != 0) {
		bytes = bpf_map_lookup_elem(&src_bytes, &saddr);
		if (bytes)
			__sync_fetch_and_add(bytes, len);
	}
}

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto other;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
		goto other;

	__u32 len = data_end - data;
	__u32 proto = ip->protocol;
	__be32 saddr = ip->saddr;

	/* A per-CPU counter needs no atomic: only this CPU writes its slot. */
	__u64 *packets = bpf_map_lookup_elem(&proto_packets, &proto);
	if (packets)
		*packets += 1;

	count_bytes(saddr, len);

	/* Longest-prefix match of the source against the blocklist. */
	__u32 verdict = XDP_PASS;
	struct ipv4_prefix key = { .prefixlen = 32, .addr = saddr };
	__u64 *hits = bpf_map_lookup_elem(&blocklist, &key);
	if (hits) {
		__sync_fetch_and_add(hits, 1);
		verdict = blocked_verdict;
	}

	if (send_events) {
		struct packet_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->saddr = saddr;
			e->daddr = ip->daddr;
			e->len = len;
			e->proto = proto;
			e->verdict = verdict;
			e->pad = 0;
			bpf_ringbuf_submit(e, 0);
		}
	}
	return verdict;

other:
	__sync_fetch_and_add(&other_frames, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "MIT";
