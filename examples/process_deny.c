// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * process_deny.c: refuses to start programs whose image path matches a
 * rule user space puts in the deny_rules map: an exact path, or a prefix
 * (a directory, written with its trailing slash). The exec fails with the
 * rule's errno (EPERM when the rule says 0). `ebpfhost monitor process
 * --deny PATH` runs it. Denying needs an event source that sees execs
 * before they happen (fanotify); see docs/process.md.
 *
 * Each denial is counted in the rule's hits (an atomic add, since several
 * execs may be checked at once).
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c process_deny.c -o process_deny.o
 */
#include "bpf_helpers.h"
#include "process.h"

#define PATH_MAX 4096
#define RULE_PATH_MAX 256
#define MAX_RULES 16
#define EPERM 1

struct deny_rule {
	__u32 len;    /* bytes of path in use; 0 = empty slot */
	__u32 exact;  /* 1: the image must be path itself; 0: path is a prefix */
	__s32 err;    /* errno the exec fails with; 0 means EPERM */
	__u32 pad;
	__u64 hits;   /* execs refused by this rule */
	__u8 path[RULE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct deny_rule);
	__uint(max_entries, MAX_RULES);
} deny_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u8[PATH_MAX]);
	__uint(max_entries, 1);
} image_buf SEC(".maps");

SEC("process")
int deny(process_md_t *ctx)
{
	if (ctx->operation != PROCESS_OPERATION_CREATE)
		return 0;
	__u32 zero = 0;
	__u8 *image = bpf_map_lookup_elem(&image_buf, &zero);
	if (!image)
		return 0;
	long n = bpf_process_get_image_path(ctx, image, PATH_MAX);
	if (n <= 0 || n > PATH_MAX)
		return 0;

	for (__u32 i = 0; i < MAX_RULES; i++) {
		__u32 key = i;
		struct deny_rule *r = bpf_map_lookup_elem(&deny_rules, &key);
		if (!r)
			break;
		__u32 len = r->len;
		if (len == 0 || len > RULE_PATH_MAX || len > n)
			continue;
		if (r->exact && len != n)
			continue;
		if (bpf_memcmp_s(image, len, r->path, len) != 0)
			continue;
		__sync_fetch_and_add(&r->hits, 1);
		return r->err > 0 && r->err < 4096 ? -r->err : -EPERM;
	}
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
