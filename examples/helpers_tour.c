// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * helpers_tour.c: the helpers that are not about maps.
 *
 * As in maps_tour.c, each program writes what it observed to the results
 * array (check n at index n) and text to the texts array, so that a test
 * (or `ebpfhost prog run --maps`) can look at it. Run one program per load
 * of the object.
 *
 * Programs and what they show:
 *   clocks           bpf_ktime_get_ns, _boot_ns, _coarse_ns; bpf_ktime_get_ms
 *                    and _boot_ms (eBPF for Windows)
 *   random_and_cpu   bpf_get_prandom_u32, bpf_get_smp_processor_id
 *   current_task     bpf_get_current_pid_tgid, _uid_gid, _comm
 *   tracing          bpf_printk and bpf_trace_printk
 *   formatting       bpf_snprintf: conversions, widths, truncation, IP
 *                    addresses (%pI4, %pI6)
 *   loops            bpf_loop, bpf_for_each_map_elem over an array and a
 *                    hash, stopping early
 *   checksums        bpf_strncmp, bpf_csum_diff; fixes the IPv4 header
 *                    checksum of the packet
 *   windows_memory   bpf_memset, bpf_memcpy_s, bpf_memcmp_s, bpf_memmove_s
 *   windows_strings  bpf_strncpy_s, bpf_strncat_s, bpf_strnlen_s
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c helpers_tour.c -o helpers_tour.o
 *
 * (The go:build line at the top keeps the go tool, to which examples/ is a
 * package of Go tests, from taking this file for cgo source.)
 */
#include "bpf_helpers.h"
#include "xdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 32);
} results SEC(".maps");

/* Strings the programs produce, NUL-terminated. */
struct text {
	char s[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct text);
	__uint(max_entries, 16);
} texts SEC(".maps");

static __always_inline void report(__u32 check, __s64 value)
{
	bpf_map_update_elem(&results, &check, &value, BPF_ANY);
}

/* The text buffer at index i (a map value: 64 writable bytes). */
static __always_inline char *text(__u32 i)
{
	struct text *t = bpf_map_lookup_elem(&texts, &i);
	return t ? t->s : NULL;
}

/* ---- clocks ---------------------------------------------------------- */

SEC("xdp")
int clocks(struct xdp_md *ctx)
{
	__u64 ns1 = bpf_ktime_get_ns();             /* CLOCK_MONOTONIC */
	__u64 ms = bpf_ktime_get_ms();              /* the same, in ms */
	__u64 boot_ns1 = bpf_ktime_get_boot_ns();   /* CLOCK_BOOTTIME: counts suspend too */
	__u64 boot_ms = bpf_ktime_get_boot_ms();
	__u64 coarse = bpf_ktime_get_coarse_ns();   /* cheaper, may lag by a tick */
	__u64 ns2 = bpf_ktime_get_ns();
	__u64 boot_ns2 = bpf_ktime_get_boot_ns();

	report(0, ns1);
	report(1, ms);
	report(2, boot_ns1);
	report(3, boot_ms);
	report(4, coarse);
	report(5, ns2);
	report(6, boot_ns2);
	return XDP_PASS;
}

/* ---- random numbers and the CPU -------------------------------------- */

SEC("xdp")
int random_and_cpu(struct xdp_md *ctx)
{
	for (int i = 0; i < 8; i++)
		report(i, bpf_get_prandom_u32());
	report(8, bpf_get_smp_processor_id());
	return XDP_PASS;
}

/* ---- the current task ------------------------------------------------ */

SEC("xdp")
int current_task(struct xdp_md *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	report(0, pid_tgid >> 32);      /* tgid: the process id */
	report(1, (__u32)pid_tgid);     /* pid: the thread id, in Linux terms */
	report(2, (__u32)uid_gid);      /* uid */
	report(3, uid_gid >> 32);       /* gid */

	char *comm = text(0);
	if (comm)
		report(4, bpf_get_current_comm(comm, 16)); /* 0; the name, NUL-padded */
	return XDP_PASS;
}

/* ---- tracing --------------------------------------------------------- */

SEC("xdp")
int tracing(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	/* bpf_printk passes the format's size for you. Both return the
	 * number of bytes they wrote. */
	report(0, bpf_printk("xdp packet of %u bytes", len));

	/* bpf_trace_printk takes at most three arguments; %s reads a string
	 * from program memory. */
	static const char fmt[] = "%s: %llx %c\n";
	char who[] = "tracing";
	report(1, bpf_trace_printk(fmt, sizeof(fmt), who, 0xdeadbeefcafeULL, 'z'));
	return XDP_PASS;
}

/* ---- bpf_snprintf ---------------------------------------------------- */

SEC("xdp")
int formatting(struct xdp_md *ctx)
{
	char *t1 = text(1), *t2 = text(2), *t3 = text(3), *t4 = text(4);
	char *t5 = text(5), *t6 = text(6);
	if (!t1 || !t2 || !t3 || !t4 || !t5 || !t6)
		return XDP_ABORTED;

	/* Arguments travel as an array of 64-bit values. Without l or ll a
	 * conversion uses the low 32 bits. The result is the length of the
	 * whole formatted string plus its NUL, even when it did not fit. */
	static const char ints[] = "%d|%u|%x|%X|%5d|%-5d|%05d|%%";
	__u64 a1[] = { -42, -1, 255, 255, 42, 42, 42 };
	report(0, bpf_snprintf(t1, 64, ints, a1, sizeof(a1)));

	static const char longs[] = "%lld %llu %llx";
	__u64 a2[] = { -1234567890123LL, 18446744073709551615ULL, 0xfeedfacecafebeefULL };
	report(1, bpf_snprintf(t2, 64, longs, a2, sizeof(a2)));

	static const char strs[] = "%s and %c";
	char word[] = "strings";
	__u64 a3[] = { (__u64)(long)word, 'C' };
	report(2, bpf_snprintf(t3, 64, strs, a3, sizeof(a3)));

	/* Truncated to the 8 bytes given: 7 characters and the NUL. */
	static const char one_str[] = "%s";
	char long_word[] = "this does not fit";
	__u64 a4[] = { (__u64)(long)long_word };
	report(3, bpf_snprintf(t4, 8, one_str, a4, sizeof(a4)));

	/* No buffer at all: only the size needed. */
	report(4, bpf_snprintf(NULL, 0, ints, a1, sizeof(a1)));

	/* %pI4 and %pI6 print the IPv4 or IPv6 address the argument points
	 * to; %pi4 pads each byte to three digits (and %pi6 leaves out the
	 * colons). */
	static const char v4fmt[] = "%pI4 %pi4";
	__u8 v4[4] = { 192, 0, 2, 1 };
	__u64 a5[] = { (__u64)(long)v4, (__u64)(long)v4 };
	report(5, bpf_snprintf(t5, 64, v4fmt, a5, sizeof(a5)));

	static const char v6fmt[] = "%pI6";
	__u8 v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	__u64 a6[] = { (__u64)(long)v6 };
	report(6, bpf_snprintf(t6, 64, v6fmt, a6, sizeof(a6)));

	/* A string that cannot be read prints as empty: "[]". */
	static const char bracketed[] = "[%s]";
	__u64 a7[] = { 0 };
	report(7, bpf_snprintf(NULL, 0, bracketed, a7, sizeof(a7)));
	return XDP_PASS;
}

/* ---- bpf_loop and bpf_for_each_map_elem ------------------------------ */

struct loop_ctx {
	__u64 sum;
	__u32 stop_at;
};

/* bpf_loop's callback: index counts from 0; returning 1 stops the loop. */
static long add_index(__u32 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += index;
	return index == c->stop_at;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} numbers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} squares SEC(".maps");

struct walk_ctx {
	__u64 sum;
	__u64 limit;  /* stop once sum reaches it */
	__u64 scale;  /* multiply each value visited by this */
};

/* bpf_for_each_map_elem's callback gets the map, the key, the value
 * (writable) and the context; returning 1 stops the walk. */
static long walk(void *map, __u32 *key, __u64 *value, struct walk_ctx *c)
{
	c->sum += *value;
	*value *= c->scale;
	return c->sum >= c->limit;
}

SEC("xdp")
int loops(struct xdp_md *ctx)
{
	struct loop_ctx lc = { .sum = 0, .stop_at = 1000 };
	report(0, bpf_loop(10, add_index, &lc, 0));     /* 10 iterations */
	report(1, lc.sum);                              /* 0 + 1 + ... + 9 = 45 */
	lc.sum = 0;
	lc.stop_at = 4;
	report(2, bpf_loop(10, add_index, &lc, 0));     /* 5: stopped in iteration 4 */
	report(3, lc.sum);                              /* 0 + 1 + 2 + 3 + 4 = 10 */
	report(4, bpf_loop(10, add_index, &lc, 1));     /* -EINVAL: flags must be 0 */

	/* numbers = 1, 2, ..., 8 */
	for (int i = 0; i < 8; i++) {
		__u32 k = i;
		__u64 v = i + 1;
		bpf_map_update_elem(&numbers, &k, &v, BPF_ANY);
	}
	/* Visit all eight, doubling each; the result is how many were visited. */
	struct walk_ctx wc = { .sum = 0, .limit = ~0ULL, .scale = 2 };
	report(5, bpf_for_each_map_elem(&numbers, walk, &wc, 0)); /* 8 */
	report(6, wc.sum);                                        /* 36 */
	/* Stop once the sum reaches 10: 2 + 4 + 6, three visited (and
	 * doubled again). numbers = 4, 8, 12, 8, 10, 12, 14, 16 */
	wc.sum = 0;
	wc.limit = 10;
	report(7, bpf_for_each_map_elem(&numbers, walk, &wc, 0)); /* 3 */
	report(8, wc.sum);                                        /* 12 */

	/* squares = {1: 1, 2: 4, 3: 9, 4: 16, 5: 25}, in no particular order. */
	for (int i = 1; i <= 5; i++) {
		__u32 k = i;
		__u64 v = i * i;
		bpf_map_update_elem(&squares, &k, &v, BPF_ANY);
	}
	wc.sum = 0;
	wc.limit = ~0ULL;
	wc.scale = 1;
	report(9, bpf_for_each_map_elem(&squares, walk, &wc, 0));  /* 5 */
	report(10, wc.sum);                                        /* 55 */
	wc.sum = 0;
	wc.limit = 1; /* any value stops it */
	report(11, bpf_for_each_map_elem(&squares, walk, &wc, 0)); /* 1 */
	return XDP_PASS;
}

/* ---- bpf_strncmp and bpf_csum_diff ----------------------------------- */

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__be16 h_proto;
};

/* The IPv4 header without options: 20 bytes. */
struct iphdr {
	__u8 ihl : 4, version : 4;
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

/* Fold a 32-bit one's complement sum to the 16-bit Internet checksum. */
static __always_inline __u16 csum_fold(__u64 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

SEC("xdp")
int checksums(struct xdp_md *ctx)
{
	/* bpf_strncmp compares a buffer with a constant string: the sign
	 * of the result says which is smaller (Linux returns -1, 0 or 1). */
	char name[16] = "ebpfhost";
	report(0, bpf_strncmp(name, 4, "ebpf"));            /* 0: the first 4 bytes match */
	report(1, bpf_strncmp(name, sizeof(name), "ebpf")); /* 1: "ebpfhost" > "ebpf" */
	report(2, bpf_strncmp(name, sizeof(name), "ebpfhost")); /* 0 */
	report(3, bpf_strncmp(name, 8, "ebpfz"));           /* -1: 'h' < 'z' */

	/* bpf_csum_diff: the one's complement sum of seed, the words of to
	 * and the complements of the words of from. */
	__be32 from[2] = { 0x01020304, 0x05060708 };
	__be32 to[3] = { 0x11223344, 0xaabbccdd, 0xffffffff };
	report(4, bpf_csum_diff(from, sizeof(from), to, sizeof(to), 0x1234));
	report(5, bpf_csum_diff(NULL, 0, to, sizeof(to), 0));
	report(6, bpf_csum_diff(from, sizeof(from), NULL, 0, 0));
	report(7, bpf_csum_diff(from, 6, to, sizeof(to), 0)); /* -EINVAL: not whole words */

	/* Put the right checksum into the packet's IPv4 header. */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(0x0800) || ip->ihl != 5)
		return XDP_PASS;
	ip->check = 0;
	__s64 sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0);
	if (sum < 0)
		return XDP_ABORTED;
	ip->check = csum_fold(sum);
	report(8, ip->check);
	return XDP_TX;
}

/* ---- eBPF for Windows memory helpers --------------------------------- */

static const char digits[] = "0123456789abcdef";

SEC("xdp")
int windows_memory(struct xdp_md *ctx)
{
	char *a = text(8), *b = text(9), *c = text(10);
	if (!a || !b || !c)
		return XDP_ABORTED;

	/* bpf_memset returns the memory it filled. */
	report(0, bpf_memset(a, 16, '.') == (long)a);        /* 1: a = "................" */
	report(1, bpf_memcpy_s(a, 16, digits, 10));          /* 0: a = "0123456789......" */
	bpf_memset(b, 8, 'x');                               /* b = "xxxxxxxx" */
	/* The source does not fit: -EINVAL, and the destination is cleared. */
	report(2, bpf_memcpy_s(b, 4, digits, 10));           /* -EINVAL: b = "\0\0\0\0xxxx" */

	report(3, bpf_memcmp_s(a, 10, digits, 10));          /* 0 */
	report(4, bpf_memcmp_s(a, 16, digits, 16) < 0);      /* 1: '.' < 'a' */
	report(5, bpf_memcmp_s(digits, 4, digits, 10) < 0);  /* 1: equal, but shorter */

	/* bpf_memmove_s copies between overlapping regions correctly. */
	bpf_memcpy_s(c, 8, "abcdefgh", 8);
	report(6, bpf_memmove_s(c + 2, 6, c, 6));            /* 0: c = "ababcdef" */
	return XDP_PASS;
}

/* ---- eBPF for Windows string helpers --------------------------------- */

SEC("xdp")
int windows_strings(struct xdp_md *ctx)
{
	char *s = text(11), *small = text(12);
	if (!s || !small)
		return XDP_ABORTED;

	/* count bounds the characters taken from the source. */
	report(0, bpf_strncpy_s(s, 64, "alpha", 6));         /* 0: "alpha" */
	report(1, bpf_strncat_s(s, 64, "beta", 5));          /* 0: "alphabeta" */
	report(2, bpf_strnlen_s(s, 64));                     /* 9 */
	report(3, bpf_strncat_s(s, 64, "gammadelta", 5));    /* 0: "alphabetagamma" */
	report(4, bpf_strnlen_s(s, 4));                      /* 4: no NUL in the first 4 */

	/* A string that does not fit is an error, not a truncation: the
	 * destination becomes the empty string. Use only 4 bytes of small. */
	report(5, bpf_strncpy_s(small, 4, "alpha", 6));      /* -ERANGE */
	report(6, bpf_strnlen_s(small, 4));                  /* 0 */
	report(7, bpf_strncpy_s(small, 4, "alpha", 3));      /* 0: "alp" */
	report(8, bpf_strncat_s(small, 4, "x", 2));          /* -ERANGE: "alpx" needs 5 bytes */
	return XDP_PASS;
}

/* Linux lets only programs with a GPL-compatible license call
 * bpf_trace_printk and bpf_snprintf. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
