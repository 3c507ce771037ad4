/* SPDX-License-Identifier: MIT */
/*
 * bpf_helpers.h: everything an eBPF program for ebpfhost needs, in one
 * self-contained header (no libbpf-dev, no kernel headers).
 *
 * Programs written against libbpf's bpf_helpers.h compile unchanged: the
 * map definition macros (SEC, __uint, __type, __array), the map types and
 * flags, and the general helpers use Linux's names and numbers. ebpfhost
 * also provides the general helpers of eBPF for Windows (bpf_memcpy_s, ...)
 * in a block of ids Linux will not reach: EBPFHOST_WINDOWS_HELPER_BASE plus
 * their Windows numbers.
 *
 * Build:  clang -O2 -g -target bpf -I include -c prog.c -o prog.o
 */
#ifndef EBPFHOST_BPF_HELPERS_H
#define EBPFHOST_BPF_HELPERS_H

/* Fixed-size types, as Linux's <linux/types.h> names them. */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

#ifndef NULL
#define NULL ((void *)0)
#endif

/* Sections and map definitions (BTF-defined maps, as libbpf). */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name
#define ___bpf_concat(a, b) a##b

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif

/* Map types (enum bpf_map_type). */
enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC = 0,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BPF_MAP_TYPE_LPM_TRIE = 11,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPF_MAP_TYPE_HASH_OF_MAPS = 13,
	BPF_MAP_TYPE_QUEUE = 22,
	BPF_MAP_TYPE_STACK = 23,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* Update flags. */
enum {
	BPF_ANY = 0,     /* create or replace */
	BPF_NOEXIST = 1, /* create only */
	BPF_EXIST = 2,   /* replace only; for queues and stacks: overwrite the oldest when full */
};

/* Map creation flags. */
enum {
	BPF_F_NO_PREALLOC = (1U << 0),
	BPF_F_RDONLY_PROG = (1U << 7),
	BPF_F_WRONLY_PROG = (1U << 8),
};

/* Ring buffer flags and queries. */
enum {
	BPF_RB_NO_WAKEUP = (1ULL << 0),
	BPF_RB_FORCE_WAKEUP = (1ULL << 1),
};
enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

/* Pinning of BTF-defined maps. */
enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME,
};

/* The key of LPM trie maps: a prefix length followed by the data. */
struct bpf_lpm_trie_key {
	__u32 prefixlen;
	__u8 data[0];
};

/*
 * General helpers, with Linux's ids (enum bpf_func_id).
 */
static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (* const bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (* const bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (* const bpf_ktime_get_ns)(void) = (void *)5;
static long (* const bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
static __u32 (* const bpf_get_prandom_u32)(void) = (void *)7;
static __u32 (* const bpf_get_smp_processor_id)(void) = (void *)8;
static long (* const bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *)12;
static __u64 (* const bpf_get_current_pid_tgid)(void) = (void *)14;
static __u64 (* const bpf_get_current_uid_gid)(void) = (void *)15;
static long (* const bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *)16;
static __s64 (* const bpf_csum_diff)(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed) = (void *)28;
static long (* const bpf_map_push_elem)(void *map, const void *value, __u64 flags) = (void *)87;
static long (* const bpf_map_pop_elem)(void *map, void *value) = (void *)88;
static long (* const bpf_map_peek_elem)(void *map, void *value) = (void *)89;
static __u64 (* const bpf_ktime_get_boot_ns)(void) = (void *)125;
static long (* const bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static void *(* const bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (* const bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static void (* const bpf_ringbuf_discard)(void *data, __u64 flags) = (void *)133;
static __u64 (* const bpf_ringbuf_query)(void *ringbuf, __u64 flags) = (void *)134;
static __u64 (* const bpf_ktime_get_coarse_ns)(void) = (void *)160;
static long (* const bpf_for_each_map_elem)(void *map, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)164;
static long (* const bpf_snprintf)(char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len) = (void *)165;
static long (* const bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;
static long (* const bpf_strncmp)(const char *s1, __u32 s1_sz, const char *s2) = (void *)182;
static void *(* const bpf_map_lookup_percpu_elem)(void *map, const void *key, __u32 cpu) = (void *)195;

/*
 * General helpers of eBPF for Windows: id = EBPFHOST_WINDOWS_HELPER_BASE +
 * the helper's number in eBPF for Windows (ebpf_structs.h).
 */
#define EBPFHOST_WINDOWS_HELPER_BASE 0x8000
static long (* const bpf_memcpy_s)(void *dest, __u64 dest_size, const void *src, __u64 src_size) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 22);
static int (* const bpf_memcmp_s)(const void *mem1, __u64 mem1_size, const void *mem2, __u64 mem2_size) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 23);
static long (* const bpf_memset)(void *mem, __u64 size, int value) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 24);
static long (* const bpf_memmove_s)(void *dest, __u64 dest_size, const void *src, __u64 src_size) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 25);
static int (* const bpf_strncpy_s)(char *dest, __u64 dest_size, const char *src, __u64 count) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 27);
static int (* const bpf_strncat_s)(char *dest, __u64 dest_size, const char *src, __u64 count) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 28);
static __u64 (* const bpf_strnlen_s)(const char *str, __u64 str_size) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 29);
static __u64 (* const bpf_ktime_get_boot_ms)(void) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 30);
static __u64 (* const bpf_ktime_get_ms)(void) = (void *)(EBPFHOST_WINDOWS_HELPER_BASE + 31);

/* bpf_printk("fmt", args...): bpf_trace_printk with the format's size. */
#define bpf_printk(fmt, ...)                                          \
	({                                                            \
		static const char ____fmt[] = fmt;                    \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__); \
	})

/* The license of the object, e.g. char LICENSE[] SEC("license") = "GPL"; */

#endif /* EBPFHOST_BPF_HELPERS_H */
