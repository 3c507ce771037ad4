// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * maps_tour.c: every map type, used from the program side.
 *
 * Each program below exercises one map type (or two related ones) and
 * reports what each helper call returned by writing it to the results
 * array: check n of a program goes to results[n], so run one program per
 * load of the object (the tests do, and so does `ebpfhost prog run`).
 * Helpers return 0 or a negative errno, as in Linux:
 *   -2 ENOENT, -7 E2BIG, -17 EEXIST, -22 EINVAL.
 *
 * Programs and what they show:
 *   hash_ops             hash: BPF_NOEXIST / BPF_EXIST / BPF_ANY, lookup,
 *                        delete, a full map, an unknown flag
 *   percpu_hash_ops      percpu_hash: each CPU has its own value
 *   lru_ops              lru_hash: a full map evicts the least recently used
 *   lru_percpu_ops       lru_percpu_hash: the same, with per-CPU values
 *   array_ops            array: fixed indices, no delete
 *   percpu_array_ops     percpu_array: counters without atomics
 *   percpu_lookup        bpf_map_lookup_percpu_elem: read every CPU's value
 *   lpm_ops              lpm_trie: longest-prefix match of IPv4 addresses
 *   queue_ops            queue: FIFO push/pop/peek, full and empty
 *   stack_ops            stack: LIFO push/pop/peek, full and empty
 *   ringbuf_ops          ringbuf: reserve/submit, reserve/discard, output,
 *                        query
 *   tail_call_ops        prog_array: bpf_tail_call to an empty slot, past
 *                        the end, and into tail_target
 *   map_in_map_ops       array_of_maps and hash_of_maps: find an inner map,
 *                        then use it
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c maps_tour.c -o maps_tour.o
 *
 * (The go:build line at the top keeps the go tool, to which examples/ is a
 * package of Go tests, from taking this file for cgo source.)
 */
#include "bpf_helpers.h"
#include "xdp.h"

/* What the programs observed: check n at index n. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 32);
} results SEC(".maps");

static __always_inline void report(__u32 check, __s64 value)
{
	bpf_map_update_elem(&results, &check, &value, BPF_ANY);
}

/* ---- hash ------------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} hash_map SEC(".maps");

SEC("xdp")
int hash_ops(struct xdp_md *ctx)
{
	__u32 key = 1, other = 2, missing = 9;
	__u64 value;

	value = 100;
	report(0, bpf_map_update_elem(&hash_map, &key, &value, BPF_NOEXIST));   /* 0: created */
	value = 101;
	report(1, bpf_map_update_elem(&hash_map, &key, &value, BPF_NOEXIST));   /* -EEXIST */
	value = 102;
	report(2, bpf_map_update_elem(&hash_map, &key, &value, BPF_EXIST));     /* 0: replaced */
	value = 200;
	report(3, bpf_map_update_elem(&hash_map, &other, &value, BPF_EXIST));   /* -ENOENT */
	report(4, bpf_map_update_elem(&hash_map, &other, &value, BPF_ANY));     /* 0: created */

	/* A lookup returns a pointer to the value stored in the map. */
	__u64 *v = bpf_map_lookup_elem(&hash_map, &key);
	report(5, v ? *v : -1);                                                /* 102 */
	if (v)
		*v += 1; /* changes the map: user space reads 103 */
	report(6, bpf_map_lookup_elem(&hash_map, &missing) != NULL);           /* 0 */

	report(7, bpf_map_delete_elem(&hash_map, &other));                     /* 0 */
	report(8, bpf_map_delete_elem(&hash_map, &other));                     /* -ENOENT */

	/* max_entries is 4: keys 3, 4 and 5 join key 1, key 6 does not fit. */
	for (int i = 0; i < 4; i++) {
		__u32 k = 3 + i;
		value = k * 100;
		report(9 + i, bpf_map_update_elem(&hash_map, &k, &value, BPF_ANY)); /* 0 0 0 -E2BIG */
	}
	report(13, bpf_map_update_elem(&hash_map, &key, &value, 4));            /* -EINVAL: no such flag */
	return XDP_PASS;
}

/* ---- percpu_hash ----------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} percpu_hash_map SEC(".maps");

SEC("xdp")
int percpu_hash_ops(struct xdp_md *ctx)
{
	__u32 key = 7, cpu = bpf_get_smp_processor_id();
	__u64 one = 1;

	report(0, cpu);
	/* A new key gets this value on this CPU and zero on the others. */
	report(1, bpf_map_update_elem(&percpu_hash_map, &key, &one, BPF_NOEXIST)); /* 0 */
	/* Lookups see this CPU's value. */
	__u64 *v = bpf_map_lookup_elem(&percpu_hash_map, &key);
	if (v)
		*v += 10;
	report(2, v ? *v : -1);                                                   /* 11 */
	/* bpf_map_lookup_percpu_elem picks the CPU: here our own. */
	__u64 *mine = bpf_map_lookup_percpu_elem(&percpu_hash_map, &key, cpu);
	report(3, mine ? *mine : -1);                                             /* 11 */
	return XDP_PASS;
}

/* ---- lru_hash -------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} lru_map SEC(".maps");

SEC("xdp")
int lru_ops(struct xdp_md *ctx)
{
	__u64 value;

	/* Fill the map: keys 1 to 4. */
	for (int i = 0; i < 4; i++) {
		__u32 k = i + 1;
		value = k * 10;
		report(i, bpf_map_update_elem(&lru_map, &k, &value, BPF_NOEXIST)); /* 0 0 0 0 */
	}
	/* Use keys 1, 3 and 4, so that key 2 is the least recently used. */
	__u32 k1 = 1, k2 = 2, k3 = 3, k4 = 4, k5 = 5;
	bpf_map_lookup_elem(&lru_map, &k1);
	bpf_map_lookup_elem(&lru_map, &k3);
	bpf_map_lookup_elem(&lru_map, &k4);

	/* A fifth key does not fail with -E2BIG as in a hash: it evicts key 2. */
	value = 50;
	report(4, bpf_map_update_elem(&lru_map, &k5, &value, BPF_NOEXIST));     /* 0 */
	report(5, bpf_map_lookup_elem(&lru_map, &k2) != NULL);                   /* 0: evicted */
	__u64 *v = bpf_map_lookup_elem(&lru_map, &k5);
	report(6, v ? *v : -1);                                                  /* 50 */
	return XDP_PASS;
}

/* ---- lru_percpu_hash ------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} lru_percpu_map SEC(".maps");

SEC("xdp")
int lru_percpu_ops(struct xdp_md *ctx)
{
	__u64 value;

	for (int i = 0; i < 4; i++) {
		__u32 k = i + 1;
		value = k;
		report(i, bpf_map_update_elem(&lru_percpu_map, &k, &value, BPF_ANY)); /* 0 0 0 0 */
	}
	/* This time key 1 is left out. */
	__u32 k1 = 1, k2 = 2, k3 = 3, k4 = 4, k5 = 5;
	bpf_map_lookup_elem(&lru_percpu_map, &k2);
	bpf_map_lookup_elem(&lru_percpu_map, &k3);
	bpf_map_lookup_elem(&lru_percpu_map, &k4);
	value = 5;
	report(4, bpf_map_update_elem(&lru_percpu_map, &k5, &value, BPF_ANY));    /* 0 */
	report(5, bpf_map_lookup_elem(&lru_percpu_map, &k1) != NULL);             /* 0: evicted */
	report(6, bpf_get_smp_processor_id());
	return XDP_PASS;
}

/* ---- array ----------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} array_map SEC(".maps");

SEC("xdp")
int array_ops(struct xdp_md *ctx)
{
	__u32 i1 = 1, i2 = 2, i3 = 3, past_end = 8;
	__u64 value = 42;

	/* Every index exists from the start, holding zeros. */
	__u64 *v = bpf_map_lookup_elem(&array_map, &i3);
	report(0, v ? *v : -1);                                                  /* 0 */
	if (v)
		*v = 33;
	report(1, bpf_map_update_elem(&array_map, &i2, &value, BPF_ANY));       /* 0 */
	report(2, bpf_map_update_elem(&array_map, &i1, &value, BPF_NOEXIST));   /* -EEXIST: it always exists */
	value = 11;
	report(3, bpf_map_update_elem(&array_map, &i1, &value, BPF_EXIST));     /* 0 */
	report(4, bpf_map_update_elem(&array_map, &past_end, &value, BPF_ANY)); /* -E2BIG */
	report(5, bpf_map_lookup_elem(&array_map, &past_end) != NULL);          /* 0 */
	report(6, bpf_map_delete_elem(&array_map, &i1));                        /* -EINVAL: no deleting */
	return XDP_PASS;
}

/* ---- percpu_array and bpf_map_lookup_percpu_elem ---------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} percpu_array_map SEC(".maps");

/* Count packets (index 0) and bytes (index 1) on this CPU. */
SEC("xdp")
int percpu_array_ops(struct xdp_md *ctx)
{
	__u32 packets_idx = 0, bytes_idx = 1;

	/* Only this CPU writes its slot: no atomics needed. */
	__u64 *packets = bpf_map_lookup_elem(&percpu_array_map, &packets_idx);
	if (packets)
		*packets += 1;
	__u64 *bytes = bpf_map_lookup_elem(&percpu_array_map, &bytes_idx);
	if (bytes)
		*bytes += ctx->data_end - ctx->data;
	report(0, bpf_get_smp_processor_id());
	return XDP_PASS;
}

/* Sum index 3, which user space filled in, over all CPUs. (Only per-CPU
 * maps may be given to bpf_map_lookup_percpu_elem.) */
SEC("xdp")
int percpu_lookup(struct xdp_md *ctx)
{
	__u32 idx = 3;
	__u64 sum = 0;
	__u32 cpus = 0;

	for (__u32 cpu = 0; cpu < 64; cpu++) {
		__u64 *v = bpf_map_lookup_percpu_elem(&percpu_array_map, &idx, cpu);
		if (!v)
			break; /* no such CPU */
		sum += *v;
		cpus++;
	}
	report(0, cpus);
	report(1, sum);
	return XDP_PASS;
}

/* ---- lpm_trie -------------------------------------------------------- */

/* LPM keys start with the prefix length in bits; the data follows. */
struct ipv4_lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipv4_lpm_key);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lpm_map SEC(".maps");

static __always_inline long lpm_add(__u32 prefixlen, __u8 a, __u8 b, __u8 c, __u8 d, __u32 value)
{
	struct ipv4_lpm_key key = { prefixlen, { a, b, c, d } };
	return bpf_map_update_elem(&lpm_map, &key, &value, BPF_ANY);
}

/* The value of the longest prefix that matches a.b.c.d, or -1. */
static __always_inline __s64 lpm_match(__u8 a, __u8 b, __u8 c, __u8 d)
{
	struct ipv4_lpm_key key = { 32, { a, b, c, d } };
	__u32 *v = bpf_map_lookup_elem(&lpm_map, &key);
	return v ? (__s64)*v : -1;
}

SEC("xdp")
int lpm_ops(struct xdp_md *ctx)
{
	report(0, lpm_add(8, 10, 0, 0, 0, 1));   /* 10.0.0.0/8 -> 1 */
	report(1, lpm_add(16, 10, 1, 0, 0, 2));  /* 10.1.0.0/16 -> 2 */
	report(2, lpm_add(24, 10, 1, 2, 0, 3));  /* 10.1.2.0/24 -> 3 */
	report(3, lpm_match(10, 1, 2, 3));       /* 3 */
	report(4, lpm_match(10, 1, 9, 9));       /* 2 */
	report(5, lpm_match(10, 9, 9, 9));       /* 1 */
	report(6, lpm_match(11, 0, 0, 1));       /* -1: no prefix matches */

	struct ipv4_lpm_key k16 = { 16, { 10, 1, 0, 0 } };
	report(7, bpf_map_delete_elem(&lpm_map, &k16)); /* 0 */
	report(8, lpm_match(10, 1, 9, 9));              /* 1: now the /8 */
	report(9, bpf_map_delete_elem(&lpm_map, &k16)); /* -ENOENT */
	report(10, lpm_add(33, 10, 0, 0, 0, 9));        /* -EINVAL: longer than the key */
	return XDP_PASS;
}

/* ---- queue and stack ------------------------------------------------- */

/* Queues and stacks have no keys: only a value type. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 3);
} queue_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__type(value, __u32);
	__uint(max_entries, 3);
} stack_map SEC(".maps");

/* Reports the value popped (or peeked), or the error. */
static __always_inline __s64 pop(void *map)
{
	__u32 v;
	long err = bpf_map_pop_elem(map, &v);
	return err ? err : v;
}

static __always_inline __s64 peek(void *map)
{
	__u32 v;
	long err = bpf_map_peek_elem(map, &v);
	return err ? err : v;
}

static __always_inline long push(void *map, __u32 v, __u64 flags)
{
	return bpf_map_push_elem(map, &v, flags);
}

SEC("xdp")
int queue_ops(struct xdp_md *ctx)
{
	report(0, push(&queue_map, 1, BPF_ANY));   /* 0 */
	report(1, push(&queue_map, 2, BPF_ANY));   /* 0 */
	report(2, push(&queue_map, 3, BPF_ANY));   /* 0 */
	report(3, push(&queue_map, 4, BPF_ANY));   /* -E2BIG: full */
	report(4, push(&queue_map, 4, BPF_EXIST)); /* 0: drops the oldest (1) */
	report(5, peek(&queue_map));               /* 2: the oldest, still there */
	report(6, pop(&queue_map));                /* 2 */
	report(7, pop(&queue_map));                /* 3 */
	report(8, pop(&queue_map));                /* 4 */
	report(9, pop(&queue_map));                /* -ENOENT: empty */
	report(10, peek(&queue_map));              /* -ENOENT */
	report(11, push(&queue_map, 5, BPF_NOEXIST)); /* -EINVAL */
	/* Leave 10, 20 for user space. */
	push(&queue_map, 10, BPF_ANY);
	push(&queue_map, 20, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int stack_ops(struct xdp_md *ctx)
{
	report(0, push(&stack_map, 1, BPF_ANY));   /* 0 */
	report(1, push(&stack_map, 2, BPF_ANY));   /* 0 */
	report(2, push(&stack_map, 3, BPF_ANY));   /* 0 */
	report(3, push(&stack_map, 4, BPF_ANY));   /* -E2BIG: full */
	report(4, push(&stack_map, 4, BPF_EXIST)); /* 0: drops the oldest, the bottom (1) */
	report(5, peek(&stack_map));               /* 4: the newest */
	report(6, pop(&stack_map));                /* 4 */
	report(7, pop(&stack_map));                /* 3 */
	report(8, pop(&stack_map));                /* 2 */
	report(9, pop(&stack_map));                /* -ENOENT: empty */
	report(10, peek(&stack_map));              /* -ENOENT */
	report(11, push(&stack_map, 5, BPF_NOEXIST)); /* -EINVAL */
	push(&stack_map, 10, BPF_ANY);
	push(&stack_map, 20, BPF_ANY);
	return XDP_PASS;
}

/* ---- ringbuf --------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* bytes: a power of two, at least a page */
} ringbuf_map SEC(".maps");

struct record {
	__u32 kind;  /* 1 reserved and submitted, 2 discarded, 3 output */
	__u32 len;   /* packet length */
	__u64 value;
};

SEC("xdp")
int ringbuf_ops(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	/* Reserve, fill in place, submit: the reader gets it. */
	struct record *r = bpf_ringbuf_reserve(&ringbuf_map, sizeof(*r), 0);
	if (!r)
		return XDP_ABORTED;
	r->kind = 1;
	r->len = len;
	r->value = 111;
	bpf_ringbuf_submit(r, 0);

	/* Reserve and discard: the reader never sees it. */
	r = bpf_ringbuf_reserve(&ringbuf_map, sizeof(*r), 0);
	if (!r)
		return XDP_ABORTED;
	r->kind = 2;
	bpf_ringbuf_discard(r, 0);

	/* Output: copy a record from the stack. */
	struct record out = { .kind = 3, .len = len, .value = 333 };
	report(0, bpf_ringbuf_output(&ringbuf_map, &out, sizeof(out), 0));   /* 0 */

	/* Positions count bytes: each record takes an 8-byte header plus its
	 * data rounded up to 8, until the reader consumes it. */
	report(1, bpf_ringbuf_query(&ringbuf_map, BPF_RB_AVAIL_DATA));        /* 72 */
	report(2, bpf_ringbuf_query(&ringbuf_map, BPF_RB_RING_SIZE));         /* 4096 */
	report(3, bpf_ringbuf_query(&ringbuf_map, BPF_RB_PROD_POS));          /* 72 */
	report(4, bpf_ringbuf_query(&ringbuf_map, BPF_RB_CONS_POS));          /* 0 */

	/* A record larger than the ring can never be reserved. */
	void *big = bpf_ringbuf_reserve(&ringbuf_map, 8192, 0);
	report(5, big != NULL);                                              /* 0 */
	if (big)
		bpf_ringbuf_discard(big, 0);
	return XDP_PASS;
}

/* ---- prog_array and bpf_tail_call ------------------------------------ */

int tail_target(struct xdp_md *ctx);

/* Slot 1 holds tail_target from the start; the others are empty. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 4);
	__array(values, int(struct xdp_md *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("xdp")
int tail_call_ops(struct xdp_md *ctx)
{
	report(0, 1);
	/* Slot 0 is empty: the call fails and the program goes on. */
	bpf_tail_call(ctx, &jump_table, 0);
	report(1, 1);
	/* So does an index past the end of the table. */
	bpf_tail_call(ctx, &jump_table, 10);
	report(2, 1);
	/* Slot 1: tail_target replaces this program, and its return value
	 * is the verdict. Nothing below runs. */
	bpf_tail_call(ctx, &jump_table, 1);
	report(3, 1);
	return XDP_ABORTED;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	/* The context is the caller's. */
	report(4, ctx->data_end - ctx->data);
	return XDP_TX;
}

/* What the tests put into slot 0 from user space. */
SEC("xdp")
int tail_drop(struct xdp_md *ctx)
{
	report(5, 1);
	return XDP_DROP;
}

/* ---- array_of_maps and hash_of_maps ---------------------------------- */

/* Inner maps: every map stored in an outer map matches its template. */
struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
};
struct inner_array inner_array_a SEC(".maps"), inner_array_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 4);
	__array(values, struct inner_array);
} array_of_maps SEC(".maps") = {
	.values = { [0] = &inner_array_a, [1] = &inner_array_b },
};

struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
};
struct inner_hash inner_hash_x SEC(".maps"), inner_hash_y SEC(".maps");

/* For a hash of maps the initial entries' indices are the keys. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 8);
	__array(values, struct inner_hash);
} hash_of_maps SEC(".maps") = {
	.values = { [3] = &inner_hash_x, [5] = &inner_hash_y },
};

SEC("xdp")
int map_in_map_ops(struct xdp_md *ctx)
{
	__u32 slot = 1, idx = 2, idx3 = 3;

	/* The outer lookup yields the inner map... */
	void *inner = bpf_map_lookup_elem(&array_of_maps, &slot);
	if (!inner)
		return XDP_ABORTED;
	/* ...which the map helpers take like any map. */
	__u64 *v = bpf_map_lookup_elem(inner, &idx);
	if (!v)
		return XDP_ABORTED;
	*v += 5;
	__u64 x = 77;
	report(0, bpf_map_update_elem(inner, &idx3, &x, BPF_ANY));             /* 0 */
	slot = 2;
	report(1, bpf_map_lookup_elem(&array_of_maps, &slot) != NULL);         /* 0: empty slot */

	__u32 hkey = 5, k = 10;
	void *h = bpf_map_lookup_elem(&hash_of_maps, &hkey);
	if (!h)
		return XDP_ABORTED;
	x = 1000;
	report(2, bpf_map_update_elem(h, &k, &x, BPF_NOEXIST));                /* 0 */
	__u64 *hv = bpf_map_lookup_elem(h, &k);
	report(3, hv ? *hv : -1);                                              /* 1000 */
	hkey = 4;
	report(4, bpf_map_lookup_elem(&hash_of_maps, &hkey) != NULL);          /* 0: no key 4 */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "MIT";
