/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * kernel.h: the little of the kernel that file.c needs, so that it builds
 * with clang alone (no libbpf-dev, no kernel headers, no vmlinux.h).
 *
 * The structures are partial and marked preserve_access_index: clang
 * records each field access as a CO-RE relocation by name, and the loader
 * (cilium/ebpf) rewrites the offsets from the running kernel's BTF, also
 * for fields that sit in anonymous unions (file.f_path, dentry.d_name,
 * pt_regs.cs on kernels with FRED). Only names and kinds must match.
 */
#ifndef EBPFHOST_FILE_KERNEL_H
#define EBPFHOST_FILE_KERNEL_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

#define NULL ((void *)0)
#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))

/* BTF-defined maps, as libbpf spells them. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

enum {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* Helpers, by their stable Linux numbers. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static __u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)114;
static long (*bpf_get_ns_current_pid_tgid)(__u64 dev, __u64 ino, void *nsdata, __u32 size) = (void *)120;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static __u64 (*bpf_ringbuf_query)(void *ringbuf, __u64 flags) = (void *)134;

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
	BPF_RB_AVAIL_DATA = 0,
};

struct bpf_pidns_info {
	__u32 pid;
	__u32 tgid;
};

/*
 * READ(p, field) reads p->field from kernel memory (CO-RE relocated). A
 * fault reads as zero: no branch on the helper's result, which would
 * double the paths the verifier walks at every read.
 */
#define READ(p, field)                                                                                  \
	({                                                                                              \
		typeof((p)->field) __v;                                                                 \
		bpf_probe_read_kernel(&__v, sizeof(__v), __builtin_preserve_access_index(&(p)->field)); \
		__v;                                                                                    \
	})

/* Byte offset of field in type in the running kernel (CO-RE). */
#define FIELD_OFFSET(type, field) __builtin_preserve_field_info(((type *)0)->field, 0 /* BPF_FIELD_BYTE_OFFSET */)

/*
 * READ2(p, fa, fb, va, vb) reads p->fa into va and p->fb into vb (both 8
 * bytes: pointers or longs) with one helper call when the running
 * kernel's offsets put them within READ2_SPAN bytes, 8-aligned, and with
 * two otherwise. Each helper call costs tens of nanoseconds, and the file
 * program makes dozens per system call. The offsets are constants once
 * relocated, so the verifier sees only the branch taken.
 */
#define READ2_SPAN 64
#define READ2(p, fa, fb, va, vb)                                                                    \
	do {                                                                                        \
		__u32 __oa = FIELD_OFFSET(typeof(*(p)), fa), __ob = FIELD_OFFSET(typeof(*(p)), fb); \
		__u32 __lo = __oa < __ob ? __oa : __ob, __hi = __oa < __ob ? __ob : __oa;           \
		if (__hi - __lo < READ2_SPAN && __oa % 8 == 0 && __ob % 8 == 0) {                   \
			__u64 __b[READ2_SPAN / 8];                                                  \
			bpf_probe_read_kernel(__b, (__hi - __lo + 8) & (2 * READ2_SPAN - 1),        \
					      (void *)(p) + __lo);                                  \
			va = (typeof(va))__b[((__oa - __lo) / 8) & (READ2_SPAN / 8 - 1)];         \
			vb = (typeof(vb))__b[((__ob - __lo) / 8) & (READ2_SPAN / 8 - 1)];         \
		} else {                                                                            \
			va = (typeof(va))READ(p, fa);                                               \
			vb = (typeof(vb))READ(p, fb);                                               \
		}                                                                                   \
	} while (0)

/* The context of a raw tracepoint program: the tracepoint's arguments.
 * sys_enter: (struct pt_regs *regs, long id); sys_exit: (regs, long ret). */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#define PRESERVE __attribute__((preserve_access_index))

/* arch/x86/include/asm/ptrace.h: the user registers at system call entry. */
struct pt_regs {
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
	unsigned long cs;
} PRESERVE;

struct qstr {
	__u32 len;
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

struct super_block {
	__u32 s_dev;
} PRESERVE;

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
	struct super_block *i_sb;
} PRESERVE;

struct file {
	struct path f_path;
	struct inode *f_inode;
	__s64 f_pos;
} PRESERVE;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} PRESERVE;

struct files_struct {
	struct fdtable *fdt;
} PRESERVE;

struct fs_struct {
	struct path root;
	struct path pwd;
} PRESERVE;

struct task_struct {
	struct files_struct *files;
	struct fs_struct *fs;
} PRESERVE;

#endif
