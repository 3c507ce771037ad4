/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * process.c: process lifecycle records for ebpfhost's tracepoint source
 * (internal/source/process/tracepoint). Three raw tracepoint programs:
 *
 *   sched_process_fork  remembers which thread made each new process;
 *   sched_process_exec  sends an exec record: ids, uid, the executable's
 *                       absolute path, and the command line;
 *   sched_process_exit  sends an exit record once per process, when its
 *                       last thread ends.
 *
 * Raw tracepoints are used because they attach by name without tracefs and
 * without BTF-typed tracing (fentry/tp_btf), which some hardened kernels
 * refuse. Their arguments are untyped, so every kernel read goes through
 * bpf_probe_read_kernel with CO-RE offsets (kernel.h).
 *
 * Rebuild (in this directory) with exactly the flags internal/clangtest
 * checks:
 *   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c process.c -o process.o
 *
 * The record layout is mirrored by record.go; change both together.
 */
#include "kernel.h"

#define IMAGE_MAX 4096  /* bytes of executable path, as PATH_MAX */
#define NAME_READ 256   /* bytes read per path component, NAME_MAX + 1 */
#define ARGV_MAX 32768  /* bytes of command line per exec */
#define PATH_END (IMAGE_MAX - 1) /* so a path's length fits IMAGE_MAX - 1 */
#define MAX_WALK 128    /* path components and mount crossings */

enum { REC_EXEC = 1, REC_EXIT = 2 };

enum {
	F_ARGV_TRUNCATED = 1 << 0, /* the command line was longer than ARGV_MAX */
	F_ARGV_FAULT = 1 << 1,     /* the command line could not be read */
	F_IMAGE_FILENAME = 1 << 2, /* data holds bprm->filename, not the resolved path */
	F_CREATOR = 1 << 3,        /* creator_pid and creator_tid are known */
};

struct record {
	__u64 time_ns; /* bpf_ktime_get_boot_ns */
	__u8 kind;
	__u8 flags;
	__u16 image_len; /* data[0:image_len] is the image path, no NUL */
	__u32 argv_len;  /* data[image_len:image_len+argv_len], NUL separated */
	__u32 pid;
	__u32 ppid;
	__u32 creator_pid;
	__u32 creator_tid;
	__u32 uid;
	__s32 status; /* exit: the wait(2) status */
	char data[IMAGE_MAX + ARGV_MAX];
};

/*
 * A record is built here and copied to the ring buffer with only its used
 * length: reserving the ring buffer in place would need a constant size,
 * and 36 KiB for every exec would cut the buffer's capacity a hundredfold.
 * The buffer is too big for a per-CPU array (32 KiB limit), so it is a plain
 * array with one entry per possible CPU (user space sets max_entries), used
 * by the CPU the program runs on. Tracepoints run with preemption disabled,
 * and the kernel does not nest a program inside itself on one CPU, so an
 * entry has one user at a time.
 */
struct scratch {
	struct record rec;
	char path[IMAGE_MAX + NAME_READ]; /* write_path builds backwards here */
	char name[NAME_READ];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may change it */
} events SEC(".maps");

/* Records that did not fit in the ring buffer (or had no scratch entry). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

struct creator {
	__u32 pid;
	__u32 tid;
};

/*
 * The thread that forked each live process, by the new process's pid, kept
 * from fork to exit so every exec of the process can name it. LRU, so that
 * if it ever fills, the entries that go are those of the oldest processes
 * (usually daemons that will not exec again) rather than new ones.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct creator);
} creators SEC(".maps");

struct exit_key {
	__u32 tgid;
	__u32 pad;
	__u64 leader_start; /* with tgid, unique for the machine's uptime */
};

/*
 * Processes whose exit was already sent, for kernels whose
 * sched_process_exit does not say whether the thread group died (before
 * 6.16): there, each exiting thread that finds signal->live at zero may be
 * the last, and two threads can both see zero, so the first one to insert
 * here sends the record. Entries are never needed again after a few
 * microseconds; LRU eviction removes them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_key);
	__type(value, __u8);
} exited SEC(".maps");

/* Set by user space from the kernel's BTF: whether sched_process_exit has
 * the group_dead argument. A constant to the verifier, which then never
 * sees the access to an argument the tracepoint lacks. */
volatile const __u8 exit_has_group_dead = 0;

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&dropped, &zero);
	if (n)
		*n += 1;
}

static __always_inline struct scratch *get_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch, &cpu);
}

static __always_inline void send(struct record *rec, __u64 size)
{
	if (bpf_ringbuf_output(&events, rec, size, 0) < 0)
		count_drop();
}

static __always_inline void fill_ids(struct record *rec, struct task_struct *task)
{
	struct task_struct *parent = READ(task, real_parent);
	struct cred *cred = READ(task, real_cred);
	__u32 pid = READ(task, tgid);
	struct creator *c;

	rec->pid = pid;
	rec->ppid = parent ? READ(parent, tgid) : 0;
	rec->uid = cred ? READ(cred, uid.val) : 0;
	rec->creator_pid = 0;
	rec->creator_tid = 0;
	c = bpf_map_lookup_elem(&creators, &pid);
	if (c) {
		rec->creator_pid = c->pid;
		rec->creator_tid = c->tid;
		rec->flags |= F_CREATOR;
	}
}

/*
 * Writes the absolute path of file to rec->data as d_path would show it
 * from the root of the file's mount namespace, and returns its length, or
 * -1 when it cannot (the caller then falls back to bprm->filename).
 *
 * The walk goes up the dentries to the mount's root, steps from each mount
 * to the point it is mounted on, and stops at the mount without a parent.
 * Names come leaf first, so the path is built backwards at the end of
 * s->path and then copied to the record. The loop is written for the
 * verifier: one counter, and one offset kept masked, so that it checks
 * every iteration once or twice instead of once per combination of
 * branches taken before.
 */
static __always_inline int write_path(struct scratch *s, struct file *file)
{
	struct dentry *d = READ(file, f_path.dentry);
	struct vfsmount *vmnt = READ(file, f_path.mnt);
	struct mount *mnt = (void *)vmnt - FIELD_OFFSET(struct mount, mnt);
	__u32 pos = PATH_END, len;
	int i, done = 0;

	if (!d || !vmnt)
		return -1;
	for (i = 0; i < MAX_WALK; i++) {
		struct dentry *root = READ(vmnt, mnt_root);
		struct dentry *parent = READ(d, d_parent);
		long n;

		if (d == root) {
			struct mount *up = READ(mnt, mnt_parent);
			if (!up || up == mnt) {
				done = 1; /* the namespace's root */
				break;
			}
			d = READ(mnt, mnt_mountpoint);
			mnt = up;
			vmnt = (void *)mnt + FIELD_OFFSET(struct mount, mnt);
			continue;
		}
		if (!parent || d == parent) {
			done = 1; /* disconnected: what is above cannot be named */
			break;
		}
		n = bpf_probe_read_kernel_str(s->name, NAME_READ, READ(d, d_name.name));
		if (n <= 1)
			return -1;
		len = (n - 1) & (NAME_READ - 1);
		if (pos < len + 1)
			return -1; /* longer than IMAGE_MAX */
		pos -= len;
		bpf_probe_read_kernel(&s->path[pos & (IMAGE_MAX - 1)], len, s->name);
		pos -= 1;
		pos &= IMAGE_MAX - 1;
		s->path[pos] = '/';
		d = parent;
	}
	if (!done) /* deeper than MAX_WALK; not i == MAX_WALK, which would keep
		    * i alive and make the verifier check the rest once per i */
		return -1;
	if (pos == PATH_END) {
		s->rec.data[0] = '/';
		return 1;
	}
	len = PATH_END - pos;
	if (bpf_probe_read_kernel(s->rec.data, len & (IMAGE_MAX - 1), &s->path[pos & (IMAGE_MAX - 1)]) < 0)
		return -1;
	return len;
}

SEC("raw_tracepoint/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0]; /* the forking thread */
	struct task_struct *child = (void *)ctx->args[1];
	__u32 pid = READ(child, pid);
	struct creator c;

	if (pid != (__u32)READ(child, tgid))
		return 0; /* a new thread, not a new process */
	c.pid = READ(parent, tgid);
	c.tid = READ(parent, pid);
	bpf_map_update_elem(&creators, &pid, &c, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)ctx->args[0]; /* current, after the exec */
	struct linux_binprm *bprm = (void *)ctx->args[2];
	struct scratch *s = get_scratch();
	struct record *rec;
	struct mm_struct *mm;
	__u64 start, end, len;
	__u32 image_len;
	int n;

	if (!s) {
		count_drop();
		return 0;
	}
	rec = &s->rec;
	rec->time_ns = bpf_ktime_get_boot_ns();
	rec->kind = REC_EXEC;
	rec->flags = 0;
	rec->status = 0;
	fill_ids(rec, task);

	/* bprm->file is the file now running: for a script, the interpreter. */
	n = write_path(s, READ(bprm, file));
	if (n < 0) {
		rec->flags |= F_IMAGE_FILENAME;
		n = bpf_probe_read_kernel_str(rec->data, IMAGE_MAX, READ(bprm, filename));
		n = n > 0 ? n - 1 : 0;
	}
	image_len = n & (IMAGE_MAX - 1);
	rec->image_len = image_len;

	/* The new image's arguments, as copied onto its stack by execve:
	 * present in memory, so the non-faulting user read succeeds. */
	mm = READ(task, mm);
	start = mm ? READ(mm, arg_start) : 0;
	end = mm ? READ(mm, arg_end) : 0;
	len = end > start ? end - start : 0;
	if (len > ARGV_MAX) {
		len = ARGV_MAX;
		rec->flags |= F_ARGV_TRUNCATED;
	}
	if (len && bpf_probe_read_user(&rec->data[image_len], len, (void *)start) < 0) {
		rec->flags |= F_ARGV_FAULT;
		len = 0;
	}
	rec->argv_len = len;
	send(rec, __builtin_offsetof(struct record, data) + image_len + len);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)ctx->args[0]; /* current, exiting */
	struct signal_struct *sig = READ(task, signal);
	struct task_struct *leader = READ(task, group_leader);
	struct scratch *s;
	struct record *rec;
	__u32 pid;

	if (!sig || !leader)
		return 0;
	if (exit_has_group_dead) {
		if (!ctx->args[1])
			return 0; /* other threads live on */
	} else {
		struct exit_key key = {};
		__u8 one = 1;

		if (READ(sig, live.counter) != 0)
			return 0;
		key.tgid = READ(task, tgid);
		key.leader_start = READ(leader, start_time);
		if (bpf_map_update_elem(&exited, &key, &one, BPF_NOEXIST) < 0)
			return 0; /* another thread of this process sent it */
	}

	s = get_scratch();
	if (!s) {
		count_drop();
		return 0;
	}
	rec = &s->rec;
	rec->time_ns = bpf_ktime_get_boot_ns();
	rec->kind = REC_EXIT;
	rec->flags = 0;
	rec->image_len = 0;
	rec->argv_len = 0;
	fill_ids(rec, task);
	/* What wait(2) reports: the group exit code when the process was ended
	 * as a whole (exit_group, a fatal signal), else the leader's own code. */
	if (READ(sig, flags) & SIGNAL_GROUP_EXIT)
		rec->status = READ(sig, group_exit_code);
	else
		rec->status = READ(leader, exit_code);
	pid = rec->pid;
	bpf_map_delete_elem(&creators, &pid);
	send(rec, __builtin_offsetof(struct record, data));
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
