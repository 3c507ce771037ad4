/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * file.c: file system calls for ebpfhost's file tracepoint source
 * (internal/source/file/tracepoint). Two raw tracepoint programs:
 *
 *   sys_enter  for a system call user space asked about (the calls map,
 *              indexed by system call number), sends a "pre" record: the
 *              path(s) the call names, made absolute in the kernel, or
 *              the path of the file descriptor it uses; flags, mode,
 *              offset, length; and remembers the call for its thread;
 *   sys_exit   sends the matching "post" record with the result and the
 *              same id.
 *
 * Raw tracepoints attach by name without tracefs and without BTF-typed
 * tracing (fentry, tp_btf, kprobes), which some hardened kernels refuse.
 * Their arguments are untyped, so every kernel read goes through
 * bpf_probe_read_kernel with CO-RE offsets (kernel.h). bpf_d_path is not
 * allowed here, so paths are built by walking dentries and mounts.
 *
 * Rebuild (in this directory) with exactly the flags internal/clangtest
 * checks:
 *   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c file.c -o file.o
 *
 * The record layout and the kinds are mirrored by record.go; change both
 * together (TestRecordLayout compares them).
 */
#include "kernel.h"

#define PATH_MAX 4096 /* bytes of a path in a record, with room for no NUL */
#define NAME_MAX 255  /* bytes of one path component */
#define MAX_WALK 64   /* path components and mount crossings */
#define MAX_IOV 16    /* iovecs summed for readv and writev */
#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_CREAT 0100
#define USER32_CS 0x23 /* x86: code segment of 32-bit programs */
#define S_IFMT 0170000
#define S_IFREG 0100000

/*
 * How a system call passes what the record needs, by argument position.
 * User space maps system call numbers to these (calls map); the number
 * itself differs between architectures, the kind does not.
 */
enum kind {
	K_OPEN = 1,     /* open(path, flags, mode) */
	K_OPENAT,       /* openat(dirfd, path, flags, mode) */
	K_OPENAT2,      /* openat2(dirfd, path, how, size) */
	K_CREAT,        /* creat(path, mode) */
	K_IO,           /* read/write(fd, buf, count) */
	K_PIO,          /* pread64/pwrite64(fd, buf, count, offset) */
	K_IOV,          /* readv/writev(fd, iov, iovcnt) */
	K_PIOV,         /* preadv/pwritev(fd, iov, iovcnt, offset), -1: current (v2) */
	K_CLOSE,        /* close(fd) */
	K_RENAME,       /* rename(old, new) */
	K_RENAMEAT,     /* renameat(olddirfd, old, newdirfd, new) */
	K_RENAMEAT2,    /* renameat2(olddirfd, old, newdirfd, new, flags) */
	K_UNLINK,       /* unlink(path) */
	K_UNLINKAT,     /* unlinkat(dirfd, path, flags): AT_REMOVEDIR makes it rmdir */
	K_RMDIR,        /* rmdir(path) */
	K_MKDIR,        /* mkdir(path, mode) */
	K_MKDIRAT,      /* mkdirat(dirfd, path, mode) */
	K_TRUNCATE,     /* truncate(path, length) */
	K_FTRUNCATE,    /* ftruncate(fd, length) */
	K_LINK,         /* link(old, new) */
	K_LINKAT,       /* linkat(olddirfd, old, newdirfd, new, flags) */
	K_SYMLINK,      /* symlink(target, linkpath) */
	K_SYMLINKAT,    /* symlinkat(target, newdirfd, linkpath) */
	K_MAX,
};

/* Operations, numbered as file.Op (internal/source/file/source.go). */
enum op {
	OP_OPEN = 1,
	OP_CREATE = 2,
	OP_READ = 3,
	OP_WRITE = 4,
	OP_CLOSE = 5,
	OP_RENAME = 6,
	OP_UNLINK = 7,
	OP_MKDIR = 8,
	OP_RMDIR = 9,
	OP_SETATTR = 10,
	OP_SYMLINK = 11,
	OP_LINK = 12,
};

enum {
	WANT_PRE = 1,  /* send the pre record */
	WANT_POST = 2, /* send the post record (the pre record is sent too) */
};

enum {
	F_POST = 1 << 0,       /* a post record */
	F_PATH_TRUNC = 1 << 1, /* a path was cut: too long or too deep */
	F_PATH_FAULT = 1 << 2, /* a path could not be read from the process */
	F_INODE = 1 << 3,      /* ino, dev and mode are the file's */
	F_POST_FOLLOWS = 1 << 4, /* a post record with this id will follow */
};

/* What user space configured for one system call number. */
struct call {
	__u8 kind; /* enum kind, 0: not watched */
	__u8 op;   /* enum op, for the kinds whose operation it does not decide */
	__u8 want; /* WANT_* */
	__u8 pad;
};

struct record {
	__u64 id;      /* shared by the pre and post records of one call */
	__u64 time_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__s64 result;  /* post: the return value */
	__s64 offset;
	__u64 length;
	__u64 ino;
	__u32 dev; /* the kernel's dev_t: major << 20 | minor */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u32 flags; /* open flags, rename flags, ... */
	__u32 mode;
	__u16 path_len;   /* data[0:path_len] */
	__u16 target_len; /* data[path_len:path_len+target_len] */
	__u8 op;          /* enum op */
	__u8 rflags;      /* F_* */
	__u8 kind;        /* enum kind */
	__u8 pad;
	char data[2 * PATH_MAX];
};

/*
 * A path is built in a pathbuf: a directory's path backwards so that it
 * ends at DIR_END, then '/', then the name as the process gave it from
 * NAME_AT. The result is contiguous from wherever the directory starts.
 */
#define DIR_END PATH_MAX
#define NAME_AT (PATH_MAX + 1)
struct pathbuf {
	char b[NAME_AT + PATH_MAX + NAME_MAX + 1];
};

struct scratch {
	struct record rec;
	struct pathbuf pb[2];
	__u64 iov[2 * MAX_IOV];
};

/* Per-CPU scratch space: a record and its paths are too big for the
 * 512-byte stack. Raw tracepoint programs do not nest on one CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* System call number -> what to do (user space fills it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

/*
 * The call in progress on each thread, from sys_enter to sys_exit, in a
 * slot chosen by thread id. An array, not a hash: looking a slot up is a
 * few instructions the JIT inlines, with no lock and no allocation, on
 * the path of every watched system call. Two threads whose ids are equal
 * modulo INFLIGHT and in watched calls at the same moment share a slot;
 * the one that started second wins it, and the other's post record is not
 * sent (the slot remembers its thread).
 */
#define INFLIGHT 65536
struct inflight {
	__u64 id; /* 0: free */
	__u32 tid;
	__u8 op;
	__u8 kind;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INFLIGHT);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may change it */
} events SEC(".maps");

/* Per-CPU counters: [0] ids handed out, [1] records lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* When the reader was last woken: [0], in bpf_ktime_get_ns. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} woken SEC(".maps");

/* Set by user space before loading. */
volatile const __u64 wakeup_ns = 1000000;  /* wake the reader at most this often... */
volatile const __u64 wakeup_bytes = 1 << 20; /* ...unless this much is waiting */
volatile const __u32 self_tgid = 0;   /* the source's own process: never reported */
volatile const __u32 filter_tgid = 0; /* only this process, when not 0 */
volatile const __u64 pidns_dev = 0;   /* when not 0: report pids as this pid namespace sees them */
volatile const __u64 pidns_ino = 0;

/* The enums' last values, which put the enums in the object's BTF for
 * TestRecordLayout. */
volatile const enum kind kind_max = K_MAX;
volatile const enum op op_max = OP_LINK;

static __always_inline void count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &which);
	if (n)
		*n += 1;
}

/*
 * send copies a record to the ring buffer. Waking the reader for each
 * record would cost a wakeup and two thread switches per system call while
 * the reader keeps up; instead the reader is woken at most every
 * wakeup_ns (so the first record after a quiet spell still wakes it at
 * once) or when wakeup_bytes are waiting, and it polls while records flow
 * (tracepoint.go, flushWindow).
 */
static __always_inline void send(struct record *rec, __u64 size)
{
	__u32 zero = 0;
	__u64 *last = bpf_map_lookup_elem(&woken, &zero);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!last || rec->time_ns - *last >= wakeup_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		if (last)
			*last = rec->time_ns;
	}
	if (bpf_ringbuf_output(&events, rec, size, flags) < 0)
		count(1);
}

/*
 * read_dentry reads a dentry's parent and name. Each helper call costs
 * tens of nanoseconds and the walk makes them per path component, so the
 * three fields, neighbours in every kernel (d_parent, then d_name's
 * length and pointer), are copied at once when the running kernel's
 * offsets (CO-RE) put them within DENTRY_SPAN bytes, and one by one
 * otherwise. The offsets are constants once relocated: the verifier sees
 * only the branch taken.
 */
#define DENTRY_SPAN 32
static __always_inline void read_dentry(struct dentry *d, struct dentry **parent, __u32 *len,
					const unsigned char **name)
{
	__u32 base = FIELD_OFFSET(struct dentry, d_parent);
	__u32 o_len = FIELD_OFFSET(struct dentry, d_name.len);
	__u32 o_name = FIELD_OFFSET(struct dentry, d_name.name);

	if (o_len >= base && o_name >= base && o_len + 4 <= base + DENTRY_SPAN && o_name + 8 <= base + DENTRY_SPAN &&
	    o_len % 4 == 0 && (o_name - base) % 8 == 0) {
		__u64 buf[DENTRY_SPAN / 8];
		bpf_probe_read_kernel(buf, sizeof(buf), (void *)d + base);
		*parent = (void *)buf[0];
		*len = *(__u32 *)((char *)buf + ((o_len - base) & (DENTRY_SPAN - 4)));
		*name = (void *)buf[((o_name - base) / 8) & (DENTRY_SPAN / 8 - 1)];
		return;
	}
	*parent = READ(d, d_parent);
	*len = READ(d, d_name.len);
	*name = READ(d, d_name.name);
}

/*
 * walk writes the path of (mnt, d) as process root (root_mnt, root_d)
 * sees it backwards into pb so that it ends at DIR_END, and returns where
 * it starts: DIR_END for the root itself (an empty string), -1 when the
 * path is deeper than MAX_WALK or longer than PATH_MAX (the part written
 * is then dropped). Kernel pointers travel as integers: to the verifier a
 * global function's pointer arguments are memory it can check, which
 * kernel structures are not.
 *
 * A global function, so that the verifier checks it once rather than at
 * every call.
 */
__noinline int walk(struct pathbuf *pb, __u64 mnt_p, __u64 d_p, __u64 root_mnt, __u64 root_d)
{
	struct vfsmount *vmnt = (void *)mnt_p;
	struct dentry *d = (void *)d_p, *mnt_root;
	struct mount *mnt;
	__u32 pos = DIR_END;
	int i, done = 0;

	if (!pb || !vmnt || !d)
		return -1;
	mnt = (void *)vmnt - FIELD_OFFSET(struct mount, mnt);
	mnt_root = READ(vmnt, mnt_root);
	for (i = 0; i < MAX_WALK; i++) {
		struct dentry *parent;
		const unsigned char *name;
		__u32 len;
		int last;

		if ((__u64)d == root_d && (__u64)vmnt == root_mnt) {
			done = 1; /* the process's root (chroot, container) */
			break;
		}
		if (d == mnt_root) {
			struct mount *up;
			struct dentry *point;
			READ2(mnt, mnt_parent, mnt_mountpoint, up, point);
			if (!up || up == mnt) {
				done = 1; /* the root of the mount namespace */
				break;
			}
			d = point;
			mnt = up;
			vmnt = (void *)mnt + FIELD_OFFSET(struct mount, mnt);
			mnt_root = READ(vmnt, mnt_root);
			continue;
		}
		/* A dentry that is its own parent but not the mount's root
		 * heads a tree not reachable from any mount (a memfd, a file of
		 * a lazily unmounted filesystem): its name ends the walk, as
		 * d_path shows it. */
		read_dentry(d, &parent, &len, &name);
		last = !parent || parent == d;
		if (len == 0 || len > NAME_MAX || pos < len + 1)
			return -1;
		/* pos is masked after each change: the verifier then knows only
		 * its range, the same in every iteration, and checks the loop
		 * body once per iteration instead of once per pos it could have. */
		pos = (pos - len) & (PATH_MAX - 1);
		bpf_probe_read_kernel(&pb->b[pos], len & NAME_MAX, name);
		pos = (pos - 1) & (PATH_MAX - 1);
		pb->b[pos] = '/';
		if (last) {
			done = 1;
			break;
		}
		d = parent;
	}
	if (!done)
		return -1;
	return pos;
}

/* The file open as fd in the current task, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct files_struct *files = READ(task, files);
	struct fdtable *fdt;
	struct file **arr;
	struct file *f = NULL;
	unsigned int max;

	if (!files || fd < 0)
		return NULL;
	fdt = READ(files, fdt);
	if (!fdt)
		return NULL;
	max = READ(fdt, max_fds);
	if ((__u64)fd >= max)
		return NULL;
	arr = READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

/* Walks the path of a struct path (at p) into pb; returns where it starts. */
static __always_inline int walk_path(struct pathbuf *pb, struct path *p, struct fs_struct *fs)
{
	__u64 root_mnt = 0, root_d = 0;

	__u64 mnt, d;

	if (fs)
		READ2(fs, root.mnt, root.dentry, root_mnt, root_d);
	READ2(p, mnt, dentry, mnt, d);
	return walk(pb, mnt, d, root_mnt, root_d);
}

/* Adds a built path to the record after what is there; which is 0 for
 * Path, 1 for Target. */
static __always_inline void put(struct scratch *s, int which, __u32 start, __u32 end)
{
	struct record *rec = &s->rec;
	__u32 len = end > start ? end - start : 0;
	__u32 at = which ? rec->path_len : 0;

	if (len > PATH_MAX - 1) {
		len = PATH_MAX - 1;
		rec->rflags |= F_PATH_TRUNC;
	}
	if (len)
		bpf_probe_read_kernel(&rec->data[at & (PATH_MAX - 1)], len & (PATH_MAX - 1),
				      &s->pb[which & 1].b[start & (2 * PATH_MAX - 1)]);
	if (which)
		rec->target_len = len;
	else
		rec->path_len = len;
}

/* The path of the file open as fd, as Path (which 0) or Target (1); its
 * inode fills the record. Returns 0, sending nothing, unless fd is a
 * regular file: reads and writes of pipes, sockets, terminals and devices
 * are not file system operations, and would be most of them. Global, like
 * walk, and for the same reason. */
__noinline int fd_path(struct scratch *s, int which, __u64 task_p, long fd)
{
	struct task_struct *task = (void *)task_p;
	struct super_block *sb;
	struct pathbuf *pb;
	struct file *f;
	struct inode *ino;
	int start;

	if (!s)
		return 0;
	pb = &s->pb[which & 1];
	f = fd_file(task, fd);
	if (!f)
		return 0;
	ino = READ(f, f_inode);
	if (!ino)
		return 0;
	s->rec.mode = READ(ino, i_mode);
	if ((s->rec.mode & S_IFMT) != S_IFREG)
		return 0;
	sb = READ(ino, i_sb);
	s->rec.ino = READ(ino, i_ino);
	s->rec.dev = sb ? READ(sb, s_dev) : 0;
	s->rec.rflags |= F_INODE;
	start = walk_path(pb, &f->f_path, READ(task, fs));
	if (start < 0) {
		s->rec.rflags |= F_PATH_TRUNC;
		return 1;
	}
	if (start == DIR_END) {
		start = DIR_END - 1; /* the root: "/" */
		pb->b[start & (PATH_MAX - 1)] = '/';
	}
	put(s, which, start, DIR_END);
	return 1;
}

/*
 * The path a system call names (name, relative to dirfd), made absolute:
 * read from the process's memory, and for a relative name prefixed with
 * the path of dirfd's directory or of the working directory. Global.
 */
__noinline int user_path(struct scratch *s, int which, __u64 task_p, long dirfd, __u64 name)
{
	struct task_struct *task = (void *)task_p;
	struct pathbuf *pb;
	int start = NAME_AT;
	long n;

	if (!s)
		return 0;
	pb = &s->pb[which & 1];
	n = bpf_probe_read_user_str(&pb->b[NAME_AT], PATH_MAX, (void *)name);
	if (n <= 0) {
		s->rec.rflags |= F_PATH_FAULT;
		return 0;
	}
	n -= 1; /* the NUL */
	if (pb->b[NAME_AT] != '/') {
		struct fs_struct *fs = READ(task, fs);
		if (dirfd == AT_FDCWD) {
			start = fs ? walk_path(pb, &fs->pwd, fs) : -1;
		} else {
			struct file *f = fd_file(task, dirfd);
			start = f ? walk_path(pb, &f->f_path, fs) : -1;
		}
		if (start < 0) {
			/* Too deep or no directory: the name as given. */
			s->rec.rflags |= F_PATH_TRUNC;
			start = NAME_AT;
		} else {
			pb->b[DIR_END] = '/';
		}
	}
	put(s, which, start, NAME_AT + (n & (PATH_MAX - 1)));
	return 0;
}

/* The byte count of iovcnt iovecs at iov (the first MAX_IOV). */
static __always_inline __u64 iov_len(struct scratch *s, const void *iov, __u64 iovcnt)
{
	__u64 total = 0, size;
	int i;

	if (iovcnt > MAX_IOV)
		iovcnt = MAX_IOV;
	size = iovcnt * 16; /* struct iovec { void *base; size_t len; } */
	if (size > sizeof(s->iov))
		size = sizeof(s->iov);
	if (!size || bpf_probe_read_user(s->iov, size, iov) < 0)
		return 0;
	for (i = 0; i < MAX_IOV; i++) {
		if (i >= iovcnt)
			break;
		total += s->iov[2 * i + 1];
	}
	return total;
}

/* The ids of the current process and thread, in the configured pid
 * namespace; false when it is not to be reported. */
static __always_inline int current_ids(__u32 *pid, __u32 *tid)
{
	if (pidns_ino) {
		struct bpf_pidns_info ns = {};
		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)) < 0)
			return 0; /* a process outside our namespace: no name for it */
		*pid = ns.tgid;
		*tid = ns.pid;
	} else {
		__u64 pt = bpf_get_current_pid_tgid();
		*pid = pt >> 32;
		*tid = (__u32)pt;
	}
	if (*pid == self_tgid)
		return 0;
	if (filter_tgid && *pid != filter_tgid)
		return 0;
	return 1;
}

/*
 * The system call arguments in regs (x86-64: di, si, dx, r10, r8, r9), or
 * 0 for a 32-bit program's call, whose numbers are another table's. The
 * registers are copied in one helper call, up to the last one needed, and
 * picked at their CO-RE offsets.
 */
#define REGS_MAX 256 /* a power of two: indexes are masked with REGS_MAX / 8 - 1 */
static __always_inline int read_args(struct pt_regs *regs, __u64 a[6])
{
	__u64 buf[REGS_MAX / 8];
	__u32 off[7] = {
		FIELD_OFFSET(struct pt_regs, di), FIELD_OFFSET(struct pt_regs, si),
		FIELD_OFFSET(struct pt_regs, dx), FIELD_OFFSET(struct pt_regs, r10),
		FIELD_OFFSET(struct pt_regs, r8), FIELD_OFFSET(struct pt_regs, r9),
		FIELD_OFFSET(struct pt_regs, cs),
	};
	__u32 end = 0;
	int i;

	for (i = 0; i < 7; i++) {
		if (off[i] % 8 || off[i] + 8 > REGS_MAX)
			return 0;
		if (off[i] + 8 > end)
			end = off[i] + 8;
	}
	if (bpf_probe_read_kernel(buf, end & (REGS_MAX * 2 - 1), regs) < 0)
		return 0;
	if ((buf[(off[6] / 8) & (REGS_MAX / 8 - 1)] & 0xffff) == USER32_CS)
		return 0;
	for (i = 0; i < 6; i++)
		a[i] = buf[(off[i] / 8) & (REGS_MAX / 8 - 1)];
	return 1;
}

SEC("raw_tracepoint/sys_enter")
int on_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = ctx->args[1];
	struct call *c = bpf_map_lookup_elem(&calls, &nr);
	__u64 task;
	struct scratch *s;
	struct record *rec;
	__u32 zero = 0, pid, tid;
	__u64 a[6], uidgid, *ctr;
	__u8 kind, op;

	if (!c || !c->kind || !c->want)
		return 0;
	kind = c->kind;
	op = c->op;
	if (!current_ids(&pid, &tid))
		return 0;
	if (!read_args((struct pt_regs *)ctx->args[0], a))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	ctr = bpf_map_lookup_elem(&counters, &zero);
	if (!s || !ctr) {
		count(1);
		return 0;
	}
	task = bpf_get_current_task();
	rec = &s->rec;
	*ctr += 1;
	rec->id = *ctr << 12 | (bpf_get_smp_processor_id() & 0xfff);
	rec->time_ns = bpf_ktime_get_ns();
	rec->result = 0;
	rec->offset = 0;
	rec->length = 0;
	rec->ino = 0;
	rec->dev = 0;
	rec->pid = pid;
	rec->tid = tid;
	uidgid = bpf_get_current_uid_gid();
	rec->uid = (__u32)uidgid;
	rec->gid = uidgid >> 32;
	rec->flags = 0;
	rec->mode = 0;
	rec->path_len = 0;
	rec->target_len = 0;
	rec->rflags = 0;
	rec->kind = kind;

	switch (kind) {
	case K_OPEN:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		rec->flags = a[1];
		rec->mode = a[1] & O_CREAT ? a[2] : 0;
		op = a[1] & O_CREAT ? OP_CREATE : OP_OPEN;
		break;
	case K_OPENAT:
		user_path(s, 0, task, a[0], a[1]);
		rec->flags = a[2];
		rec->mode = a[2] & O_CREAT ? a[3] : 0;
		op = a[2] & O_CREAT ? OP_CREATE : OP_OPEN;
		break;
	case K_OPENAT2: {
		__u64 how[2] = {};
		user_path(s, 0, task, a[0], a[1]);
		bpf_probe_read_user(how, sizeof(how), (void *)a[2]);
		rec->flags = how[0];
		rec->mode = how[0] & O_CREAT ? how[1] : 0;
		op = how[0] & O_CREAT ? OP_CREATE : OP_OPEN;
		break;
	}
	case K_CREAT:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		rec->flags = 01 | O_CREAT | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
		rec->mode = a[1];
		op = OP_CREATE;
		break;
	case K_IO:
	case K_PIO:
	case K_IOV:
	case K_PIOV: {
		struct file *f;
		if (!fd_path(s, 0, task, a[0]))
			return 0;
		rec->length = kind == K_IO || kind == K_PIO ? a[2] : iov_len(s, (void *)a[1], a[2]);
		if (kind == K_PIO || (kind == K_PIOV && (__s64)a[3] != -1)) {
			rec->offset = a[3];
		} else {
			f = fd_file((void *)task, a[0]);
			rec->offset = f ? READ(f, f_pos) : 0;
		}
		break;
	}
	case K_CLOSE:
		if (!fd_path(s, 0, task, a[0]))
			return 0;
		break;
	case K_FTRUNCATE:
		if (!fd_path(s, 0, task, a[0]))
			return 0;
		rec->offset = a[1];
		break;
	case K_TRUNCATE:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		rec->offset = a[1];
		break;
	case K_UNLINK:
	case K_RMDIR:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		break;
	case K_UNLINKAT:
		user_path(s, 0, task, a[0], a[1]);
		rec->flags = a[2];
		op = a[2] & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK;
		break;
	case K_MKDIR:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		rec->mode = a[1];
		break;
	case K_MKDIRAT:
		user_path(s, 0, task, a[0], a[1]);
		rec->mode = a[2];
		break;
	case K_RENAME:
	case K_LINK:
		user_path(s, 0, task, AT_FDCWD, a[0]);
		user_path(s, 1, task, AT_FDCWD, a[1]);
		break;
	case K_RENAMEAT:
	case K_RENAMEAT2:
	case K_LINKAT:
		user_path(s, 0, task, a[0], a[1]);
		user_path(s, 1, task, a[2], a[3]);
		rec->flags = kind == K_RENAMEAT ? 0 : a[4];
		break;
	case K_SYMLINK:
	case K_SYMLINKAT: {
		/* Path is the new link, Target what it points to, verbatim. */
		struct pathbuf *pb = &s->pb[1];
		long n;
		if (kind == K_SYMLINK)
			user_path(s, 0, task, AT_FDCWD, a[1]);
		else
			user_path(s, 0, task, a[1], a[2]);
		n = bpf_probe_read_user_str(&pb->b[NAME_AT], PATH_MAX, (void *)a[0]);
		if (n > 0)
			put(s, 1, NAME_AT, NAME_AT + ((n - 1) & (PATH_MAX - 1)));
		else
			rec->rflags |= F_PATH_FAULT;
		break;
	}
	default:
		return 0;
	}
	rec->op = op;

	if (c->want & WANT_POST) {
		__u32 slot = tid & (INFLIGHT - 1);
		struct inflight *in = bpf_map_lookup_elem(&inflight, &slot);
		if (in) {
			in->tid = tid;
			in->op = op;
			in->kind = kind;
			in->id = rec->id;
			rec->rflags |= F_POST_FOLLOWS;
		}
	}
	send(rec, __builtin_offsetof(struct record, data) + ((rec->path_len + rec->target_len) & (2 * PATH_MAX - 1)));
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	__u32 nr = READ(regs, orig_ax);
	struct call *c = bpf_map_lookup_elem(&calls, &nr);
	struct inflight *in;
	struct scratch *s;
	struct record *rec;
	__u32 zero = 0, tid, slot;
	__u64 uidgid;

	if (!c || !c->kind || !(c->want & WANT_POST))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	slot = tid & (INFLIGHT - 1);
	in = bpf_map_lookup_elem(&inflight, &slot);
	if (!in || !in->id || in->tid != tid)
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s) {
		in->id = 0;
		count(1);
		return 0;
	}
	rec = &s->rec;
	rec->id = in->id;
	rec->op = in->op;
	rec->kind = in->kind;
	in->id = 0;
	rec->time_ns = bpf_ktime_get_ns();
	rec->result = (__s64)ctx->args[1];
	if (!current_ids(&rec->pid, &rec->tid))
		rec->pid = rec->tid = 0;
	uidgid = bpf_get_current_uid_gid();
	rec->uid = (__u32)uidgid;
	rec->gid = uidgid >> 32;
	rec->offset = 0;
	rec->length = 0;
	rec->ino = 0;
	rec->dev = 0;
	rec->flags = 0;
	rec->mode = 0;
	rec->path_len = 0;
	rec->target_len = 0;
	rec->rflags = F_POST;
	if ((rec->kind == K_OPEN || rec->kind == K_OPENAT || rec->kind == K_OPENAT2 || rec->kind == K_CREAT) &&
	    rec->result >= 0) {
		/* The file the new descriptor names. */
		struct file *f = fd_file((void *)bpf_get_current_task(), rec->result);
		struct inode *ino = f ? READ(f, f_inode) : NULL;
		if (ino) {
			struct super_block *sb = READ(ino, i_sb);
			rec->ino = READ(ino, i_ino);
			rec->mode = READ(ino, i_mode);
			rec->dev = sb ? READ(sb, s_dev) : 0;
			rec->rflags |= F_INODE;
		}
	}
	send(rec, __builtin_offsetof(struct record, data));
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
