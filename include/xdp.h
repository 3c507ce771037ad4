/* SPDX-License-Identifier: MIT */
/*
 * xdp.h: the context and verdicts of xdp programs, laid out as Linux's
 * <linux/bpf.h> does, so that the same object runs in ebpfhost and in the
 * Linux kernel. Section: SEC("xdp").
 */
#ifndef EBPFHOST_XDP_H
#define EBPFHOST_XDP_H

#include "bpf_helpers.h"

/* data, data_end and data_meta are 32-bit: cast with (void *)(long)ctx->data. */
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP,
	XDP_PASS,
	XDP_TX,
	XDP_REDIRECT,
};

/* Byte order helpers for packet fields (the host is little-endian). */
#define bpf_htons(x) __builtin_bswap16(x)
#define bpf_ntohs(x) __builtin_bswap16(x)
#define bpf_htonl(x) __builtin_bswap32(x)
#define bpf_ntohl(x) __builtin_bswap32(x)

#endif /* EBPFHOST_XDP_H */
