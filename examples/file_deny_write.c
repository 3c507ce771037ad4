// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * file_deny_write.c: makes everything under a path read-only. Before each
 * operation that would change something (SEC("file/pre/...") below), if
 * the path (or, for a rename or a hard link, either path) starts with the
 * prefix of a rule in deny_rules, the operation fails with the rule's
 * errno (EACCES when the rule says 0):
 *
 *   - open with O_WRONLY, O_RDWR, O_TRUNC, O_APPEND or O_CREAT, create;
 *   - write, setattr (truncate, chmod, chown, utimes);
 *   - unlink, mkdir, rmdir, symlink (the new link), rename and link (from
 *     or to the prefix).
 *
 * Opens for reading, reads and closes are never refused. A prefix is a
 * plain string prefix: end it with '/' for a directory.
 * `ebpfhost deny-write PREFIX` runs it (embedded in the binary); refusing
 * needs an event source that holds operations until the verdict (a FUSE
 * mount, see docs/file.md).
 *
 * Each refusal is counted in the rule's hits and in deny_counts, per
 * operation (atomic adds: several operations may be checked at once).
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c file_deny_write.c -o file_deny_write.o
 */
#include "bpf_helpers.h"
#include "file.h"

#define PATH_MAX 4096
#define RULE_PATH_MAX 256
#define MAX_RULES 8
#define MAX_OP 12
#define EACCES 13

#define O_ACCMODE 00000003
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_APPEND 00002000

struct deny_rule {
	__u32 len;    /* bytes of prefix in use; 0 = empty slot */
	__s32 err;    /* errno the operation fails with; 0 means EACCES */
	__u64 hits;   /* operations refused by this rule */
	__u8 prefix[RULE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct deny_rule);
	__uint(max_entries, MAX_RULES);
} deny_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);   /* enum file_operation */
	__type(value, __u64); /* refusals */
	__uint(max_entries, MAX_OP + 1);
} deny_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u8[PATH_MAX]);
	__uint(max_entries, 1);
} deny_scratch SEC(".maps");

/* The errno of the first rule whose prefix starts buf[0..len), or 0. */
static int match(__u8 *buf, __s64 len)
{
	for (__u32 i = 0; i < MAX_RULES; i++) {
		__u32 key = i;
		struct deny_rule *r = bpf_map_lookup_elem(&deny_rules, &key);
		if (!r)
			break;
		__s64 n = r->len;
		if (n <= 0 || n > RULE_PATH_MAX || n > len)
			continue;
		if (bpf_memcmp_s(buf, n, r->prefix, n) != 0)
			continue;
		__sync_fetch_and_add(&r->hits, 1);
		__s32 err = r->err;
		return err > 0 && err < 4096 ? err : EACCES;
	}
	return 0;
}

SEC("file/pre/open,create,write,setattr,unlink,mkdir,rmdir,symlink,rename,link")
int deny_write(file_md_t *ctx)
{
	__u32 op = ctx->operation;
	switch (op) {
	case FILE_OP_OPEN:
		if (!(ctx->flags & (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)))
			return 0; /* read-only */
		break;
	case FILE_OP_CREATE:
	case FILE_OP_WRITE:
	case FILE_OP_SETATTR:
	case FILE_OP_UNLINK:
	case FILE_OP_MKDIR:
	case FILE_OP_RMDIR:
	case FILE_OP_SYMLINK:
	case FILE_OP_RENAME:
	case FILE_OP_LINK:
		break;
	default:
		return 0; /* attached to more operations than the section names */
	}

	__u32 zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&deny_scratch, &zero);
	if (!buf)
		return 0;
	__s64 len = ctx->path_end - ctx->path_start;
	if (len > PATH_MAX)
		len = PATH_MAX;
	if (len < 0)
		len = 0;
	if (bpf_memcpy_s(buf, PATH_MAX, ctx->path_start, len) != 0)
		return 0;
	int err = match(buf, len);
	if (!err && (op == FILE_OP_RENAME || op == FILE_OP_LINK)) {
		/* The second path: the destination of a rename, the new name
		 * of a link. */
		__s64 n = bpf_file_get_target_path(ctx, buf, PATH_MAX);
		if (n < 0 || n > PATH_MAX)
			n = 0;
		err = match(buf, n);
	}
	if (!err)
		return 0;
	__u64 *c = bpf_map_lookup_elem(&deny_counts, &op);
	if (c)
		__sync_fetch_and_add(c, 1);
	return -err;
}

char LICENSE[] SEC("license") = "MIT";
