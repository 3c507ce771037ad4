// Package tracepoint is the file event source that watches system calls in
// the kernel: two small eBPF programs (bpf/file.c, compiled and embedded
// as bpf/file.o, so no clang is needed where ebpfhost runs) on the raw
// tracepoints sys_enter and sys_exit send a pre record when a process
// makes a file system call and a post record, with the same id and the
// call's result, when the call returns. Pre and post Times are the
// kernel's (bpf_ktime_get_ns, CLOCK_MONOTONIC, as file.Monotonic), taken
// at entry and exit: the difference is the call's latency (Caps.Latency).
// Nothing can be refused or redirected.
//
// # Why raw tracepoints
//
// Raw tracepoints attach by name (BPF_RAW_TRACEPOINT_OPEN) without tracefs
// and without BTF-typed tracing: fentry, kprobes and BPF LSM are refused
// on the project's machines, and tracefs need not be mounted. Their
// arguments are untyped, so the programs read kernel structures with
// bpf_probe_read_kernel at offsets that CO-RE relocates from the running
// kernel's BTF (/sys/kernel/btf/vmlinux); the kernel needs BTF and the BPF
// ring buffer (Linux 5.8). bpf_d_path is not allowed for raw tracepoints,
// so paths are built by walking dentries and mounts in the program.
//
// # Which calls
//
// User space fills a table from system call number to what the number
// means (syscalls_linux_amd64.go; the program itself knows only argument
// layouts, enum kind in file.c), with whether pre records, post records or
// both are wanted, from Options.Interest, asked again every second. Every
// system call on the machine runs both programs, which for a call not in
// the table stop after one array lookup; for one in the table they skip
// the source's own process, and other processes than Options.PID when it
// is set, before doing anything else.
//
//	open, openat, openat2, creat     Open, or Create when O_CREAT is given (the
//	                                 program cannot tell whether the file existed)
//	read, pread64, readv, preadv(2)  Read; Length the bytes asked for (readv: of the
//	                                 first 16 buffers), Offset the position
//	write, pwrite64, writev, ...     Write, likewise (O_APPEND writes show the
//	                                 position before the call, not the file's end)
//	close                            Close: close(2) of a descriptor, not the last
//	                                 close of the file
//	rename, renameat, renameat2      Rename, Path the old name, Target the new, Flags
//	unlink, unlinkat                 Unlink, or Rmdir with AT_REMOVEDIR
//	rmdir, mkdir, mkdirat            Rmdir, Mkdir (Mode the mode asked for, with S_IFDIR)
//	truncate, ftruncate              Setattr, Offset the new length
//	link, linkat                     Link, Path the existing name, Target the new one
//	symlink, symlinkat               Symlink, Path the new link, Target its contents
//
// Reads, writes, closes and ftruncates are reported only for regular
// files: those of pipes, sockets, terminals and devices are not file
// system operations, and would be most of them. File operations that do
// not go through these calls are not seen: io_uring, writes through
// mmap, sendfile, splice, copy_file_range, and programs that make 32-bit
// system calls (their numbers are another table's). The post record of a
// call that is restarted after a signal carries the kernel's internal
// ERESTART* result (-512 to -516).
//
// # What the events say
//
// PID and TID are the calling process and thread, as this source's pid
// namespace numbers them (processes outside it are not reported); UID and
// GID the caller's real ids. A path a call names is read from the
// caller's memory; a relative one is joined to the path of the directory
// it is relative to (the working directory or dirfd's), as the kernel
// names that directory; then it is made lexically clean ("/a/b/../c" is
// "/a/c"), so symbolic links in it are not resolved and "..", taken
// lexically, can differ from what the kernel resolved. The path of a file
// descriptor (read, write, close, ftruncate) is the open file's, as
// /proc/PID/fd shows it, and Ino, Dev and Mode are its inode's. Paths are
// as the calling process sees them: relative to its root (a chroot or a
// container's root). A path longer than 4095 bytes is cut; a directory
// more than 64 components deep cannot be named, so a name relative to it
// stays as given and a descriptor's path is empty; a path the program
// could not read from the caller's memory (paged out) is empty. The post
// event repeats the pre event's paths and arguments (user space keeps the
// pre event until its post arrives) and adds Result, the call's return
// value (bytes, a descriptor, 0, or -errno); for an open it also carries
// the Ino, Dev and Mode of the file the new descriptor names. Mode on a
// pre Create or Mkdir is the mode asked for, before the umask, with the
// file type added.
//
// # Ids and in-flight calls
//
// An id is a per-CPU counter and the CPU's number. The program keeps each
// thread's call in progress in an array slot chosen by thread id (no hash
// map, no lock: on the path of every watched call), so two threads whose
// ids are equal modulo 65536 and in watched calls at the same moment
// share a slot, and the first one's post record is lost.
//
// # Delivery
//
// Records are copied to a BPF ring buffer (Options.RingBufferSize).
// Waking the reader for every record would cost a wakeup and two thread
// switches per system call, so the program wakes it at most once a
// millisecond, or when a quarter of the buffer is waiting, and the reader
// polls every 3 ms while records flow: events reach the Handler a few
// milliseconds after the call at most. The Handler runs on the goroutine
// that reads the ring buffer, in the order the kernel wrote the records
// (a call's pre before its post), so a slow Handler leads to drops, not to
// memory growth. Records that did not fit, program runs the kernel
// skipped, and post records whose pre record was lost are counted by
// Dropped.
//
// BenchmarkSyscall measures what the source adds to a system call: one
// it does not watch, and watched ones with their events delivered.
//
// # How the object is built
//
// bpf/file.o is built by the go:generate line in tracepoint.go (plain
// clang, the flags internal/clangtest checks) and embedded with go:embed;
// TestObjectUpToDate rebuilds it when the same clang is installed, and
// TestRecordLayout compares record.go with the object's BTF. The program
// reads x86-64 registers (struct pt_regs), so the source runs on amd64
// only; elsewhere Run returns an UnavailableError.
package tracepoint
