/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * kernel.h: the little of the kernel that process.c needs, so the program
 * builds with nothing but clang (no libbpf-dev, no kernel headers, no
 * generated vmlinux.h).
 *
 * The structures below are partial on purpose. Each is marked
 * preserve_access_index, so clang records every field access as a CO-RE
 * relocation (by field name) instead of a fixed offset; the loader (cilium/ebpf)
 * then rewrites the offsets from the running kernel's BTF. Fields may
 * therefore be listed in any order, and fields that moved into anonymous
 * unions or structs in some kernel (file.f_path, everything in mm_struct) are
 * still found. Only the names and the kinds of the types must match.
 */
#ifndef EBPFHOST_TRACEPOINT_KERNEL_H
#define EBPFHOST_TRACEPOINT_KERNEL_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

#define NULL ((void *)0)
#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* BTF-defined maps, spelled as libbpf spells them. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

/* Helpers, by their stable Linux numbers. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)115;
static __u64 (*bpf_ktime_get_boot_ns)(void) = (void *)125;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;

/*
 * READ(p, field) reads p->field from kernel memory, relocated by CO-RE: the
 * address is computed under preserve_access_index and the value copied with
 * bpf_probe_read_kernel, which raw tracepoint programs need because their
 * arguments are untyped. On a fault the helper zeroes the destination, so
 * the result is zero; there is deliberately no branch on the helper's
 * result, which would double the paths the verifier walks at every read.
 */
#define READ(p, field)                                                                        \
	({                                                                                    \
		typeof((p)->field) __v;                                                       \
		bpf_probe_read_kernel(&__v, sizeof(__v), __builtin_preserve_access_index(&(p)->field)); \
		__v;                                                                          \
	})

/* Byte offset of field in type in the running kernel (CO-RE). */
#define FIELD_OFFSET(type, field) __builtin_preserve_field_info(((type *)0)->field, 0 /* BPF_FIELD_BYTE_OFFSET */)

/* The context of a raw tracepoint program: the tracepoint's TP_PROTO arguments. */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#define PRESERVE __attribute__((preserve_access_index))

typedef struct {
	int counter;
} PRESERVE atomic_t;

typedef struct {
	__u32 val;
} PRESERVE kuid_t;

struct cred {
	kuid_t uid; /* real user id */
} PRESERVE;

struct qstr {
	const unsigned char *name;
} PRESERVE;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} PRESERVE;

struct vfsmount {
	struct dentry *mnt_root;
} PRESERVE;

/* fs/mount.h: the mount a vfsmount is embedded in. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} PRESERVE;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} PRESERVE;

struct file {
	struct path f_path;
} PRESERVE;

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
} PRESERVE;

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
} PRESERVE;

/* include/linux/sched/signal.h; a #define, so not in BTF. Stable since 5.17
 * (and the same bit before that). */
#define SIGNAL_GROUP_EXIT 0x00000004

struct task_struct {
	int pid;  /* thread id */
	int tgid; /* process id */
	int exit_code;
	__u64 start_time;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct cred *real_cred; /* const in the kernel */
	struct mm_struct *mm;
	struct signal_struct *signal;
} PRESERVE;

struct linux_binprm {
	struct file *file;
	const char *filename;
} PRESERVE;

#endif
