// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * file_access.c: which files a given executable touches. One ring buffer
 * record per completed filesystem operation (open, create, read, write,
 * close, rename, unlink, mkdir, rmdir, setattr, symlink, link) of the
 * processes whose executable matches the configuration in access_config:
 * an exact image path, or a prefix (a directory, with its trailing slash),
 * or nothing to record every process. `ebpfhost monitor files` runs it
 * (embedded in the binary); the record layout below is what it decodes.
 *
 * It runs after the operation (SEC("file/post")), so every record carries
 * the result: bytes read or written, 0, or a negative errno. Which
 * operations and which paths it runs for is the business of the attach
 * options (operation set, path prefix), checked before it runs, so the
 * program does not look at the path except to copy it.
 *
 * A record is a fixed header, then the image path (image_len bytes), the
 * path (path_len) and the target path of a rename, link or symlink
 * (target_len), sent with bpf_ringbuf_output at its actual size. It is
 * assembled in a per-CPU scratch value, being larger than the stack.
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c file_access.c -o file_access.o
 */
#include "bpf_helpers.h"
#include "file.h"

#define IMAGE_MAX 4096
#define PATH_MAX 4096
#define EXE_MAX 256

struct access_config {
	__u32 exe_len;     /* bytes of exe in use; 0 = every executable */
	__u32 exe_exact;   /* 1: the image must be exe itself; 0: exe is a prefix */
	__u32 with_image;  /* 1: put the image path in every record */
	__u32 pad;
	__u8 exe[EXE_MAX];
};

struct file_event {
	__u64 timestamp_ns;   /*  0: when the operation completed */
	__u64 correlation_id; /*  8 */
	__s64 result;         /* 16: bytes, 0 or -errno */
	__s64 offset;         /* 24 */
	__u64 length;         /* 32 */
	__u64 inode;          /* 40 */
	__u32 operation;      /* 48: enum file_operation */
	__u32 pid;            /* 52 */
	__u32 tid;            /* 56 */
	__u32 uid;            /* 60 */
	__u32 flags;          /* 64: open flags */
	__u32 mode;           /* 68 */
	__u32 image_len;      /* 72 */
	__u32 path_len;       /* 76 */
	__u32 target_len;     /* 80 */
	__u32 truncated;      /* 84: 1 when the path was longer than PATH_MAX */
	__u8 text[IMAGE_MAX + PATH_MAX + PATH_MAX]; /* 88 */
};

/* Counters, per CPU: runs, records sent, records lost (ring full),
 * events of other executables. */
enum { STAT_RUNS, STAT_RECORDS, STAT_LOST, STAT_FILTERED, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct access_config);
	__uint(max_entries, 1);
} access_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct file_event);
	__uint(max_entries, 1);
} access_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, STAT_MAX);
} access_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} file_events SEC(".maps");

static void count(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&access_stats, &stat);
	if (n)
		*n += 1;
}

SEC("file/post")
int file_access(file_md_t *ctx)
{
	__u32 zero = 0;
	count(STAT_RUNS);
	struct access_config *cfg = bpf_map_lookup_elem(&access_config, &zero);
	struct file_event *ev = bpf_map_lookup_elem(&access_scratch, &zero);
	if (!cfg || !ev)
		return 0;

	/* The image goes first in text: it is what the filter compares. */
	__s64 image_len = 0;
	__u32 exe_len = cfg->exe_len;
	if (exe_len > EXE_MAX)
		exe_len = 0;
	if (exe_len > 0 || cfg->with_image) {
		image_len = bpf_file_get_image_path(ctx, ev->text, IMAGE_MAX);
		if (image_len < 0 || image_len > IMAGE_MAX)
			image_len = 0;
	}
	if (exe_len > 0) {
		if (image_len < exe_len || (cfg->exe_exact && image_len != exe_len) ||
		    bpf_memcmp_s(ev->text, exe_len, cfg->exe, exe_len) != 0) {
			count(STAT_FILTERED);
			return 0;
		}
		if (!cfg->with_image)
			image_len = 0;
	}

	ev->timestamp_ns = ctx->timestamp_ns;
	ev->correlation_id = ctx->correlation_id;
	ev->result = ctx->result;
	ev->offset = ctx->offset;
	ev->length = ctx->length;
	ev->inode = ctx->inode;
	ev->operation = ctx->operation;
	ev->pid = ctx->pid;
	ev->tid = ctx->tid;
	ev->uid = ctx->uid;
	ev->flags = ctx->flags;
	ev->mode = ctx->mode;
	ev->image_len = image_len;
	ev->truncated = 0;

	__s64 len = ctx->path_end - ctx->path_start;
	if (len > PATH_MAX) {
		len = PATH_MAX;
		ev->truncated = 1;
	}
	if (len < 0)
		len = 0;
	if (bpf_memcpy_s(ev->text + image_len, PATH_MAX, ctx->path_start, len) != 0)
		len = 0;
	ev->path_len = len;

	__s64 target_len = 0;
	__u32 op = ctx->operation;
	if (op == FILE_OP_RENAME || op == FILE_OP_LINK || op == FILE_OP_SYMLINK) {
		target_len = bpf_file_get_target_path(ctx, ev->text + image_len + len, PATH_MAX);
		if (target_len < 0 || target_len > PATH_MAX)
			target_len = 0;
	}
	ev->target_len = target_len;

	if (bpf_ringbuf_output(&file_events, ev, __builtin_offsetof(struct file_event, text) + image_len + len + target_len, 0) == 0)
		count(STAT_RECORDS);
	else
		count(STAT_LOST);
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
