// Tracepoint programs reading their context, the tracepoint's own record
// (its layout is in /sys/kernel/tracing/events/<category>/<name>/format).
// openat_enter reads fixed fields of syscalls/sys_enter_openat and the file
// name from user memory. exec reads sched/sched_process_exec's file name,
// which the record holds inline behind a __data_loc field (offset in the low
// 16 bits, relative to the record), as libbpf-bootstrap's bootstrap.bpf.c
// does.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c tracepoint.c -o tracepoint.o
typedef unsigned int __u32;
typedef int __s32;
typedef long long __s64;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]

static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)114;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)115;

/* syscalls/sys_enter_openat. The first 8 bytes are the common fields
 * (common_type, common_flags, common_preempt_count, common_pid), which
 * Linux does not let programs read. */
struct sys_enter_openat {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 dfd;
	__u64 filename; /* const char __user * */
	__s64 flags;
	__u64 mode;
};

/* sched/sched_process_exec */
struct sched_process_exec {
	__u64 common;
	__u32 data_loc_filename;
	__s32 pid;
	__s32 old_pid;
};

struct event {
	__u64 pid_tgid;
	__s64 flags;
	char filename[128];
};

struct {
	__uint(type, 27); /* BPF_MAP_TYPE_RINGBUF */
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct sys_enter_openat *ctx)
{
	struct event e = {};
	e.pid_tgid = bpf_get_current_pid_tgid();
	e.flags = ctx->flags;
	bpf_probe_read_user_str(e.filename, sizeof(e.filename), (const void *)ctx->filename);
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int exec(struct sched_process_exec *ctx)
{
	struct event e = {};
	e.pid_tgid = (__u64)ctx->pid << 32 | (__u32)ctx->pid;
	unsigned off = ctx->data_loc_filename & 0xffff;
	bpf_probe_read_kernel_str(e.filename, sizeof(e.filename), (void *)ctx + off);
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
