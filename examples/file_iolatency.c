// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * file_iolatency.c: the latency of filesystem operations, as a log2
 * histogram per operation (bcc's biolatency, for files).
 * `ebpfhost iolatency` runs it (embedded in the binary).
 *
 * Two programs share the work: iolat_pre, before each operation
 * (SEC("file/pre")), stores the operation's timestamp under its
 * correlation id, the id its pre and post events share; iolat_post, after
 * it (SEC("file/post")), looks the start up, deletes it, and adds the
 * difference to
 *
 *   - iolat_hist: slot log2(latency) of the operation, at key
 *     operation * 64 + slot; slot s counts latencies in [2^(s-1), 2^s)
 *     units, slot 1 also 0 (bcc's bpf_log2l: 0 and 1 go to slot 1, 2-3 to
 *     slot 2, 4-7 to slot 3, ...);
 *   - iolat_totals: count and sum of latencies (ns) per operation.
 *
 * The unit is iolat_config's divisor: 1000 (the default, also for 0)
 * counts microseconds, 1 nanoseconds, 1000000 milliseconds.
 *
 * Several CPUs may count one slot at once, hence the atomic adds. Starts
 * live in an LRU hash, so operations whose post never comes (refused by
 * another program, a source that lost it) cannot fill it up.
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c file_iolatency.c -o file_iolatency.o
 */
#include "bpf_helpers.h"
#include "file.h"

#define MAX_OP 12
#define SLOTS 64

struct iolat_totals {
	__u64 count;
	__u64 total_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64); /* divisor: ns per unit */
	__uint(max_entries, 1);
} iolat_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);   /* correlation id */
	__type(value, __u64); /* timestamp of the pre event */
	__uint(max_entries, 65536);
} iolat_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, (MAX_OP + 1) * SLOTS);
} iolat_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct iolat_totals);
	__uint(max_entries, MAX_OP + 1);
} iolat_totals SEC(".maps");

/* bcc's bpf_log2: the index of the highest bit set of a 32-bit value. */
static __u32 log2_32(__u32 v)
{
	__u32 r, shift;
	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* bcc's bpf_log2l: 1 + the index of the highest bit, 1 for 0. */
static __u32 log2l(__u64 v)
{
	__u32 hi = v >> 32;
	if (hi)
		return log2_32(hi) + 32 + 1;
	return log2_32(v) + 1;
}

SEC("file/pre")
int iolat_pre(file_md_t *ctx)
{
	__u64 id = ctx->correlation_id;
	__u64 ts = ctx->timestamp_ns;
	bpf_map_update_elem(&iolat_start, &id, &ts, BPF_ANY);
	return 0;
}

SEC("file/post")
int iolat_post(file_md_t *ctx)
{
	__u64 id = ctx->correlation_id;
	__u64 *start = bpf_map_lookup_elem(&iolat_start, &id);
	if (!start)
		return 0;
	__u64 begin = *start;
	bpf_map_delete_elem(&iolat_start, &id);
	__u64 now = ctx->timestamp_ns;
	__u64 ns = now > begin ? now - begin : 0;

	__u32 op = ctx->operation;
	if (op > MAX_OP)
		return 0;

	__u32 zero = 0;
	__u64 div = 1000;
	__u64 *cfg = bpf_map_lookup_elem(&iolat_config, &zero);
	if (cfg && *cfg)
		div = *cfg;

	__u32 slot = log2l(ns / div);
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	__u32 key = op * SLOTS + slot;
	__u64 *n = bpf_map_lookup_elem(&iolat_hist, &key);
	if (n)
		__sync_fetch_and_add(n, 1);

	struct iolat_totals *t = bpf_map_lookup_elem(&iolat_totals, &op);
	if (t) {
		__sync_fetch_and_add(&t->count, 1);
		__sync_fetch_and_add(&t->total_ns, ns);
	}
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
