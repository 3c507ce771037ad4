// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * process_monitor.c: one ring buffer record per program start and process
 * exit on the machine. This is the program `ebpfhost monitor process` runs
 * (embedded in the binary); the record layout below is what it decodes.
 *
 * A record is a fixed header, then the image path (image_len bytes), then
 * the command line (command_len bytes, arguments joined by single spaces);
 * it is sent with bpf_ringbuf_output at its actual size, so short command
 * lines cost little. The header and text are assembled in a per-CPU
 * scratch value, since a record can be far larger than the 512-byte stack.
 *
 * The command line is copied from the context's data range
 * [command_start, command_end): its length is command_end - command_start,
 * clamped to COMMAND_MAX, which the verifier follows back to the range.
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c process_monitor.c -o process_monitor.o
 */
#include "bpf_helpers.h"
#include "process.h"

#define IMAGE_MAX 4096
#define COMMAND_MAX 65536

struct process_event {
	__u8 operation;          /* 0 create, 1 exit */
	__u8 pad[3];
	__u32 exit_code;         /* exit only */
	__u64 process_id;
	__u64 parent_process_id;
	__u64 creating_process_id;
	__u64 creating_thread_id;
	__u64 creation_time;     /* FILETIME */
	__u64 exit_time;         /* FILETIME, exit only */
	__u32 uid;               /* from the token SID S-1-22-1-<uid> */
	__u32 image_len;
	__u32 command_len;
	__u32 flags;             /* EVENT_COMMAND_TRUNCATED */
	__u8 text[IMAGE_MAX + COMMAND_MAX];
};

#define EVENT_COMMAND_TRUNCATED 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct process_event);
	__uint(max_entries, 1);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} process_events SEC(".maps");

SEC("process")
int monitor(process_md_t *ctx)
{
	__u32 zero = 0;
	struct process_event *ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!ev)
		return 0;

	ev->operation = ctx->operation;
	ev->exit_code = ctx->operation == PROCESS_OPERATION_DELETE ? ctx->process_exit_code : 0;
	ev->process_id = ctx->process_id;
	ev->parent_process_id = ctx->parent_process_id;
	ev->creating_process_id = ctx->creating_process_id;
	ev->creating_thread_id = ctx->creating_thread_id;
	ev->creation_time = ctx->creation_time;
	ev->exit_time = ctx->exit_time;
	ev->flags = 0;
	/* S-1-22-1-<uid>: the uid is the second sub-authority, at byte 12. */
	ev->uid = 0;
	if (ctx->token_sid_size >= 16)
		ev->uid = *(__u32 *)&ctx->token_sid[12];

	/* A negative errno means no image path; the upper bound is there for
	 * the verifier, which must see that the command line fits after it. */
	__s64 image_len = bpf_process_get_image_path(ctx, ev->text, IMAGE_MAX);
	if (image_len < 0 || image_len > IMAGE_MAX)
		image_len = 0;
	ev->image_len = image_len;

	__s64 len = ctx->command_end - ctx->command_start;
	if (len > COMMAND_MAX) {
		len = COMMAND_MAX;
		ev->flags |= EVENT_COMMAND_TRUNCATED;
	}
	if (len < 0)
		len = 0;
	if (len > 0 && bpf_memcpy_s(ev->text + image_len, COMMAND_MAX, ctx->command_start, len) != 0)
		len = 0;
	ev->command_len = len;

	bpf_ringbuf_output(&process_events, ev, __builtin_offsetof(struct process_event, text) + image_len + len, 0);
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
