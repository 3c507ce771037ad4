// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * file_redirect.c: path redirection on open, the third scenario of the
 * eBPF for Windows filesystem hook proposal. Before each open or create
 * (SEC("file/pre/open,create")), the first rule of redirect_rules whose
 * `from` is a prefix of the path (ending at a path component: the whole
 * path, or followed by '/', or `from` itself ends with '/') rewrites it:
 * the file opened is `to` followed by the rest of the path. So with the
 * rule /srv/app/config -> /etc/app-test,
 *
 *   /srv/app/config           opens /etc/app-test
 *   /srv/app/config/db.json   opens /etc/app-test/db.json
 *   /srv/app/configuration    is left alone.
 *
 * `ebpfhost redirect --from A --to B` runs it (embedded in the binary).
 * Redirecting needs an event source that opens files on the caller's
 * behalf: a FUSE mount (see docs/file.md).
 *
 * The path is copied from the context into a per-CPU scratch value first,
 * then compared and joined there: the variable offsets stay bounded by the
 * sizes the verifier sees (rule lengths at most RULE_PATH_MAX, the path at
 * most PATH_MAX).
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c file_redirect.c -o file_redirect.o
 */
#include "bpf_helpers.h"
#include "file.h"

#define PATH_MAX 4096
#define RULE_PATH_MAX 256
#define MAX_RULES 8

struct redirect_rule {
	__u32 from_len;  /* bytes of from in use; 0 = empty slot */
	__u32 to_len;    /* bytes of to in use (absolute path) */
	__u64 hits;      /* opens redirected by this rule */
	__u8 from[RULE_PATH_MAX];
	__u8 to[RULE_PATH_MAX];
};

struct redirect_scratch {
	__u8 path[PATH_MAX];                 /* the path opened */
	__u8 out[RULE_PATH_MAX + PATH_MAX];  /* to + the rest of the path */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct redirect_rule);
	__uint(max_entries, MAX_RULES);
} redirect_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct redirect_scratch);
	__uint(max_entries, 1);
} redirect_scratch SEC(".maps");

SEC("file/pre/open,create")
int redirect(file_md_t *ctx)
{
	__u32 zero = 0;
	struct redirect_scratch *s = bpf_map_lookup_elem(&redirect_scratch, &zero);
	if (!s)
		return 0;
	__s64 len = ctx->path_end - ctx->path_start;
	if (len > PATH_MAX)
		len = PATH_MAX;
	if (len < 0)
		len = 0;
	if (bpf_memcpy_s(s->path, PATH_MAX, ctx->path_start, len) != 0)
		return 0;

	for (__u32 i = 0; i < MAX_RULES; i++) {
		__u32 key = i;
		struct redirect_rule *r = bpf_map_lookup_elem(&redirect_rules, &key);
		if (!r)
			break;
		__s64 from_len = r->from_len;
		__s64 to_len = r->to_len;
		if (from_len <= 0 || from_len > RULE_PATH_MAX || from_len > len)
			continue;
		if (to_len <= 0 || to_len > RULE_PATH_MAX)
			continue;
		if (bpf_memcmp_s(s->path, from_len, r->from, from_len) != 0)
			continue;
		/* The prefix must end at a component boundary; the rest keeps
		 * its leading '/' (the extension cleans up a double one). */
		__s64 cut = from_len;
		if (r->from[from_len - 1] == '/')
			cut = from_len - 1;
		else if (from_len < len && s->path[from_len] != '/')
			continue;

		__s64 rest = len - cut;
		if (cut < 0 || rest < 0 || rest > PATH_MAX)
			continue;
		if (bpf_memcpy_s(s->out, RULE_PATH_MAX, r->to, to_len) != 0)
			continue;
		if (bpf_memcpy_s(s->out + to_len, PATH_MAX, s->path + cut, rest) != 0)
			continue;
		__s64 n = to_len + rest;
		if (n <= 0 || n > RULE_PATH_MAX + PATH_MAX)
			continue;
		if (bpf_file_redirect(ctx, s->out, n) != 0)
			return 0;
		__sync_fetch_and_add(&r->hits, 1);
		return 0;
	}
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
