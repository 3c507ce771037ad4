// A kprobe on do_sys_openat2 (x86-64) in the style of libbpf tools: who
// opens what. It follows pointers inside the kernel's task_struct with
// bpf_probe_read_kernel (the calling task's tgid, its parent's tgid), reads
// the file name from user memory with bpf_probe_read_user_str, and sends
// the event through a ring buffer.
//
// Self-contained (no vmlinux.h, no libbpf headers); built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c kprobe.c -o kprobe.o
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]

/* struct pt_regs on x86-64: what a kprobe program's context is. */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* Offsets into struct task_struct for one kernel build. A real program
 * takes them from the kernel's BTF (CO-RE); the verifier neither knows nor
 * cares, since the reads go through bpf_probe_read_kernel. */
#define TASK_TGID 0x5a4
#define TASK_REAL_PARENT 0x5b0

static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)114;

struct event {
	__u32 tgid;
	__u32 ppid;
	__s32 dfd;
	__u32 pad;
	char comm[16];
	char filename[64];
};

struct {
	__uint(type, 27); /* BPF_MAP_TYPE_RINGBUF */
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("kprobe/do_sys_openat2")
int trace_openat2(struct pt_regs *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	char *task = (char *)bpf_get_current_task();
	char *parent = 0;
	bpf_probe_read_kernel(&e->tgid, sizeof(e->tgid), task + TASK_TGID);
	bpf_probe_read_kernel(&parent, sizeof(parent), task + TASK_REAL_PARENT);
	bpf_probe_read_kernel(&e->ppid, sizeof(e->ppid), parent + TASK_TGID);
	e->dfd = (__s32)ctx->di;    /* first argument */
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const void *)ctx->si);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
