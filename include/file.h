/* SPDX-License-Identifier: MIT */
/*
 * file.h: the file program type, ebpfhost's filesystem hook (the
 * pre/post-operation hook eBPF for Windows proposed as minifilter
 * callbacks). A program runs before an operation, after it, or both:
 *
 *   SEC("file/pre")        every operation, before it happens
 *   SEC("file/post")       every operation, after it, with its result
 *   SEC("file/pre/open,read")   only these operations (names below)
 *
 *   int on_file(file_md_t *ctx) { ... return 0; }
 *
 * A pre program returns 0 to let the operation proceed; a negative value
 * refuses it: -1..-4095 is the errno the caller gets (-EACCES = -13), any
 * other negative value gives EPERM. Post results are ignored. Whether an
 * operation can be refused or redirected depends on the event source
 * (a FUSE mount can do both; see docs/file.md).
 *
 * The layout is stable: fields are only ever added at the end.
 */
#ifndef EBPFHOST_FILE_H
#define EBPFHOST_FILE_H

#include "bpf_helpers.h"

enum file_operation {
	FILE_OP_OPEN = 1,     /* open of an existing file */
	FILE_OP_CREATE = 2,   /* open that creates the file, mknod */
	FILE_OP_READ = 3,
	FILE_OP_WRITE = 4,
	FILE_OP_CLOSE = 5,    /* last close of an open file */
	FILE_OP_RENAME = 6,   /* path -> target (bpf_file_get_target_path) */
	FILE_OP_UNLINK = 7,
	FILE_OP_MKDIR = 8,
	FILE_OP_RMDIR = 9,
	FILE_OP_SETATTR = 10, /* truncate (offset = new size), chmod, chown, utimes */
	FILE_OP_SYMLINK = 11, /* path is the new link, target what it points to */
	FILE_OP_LINK = 12,    /* path is the existing file, target the new name */
};

enum file_hook {
	FILE_HOOK_PRE = 0,
	FILE_HOOK_POST = 1,
};

/* 104 bytes; every field is read-only. */
typedef struct _file_md {
	__u8 *path_start;     /*  0: absolute path operated on, UTF-8, no NUL */
	__u8 *path_end;       /*  8: one past its end (at most 4096 bytes) */
	__u64 correlation_id; /* 16: the same in the pre and post of one operation */
	__u64 timestamp_ns;   /* 24: CLOCK_MONOTONIC ns, as bpf_ktime_get_ns */
	__u32 operation;      /* 32: enum file_operation */
	__u32 hook;           /* 36: enum file_hook */
	__u32 flags;          /* 40: open flags (O_*), rename flags */
	__u32 mode;           /* 44: mode of a create, mkdir or chmod */
	__u32 pid;            /* 48: the acting process */
	__u32 tid;            /* 52: the acting thread */
	__u32 uid;            /* 56 */
	__u32 gid;            /* 60 */
	__u64 inode;          /* 64 */
	__u64 device;         /* 72 */
	__s64 offset;         /* 80: read/write position; new size of a truncate */
	__u64 length;         /* 88: bytes asked to read or write */
	__s64 result;         /* 96: post only: bytes read/written, 0, or -errno */
} file_md_t;

/*
 * File helpers. The path helpers copy into buf (no NUL added) and return
 * the bytes written, -EINVAL (-22) when buf is too small, or -ENOENT (-2)
 * when there is nothing to report.
 */
#define FILE_EXT_HELPER_FN_BASE 0xFFFF
/* The second path of a rename, link or symlink. */
static long (* const bpf_file_get_target_path)(file_md_t *ctx, __u8 *buf, __u32 size) = (void *)(FILE_EXT_HELPER_FN_BASE + 1);
/* The executable of the acting process. */
static long (* const bpf_file_get_image_path)(file_md_t *ctx, __u8 *buf, __u32 size) = (void *)(FILE_EXT_HELPER_FN_BASE + 2);
/*
 * Pre-open and pre-create only: open the absolute path in path[0..size)
 * instead. Returns 0, or -EINVAL (wrong hook or operation, or not an
 * absolute path). The first redirect of an operation wins; a denial by any
 * program still refuses it.
 */
static long (* const bpf_file_redirect)(file_md_t *ctx, const __u8 *path, __u32 size) = (void *)(FILE_EXT_HELPER_FN_BASE + 3);

#endif /* EBPFHOST_FILE_H */
