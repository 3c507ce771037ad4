// Package fanotify is the system-wide file event source: fanotify(7)
// notifications of what happened to files on every filesystem (or under
// Options.Paths), and, with Options.Deny, permission events that hold each
// open (and read) of a regular file until the Handler has answered.
//
// # What it reports
//
// Post events, after the fact, from a notification group that reports the
// directory and name of each entry (FAN_REPORT_DFID_NAME, Linux 5.9, and
// where the kernel has it, 5.17, FAN_REPORT_TARGET_FID and FAN_RENAME):
//
//	FAN_CREATE             Create; Mkdir with FAN_ONDIR; Symlink when the new entry is one
//	FAN_DELETE             Unlink; Rmdir with FAN_ONDIR
//	FAN_RENAME             Rename, Path the old name and Target the new
//	FAN_MOVED_FROM/TO      Rename, the two events paired (kernels before 5.17)
//	FAN_MODIFY             Write: the file was written (or truncated)
//	FAN_CLOSE_WRITE/NOWRITE Close; Flags is O_WRONLY when the file was open for writing
//	FAN_ATTRIB             Setattr (chmod, chown, utimes, link count changes)
//	FAN_OPEN, FAN_ACCESS   Open and Read (no sizes)
//
// The kernel names the directory by a file handle, which the source opens
// (open_by_handle_at through a mount of that filesystem) and reads back
// (/proc/self/fd) when it reads the event, then appends the entry's name.
// So a path is the directory's name when the event was read, not when it
// happened: a directory renamed in between shows its new name, and the
// entries of a directory removed in between (rm -r) get the name the
// source last saw for it, or, if it never saw it, a relative path (the
// entry's name alone), which is dropped when Options.Paths is set. Post
// events carry PID (the process, not the thread: TID equals PID) and its
// user and group ids read from /proc (0 when it has exited; reused for a
// quarter of a second), Time when the source read the event, and Ino,
// Dev and Mode of the object when it still exists. They carry no sizes,
// offsets or results, and the kernel merges repeated events on one name by
// one process while they wait to be read, so a thousand writes can arrive
// as one Write; a merged record is turned back into its operations in the
// only order they can have happened (a name created, written, closed,
// deleted). Opens, reads and closes of directories are not reported.
//
// Pre events, with Options.Deny, from a second group of class
// FAN_CLASS_PRE_CONTENT (else FAN_CLASS_CONTENT): FAN_OPEN_PERM gives an
// Open, FAN_ACCESS_PERM a Read, for regular files only. The kernel hands
// the source an open descriptor of the file, not a name: Path is read
// back from it (/proc/self/fd), so it is absolute with symbolic links
// resolved. That descriptor was opened by the kernel with the group's
// flags (O_RDONLY), not the opener's, so its F_GETFL says nothing about
// the open; instead the source reads the system call the opening thread
// is blocked in from /proc/<tid>/syscall (openat, open, creat, openat2,
// open_by_handle_at; execve for a program's own image) and Flags are the
// flags the opener passed. They are 0 when they cannot be read: a 32-bit
// program (its system calls are numbered otherwise), an open made by the
// kernel on the process's behalf (io_uring, a module load). A Read's
// Length is read(2)'s count and Offset the descriptor's position (or
// pread's offset). Mode, Ino and Dev are the file's, from its cached
// attributes (statx AT_STATX_DONT_SYNC, so never a round trip to a FUSE
// daemon or a network server); an O_CREAT open has already made the file
// when the event is raised, so Mode shows the mode it was made with. A
// creating open is an Open (with O_CREAT in Flags); the post Create
// follows from the notification group. PID is the process (thread group)
// of TID, the thread that opens, and UID and GID its real ids.
//
// # Refusing with an errno
//
// A plain FAN_DENY makes the open (or read) fail with EPERM. Linux 6.14
// added FAN_DENY_ERRNO(e) for pre-content groups, but only for a few
// error numbers: on 6.18 EIO, EAGAIN, EBUSY, ETXTBSY, ENOSPC and EDQUOT.
// EACCES, the natural answer to "permission denied", is refused by the
// kernel (EINVAL), as are ENOENT and the rest. Before placing any mark the
// source probes which errnos the kernel takes (a response for a descriptor
// with no pending event fails with ENOENT when its errno is acceptable and
// EINVAL when not); Source.Errnos and Caps.Limitation list them, and a
// Verdict with any other errno refuses with EPERM (noted once in Logf).
// So a handler that answers EACCES makes cat fail with "Operation not
// permitted" here. Only FUSE (the fusefs source) can return any errno.
//
// # Marks
//
// With no Options.Paths every filesystem in /proc/self/mountinfo is
// marked with FAN_MARK_FILESYSTEM (one mark per filesystem, covering all
// its mounts, bind mounts made later, and its mounts in other mount
// namespaces), except pseudo filesystems that hold no user files (proc,
// sysfs, devtmpfs, devpts, cgroup, ...: /dev's device nodes alone would
// report every write to a terminal). Where the kernel refuses a
// filesystem mark the mount alone is marked, which gets no create, delete
// or rename events; filesystems that cannot report file handles (FUSE
// without export support, some network filesystems) cannot be watched at
// all; both are noted in Logf and Caps.Limitation. The mount table is
// watched (POLLPRI on /proc/self/mountinfo) and new filesystems are
// marked as they appear; an event on a new filesystem in the moment
// before it is marked is not seen. With Options.Paths, each path's
// filesystem and every filesystem mounted below a path are marked, and
// events elsewhere on those filesystems are dropped (notifications) or
// allowed at once (permission events, after reading the path back). So
// with Deny every open on a watched path's filesystem passes through the
// helper, also outside the paths (at a few tens of microseconds each):
// paths on a filesystem of their own keep the rest at native speed.
//
// The source holds no descriptor of any mount between reads (it opens a
// mount point per batch of events to resolve handles), so it never keeps
// a filesystem from being unmounted.
//
// The Interest is asked again every second, and the marks' masks follow
// it: with nobody interested in pre events no permission mark exists, and
// opens cost nothing; FAN_ACCESS_PERM, which holds every read(2) of every
// file, is only asked for while someone wants pre Reads.
//
// # Never hanging the machine
//
// While permission marks exist every open of a regular file on the marked
// filesystems waits for this source, so the process that calls Run must
// never wait for an open it is asked about.
//
// The permission group lives in a helper process: Run starts its own
// binary again (/proc/self/exe, with EBPFHOST_FILE_FANOTIFY_HELPER set;
// this package's init turns that process into the helper), the helper
// marks the filesystems, reads the events, reads /proc, sends each event
// to Run's process over a socket pair and answers the kernel with the
// verdict that comes back, or with "allow" when none comes within
// Options.Timeout (counted in Dropped and Late). The notification group
// lives in Run's process: nothing waits for notifications.
//
// Opens by Run's own process, by the helper, and by children Run's
// process started with vfork that have not yet exec'd are allowed at once
// and not reported. The helper tells them with kcmp(KCMP_VM) (they share
// the memory of Run's process or its own), one system call, on the loop
// that reads the events, before anything touches a filesystem. A vfork
// child's parent thread stays blocked in clone until the child's exec has
// opened its program (and the program's ELF interpreter), keeping its share
// of the Go runtime, so a garbage collection would wait for it: asking the
// Handler could hang the whole process (the process fanotify source found
// this with Go's os/exec; golang/go#21014 is the same trap with FUSE).
// Once the child has exec'd it is a process of its own and its opens are
// asked as anyone's. Where kcmp is missing, every child of Run's process
// is allowed unseen. Notifications caused by Run's process and the helper
// are dropped too, so a Handler that writes a log file does not hear of
// its own writes.
//
// So tests (and tools) that want to see a refusal run the program through
// a shell (sh -c 'cat file'): the shell is the vfork child and is allowed,
// cat is its own process and is asked. A Handler must not wait for a
// process that itself opens a file the source asks about (a child it
// starts and waits for, opening its shared libraries, would ask the same
// Handler again); such an open waits until Options.Timeout.
//
// The helper's loop that reads the events touches no filesystem: each
// event is handed to a goroutine before anything reads /proc or stats the
// file, and descriptors of answered events are closed on another goroutine
// (closing a file on FUSE waits for its daemon, which may itself wait for
// an open). Every event is answered, also when the Handler panics
// (allowed) or overruns the timeout (allowed); on cancellation Run closes
// its end of the socket, the helper allows everything pending and closes
// the group, which makes the kernel allow whatever is still queued; if
// either process dies the same happens (the helper ends when its socket
// reaches end of file, and the kernel releases a dead group's events).
// Messages to Run's process are written straight to the socket; while
// Run's process does not read, at most 4096 wait, and events past that
// are allowed at once and counted in Dropped.
//
// Both groups have unlimited queues (FAN_UNLIMITED_QUEUE); a queue
// overflow, should the kernel still report one, counts one in Dropped.
// BenchmarkOpenDeny and BenchmarkNotify measure the cost of enforcement
// per open and the notification rate the source keeps up with.
package fanotify
