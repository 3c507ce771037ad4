/* SPDX-License-Identifier: MIT */
/*
 * process.h: the process program type (ntosebpfext's process hook, on
 * Linux). Section: SEC("process"). A program runs for every program start
 * (exec) and every process exit on the machine:
 *
 *   SEC("process")
 *   int on_process(process_md_t *ctx) { ... return 0; }
 *
 * Return 0 to allow a start. A negative value denies it: -1..-4095 is the
 * errno the exec fails with (e.g. -EACCES = -13); any other negative value
 * (an NTSTATUS such as 0xC0000022) denies with EPERM. For exits the return
 * value is ignored. Denying needs an event source that sees execs before
 * they happen (fanotify); see docs/process.md.
 */
#ifndef EBPFHOST_PROCESS_H
#define EBPFHOST_PROCESS_H

#include "bpf_helpers.h"

typedef enum _process_operation {
	PROCESS_OPERATION_CREATE = 0, /* a program started (exec) */
	PROCESS_OPERATION_DELETE = 1, /* the process exited */
} process_operation_t;

/* 144 bytes; every field is read-only. */
typedef struct _process_md {
	__u8 *command_start;          /* the command line, arguments joined by single spaces, UTF-8, no NUL */
	__u8 *command_end;            /* one past its last byte; command_end - command_start is its length */
	__u64 process_id;             /* the process (Linux tgid) */
	__u64 parent_process_id;      /* its parent */
	__u64 creating_process_id;    /* the process that forked it */
	__u64 creating_thread_id;     /* the thread that forked it */
	__u64 creation_time;          /* when the program started: FILETIME (100 ns since 1601-01-01 UTC) */
	__u64 exit_time;              /* when it exited (delete only), FILETIME */
	__u32 process_exit_code;      /* exit status as a shell reports it (delete only): the exit code, or 128+signal */
	process_operation_t operation : 8;
	__u32 token_sid_size;         /* bytes of token_sid in use */
	__u8 token_sid[68];           /* the user as a binary SID: S-1-22-1-<uid> */
} process_md_t;

typedef int process_hook_t(process_md_t *context);

/*
 * Process helpers. Each copies into buf (no NUL added) and returns the bytes
 * written, or -EINVAL (-22) when buf is too small, or -ENOENT (-2) when
 * there is nothing to report.
 */
#define PROCESS_EXT_HELPER_FN_BASE 0xFFFF
/* The executable's absolute path. */
static int (* const bpf_process_get_image_path)(process_md_t *ctx, __u8 *path, __u32 path_length) = (void *)(PROCESS_EXT_HELPER_FN_BASE + 1);
/* The user's name (from the password database). */
static int (* const bpf_process_get_account_name)(process_md_t *ctx, __u8 *name, __u32 name_length) = (void *)(PROCESS_EXT_HELPER_FN_BASE + 2);
/* The user's domain: "Unix User". */
static int (* const bpf_process_get_account_domain)(process_md_t *ctx, __u8 *domain, __u32 domain_length) = (void *)(PROCESS_EXT_HELPER_FN_BASE + 3);

#endif /* EBPFHOST_PROCESS_H */
