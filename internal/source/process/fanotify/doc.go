// Package fanotify is the process event source that can refuse an exec: a
// fanotify group with FAN_OPEN_EXEC_PERM marked on every filesystem makes
// the kernel stop each execve at the moment it opens the executable, hand
// this source an open file descriptor of it and the thread doing the exec,
// and wait for an allow or deny answer.
//
// # What it sees
//
// A Create is delivered before the new program runs, so the Handler's
// verdict can still refuse it (Caps.Deny). The event carries:
//
//   - PID: the process calling execve (its thread group id, in this
//     source's pid namespace; 0 when the process is in a pid namespace this
//     source cannot see into). The group reports the calling thread
//     (FAN_REPORT_TID, Linux 4.20), and its process is read from
//     /proc/<tid>/status, so an exec by any thread is named by its process.
//   - Image: the path of the opened executable, read back from the event's
//     file descriptor (readlink of /proc/self/fd/N), so it is absolute,
//     symbolic links resolved, and named as this source's mount namespace
//     sees the file. For a "#!" script Image is the script, the file execve
//     named, whereas /proc/<pid>/exe (and the tracepoint and connector
//     sources) show the interpreter: refusing a script needs the script's
//     name.
//   - Argv: the arguments the caller passed to execve or execveat,
//     argv[0] as the caller chose it, exactly (any bytes but NUL, empty
//     arguments kept), up to MaxArgvBytes (1 MiB: bytes plus one NUL per
//     argument; a longer list is cut, its last argument partly, and counted
//     by Source.Truncated). At this point the kernel has not yet copied
//     them (it opens the program first), and the caller is blocked in the
//     system call, so the source reads the call's number and arguments
//     from /proc/<tid>/syscall and the pointer array and strings from
//     /proc/<tid>/mem (execve and execveat of 64-bit amd64 and arm64
//     programs and of 32-bit programs on those kernels). For a script they
//     are the script's arguments as the caller gave them, not the
//     interpreter's command line the kernel then builds. Argv is nil when
//     they cannot be read (the process ended, Yama ptrace_scope 3, an x32
//     program). Another thread of the caller could still change the
//     strings between this read and the kernel's copy: for refusing
//     programs Image is what counts, Argv is what the caller asked for.
//   - PPID and UID (real user id), from /proc/<tid>/status at the time of
//     the event. The exec has not happened yet, so a set-user-ID program
//     does not change them.
//   - CreatorPID and CreatorTID: fanotify does not say who forked the
//     process, so both are the parent's pid (the creator, unless the process
//     was re-parented; the forking thread is unknown, so its main thread is
//     named).
//   - Created: the time the event was read.
//
// Exits are not seen at all (Caps.Exits false).
//
// # One Create per execve
//
// The kernel raises FAN_OPEN_EXEC_PERM for every file an execve opens for
// execution, and one execve opens up to three: measured on Linux 6.18,
// a dynamically linked program gives two events (the program, then its ELF
// interpreter, ld-linux), a static program one, a "#!/bin/sh" script three
// (the script, /bin/sh's binary, then ld-linux), all from the same thread
// and each only after the previous one was answered. "sh script.sh" gives
// only sh's two: a script that an interpreter reads as data is an ordinary
// open, not an exec, and is not seen.
//
// So that a Handler sees one Create per execve, the source reads the
// interpreter each image names (PT_INTERP for ELF, the "#!" line for
// scripts; see interp.go) before answering, and when the same thread's next
// event opens exactly that file (same device and inode, resolved in the
// process's root or working directory), it is answered "allow" without a
// Create: it is the same exec continuing, already allowed. Everything else,
// including running the loader directly ("ld-linux.so prog"), is a Create.
// The known gap: if an exec fails after its executable was opened (for
// instance E2BIG for too long an argument list) and the same thread then
// directly runs that executable's interpreter within a few seconds, that
// second exec is taken for the continuation and not shown to the Handler.
// binfmt_misc interpreters (qemu-user, wine) are not recognised and produce
// a second Create.
//
// # Marks
//
// Every mount in /proc/self/mountinfo is marked, with FAN_MARK_FILESYSTEM
// where the kernel allows it (covering every mount of that filesystem in
// any mount namespace, including bind mounts made later), else with
// FAN_MARK_MOUNT. procfs refuses permission marks of both kinds (EINVAL);
// it holds no executables (/proc/self/exe and /proc/<pid>/fd/N lead the
// open to the real file's filesystem), and such pseudo filesystems are
// skipped with a note without clearing Caps.AllMounts. Mounts hidden under
// another mount at the same path cannot be reached by path and are skipped
// with a note. While Run runs, the mount table is watched (the kernel
// flags /proc/self/mountinfo with POLLPRI when it changes) and new
// filesystems are marked; an exec from a new mount in the short time
// before it is marked is not seen. Filesystems mounted only in other mount
// namespaces (a container's overlayfs root, for example) do not appear in
// this source's mountinfo and are not seen.
//
// # Refusing with an errno
//
// A plain FAN_DENY makes execve fail with EPERM. Linux 6.14 added
// FAN_DENY_ERRNO(e), the response FAN_DENY | e<<24, for groups of class
// FAN_CLASS_PRE_CONTENT only, and only for a few error numbers: on 6.18,
// EIO, EAGAIN, EBUSY, ETXTBSY, ENOSPC and EDQUOT (and EPERM, which plain
// FAN_DENY gives anyway); EACCES, ENOENT, EINVAL, ENOEXEC and every other
// errno are refused with EINVAL. The source asks for a pre-content group
// (falling back to a content group where that class is refused) and, before
// placing any mark, probes which errnos the kernel takes: the kernel
// validates a response before it looks for the event it answers, so a
// response for a descriptor with no pending event fails with ENOENT when
// its errno is acceptable and with EINVAL when it is not. Source.Errnos and
// Caps.Limitation then say which errnos a refusal can carry here; a
// Verdict with any other errno refuses the exec with EPERM.
//
// # Never hanging the machine
//
// While the source runs, every exec on the machine waits for it, so the
// process that calls Run must never wait for an exec it is asked about.
// Three rules ensure that.
//
// The fanotify group lives in a helper process, not in the process that
// calls Run: Run starts its own binary again (/proc/self/exe, with
// EBPFHOST_FANOTIFY_HELPER set; this package's init turns that process
// into the helper), the helper marks the mounts, reads the events, reads
// /proc, sends each exec to Run's process over a socket pair and answers
// the kernel with the verdict that comes back, or with "allow" when none
// comes within Options.Timeout (counted in Dropped and Late).
//
// Execs by Run's own process, and by children it started with vfork that
// have not yet exec'd, are answered "allow" at once, and the latter are
// reported to the Handler afterwards, whose verdict is then ignored: such
// a child shares Run's memory until its exec (the helper checks with
// kcmp(KCMP_VM)), and the Run-process thread that made it stays blocked in
// clone until the exec is answered. Go's os/exec starts every child that
// way, and the blocked thread keeps its share of the Go runtime (its P):
// a garbage collection that stops the world waits for it, and since Go
// 1.21 several children can be started at once, so with GOMAXPROCS such
// children pending nothing in the process can run at all. Asking the
// Handler about them would hang the process (measured: with 8 goroutines
// starting shells on 2 CPUs, every exec stalled until a timeout; golang/go
// #21014 is the same trap with FUSE). So the host process cannot refuse
// what it starts itself with os/exec; whatever those children start in
// turn (a shell's commands) is decided as usual. For these children the
// helper touches no file system at all (Run's process may be the daemon
// of the one the program is on): Image comes from procfs alone, the
// interpreter chain is not followed, and later events of the same
// vforked thread, while it still shares Run's memory, are taken for its
// exec's continuation and not reported.
//
// The helper's loops never touch a file system either: the one reading
// events hands each to a goroutine of its own before anything reads the
// opened file, stats a name or reads another process's memory, and
// descriptors of answered events are closed on another goroutine (closing
// a FUSE file waits for its daemon, which may itself wait for an exec).
// A read that blocks so (on a FUSE daemon, or on the memory lock of a
// process whose other thread waits for an exec) holds up that one exec
// until what it waits for is answered, never the others.
//
// Every event is answered even when the Handler panics (allowed: the
// source fails open) or overruns Options.Timeout (allowed); on
// cancellation Run closes its end of the socket, the helper allows
// everything pending and closes the fanotify descriptor, which makes the
// kernel allow whatever is still queued; if either process dies the same
// happens (the helper ends when its socket reaches end of file, and the
// kernel releases a dead group's events). Run returns without waiting for
// Handler calls still in progress; their verdicts are ignored. A Handler
// that blocks on something that itself waits for an exec (a lock held by a
// goroutine waiting for a child other than a vfork one, say) delays that
// exec until the timeout.
//
// Events are read with a 64 KiB buffer, and each is handled on its own
// goroutine in both processes, so a slow verdict for one process does not
// delay others. The helper runs on one P (GOMAXPROCS 1): its work per exec
// is a short burst passed between goroutines, which then need not wake
// other threads. Messages to Run are written straight to the socket, and
// queued only while Run's process does not read (up to 64 MiB, past which
// execs are allowed without a verdict and counted in Dropped). The queue is unlimited (FAN_UNLIMITED_QUEUE), so overflow
// should not happen; if the kernel reports FAN_Q_OVERFLOW anyway it is
// counted in Dropped (the kernel allows permission events it could not
// queue). If the source runs out of file descriptors the kernel denies the
// exec it could not hand over; that is logged. See BenchmarkExec for the
// latency the source adds to an exec.
package fanotify
