// Package fusefs is the file event source that interposes on a directory:
// it mounts a FUSE filesystem (hanwen/go-fuse v2) over the directory, or
// at a separate mount point, and serves every operation on it itself, from
// a descriptor of the directory underneath. Each operation is shown to the
// Handler before it happens, and the verdict is obeyed: refused with an
// errno (the file untouched), or for an open, redirected to another file;
// then it is done and shown again with its result. It is the only file
// source that can refuse and redirect every operation and time it.
//
// # Mounting
//
// With Options.MountPoint empty the mount covers Options.Dir itself: the
// source opens Dir first, mounts over it, and serves every operation
// relative to that descriptor with *at system calls (openat2 with
// RESOLVE_BENEATH for opens and for the directories operated in, so that
// a symbolic link swapped into the tree cannot lead the source, which runs
// as root, outside it). Every process that names a path under Dir from
// then on goes through the source. With a MountPoint, Dir stays reachable
// directly and only accesses under MountPoint are seen.
//
// The source mounts with mount(2) itself (go-fuse's direct mount; no
// fusermount), so it needs root (CAP_SYS_ADMIN) and /dev/fuse; without
// them Run returns a *file.UnavailableError saying what to do. The mount
// is "fuse.ebpfhost" in /proc/self/mountinfo, with allow_other (every
// user's processes go through it); it keeps the underlying mount's
// nosuid, nodev, noexec and read-only flags. The kernel caches names and
// attributes for one second, so a change made beside the mount (directly
// in Dir, with a separate mount point) may take that long to show.
//
// # Permissions
//
// The source opens everything as root, so the kernel checks each caller's
// permissions before asking it: the mount has default_permissions and
// POSIX ACL support (FUSE_POSIX_ACL), so mode bits and the files' access
// ACLs decide as they would on the directory itself (with mode bits alone
// an ACL entry refusing a user would be ignored). What a caller creates is
// then given to the caller: owner, and group unless the directory is
// set-group-ID; and the mode the caller asked for (masked with its umask
// by the kernel), or, in a directory with a default ACL, the permissions
// the filesystem derived from it. The caller's umask applies even where a
// default ACL exists, so such files can be more restrictive than natively.
//
// Writes and truncations by root keep set-user-ID and set-group-ID bits; by
// anyone else the kernel would clear them. The mount leaves that to the
// source (FUSE_HANDLE_KILLPRIV_V2), which clears them when a caller other
// than root writes, truncates or opens with O_TRUNC such a file (callers
// other than root stand for callers without CAP_FSETID); in exchange the
// kernel stops asking for security.capability before every write(2), a
// round trip that cost passthrough writes a third of their throughput. A
// set-ID file that a caller other than root opens for writing is therefore
// never passed through (see Data I/O); one made set-ID while already open
// with passthrough keeps its bits on later writes through that open.
//
// When Run starts it first removes a dead mount at the mount point: a run
// that crashed (SIGKILL, say) leaves a FUSE mount whose server is gone,
// on which every access fails with ENOTCONN ("Transport endpoint is not
// connected"). statfs reaches the server even when stat is answered from
// the kernel's cache, so a mount point whose statfs fails with ENOTCONN
// while /proc/self/mountinfo shows a FUSE mount on top is detached
// (MNT_DETACH) and a note goes to Options.Logf. A FUSE server there that
// does not answer within two seconds (stopped, hung) makes Run return an
// UnavailableError instead.
//
// When the context is cancelled Run unmounts and returns nil. If the
// mount is busy (files still open in it, or a process's working directory)
// after a few retries over about 300 ms (the kernel releases closed files
// asynchronously), the connection is aborted (MNT_FORCE: further accesses
// through those descriptors fail with ENOTCONN) and the mount detached
// (MNT_DETACH), so the path is the plain directory again at once.
//
// # What it sees
//
// Every operation that reaches the mount, as FUSE requests:
//
//	Open     OPEN of an existing file (also open with O_CREAT of one)
//	Create   CREATE (open with O_CREAT of a missing file), MKNOD
//	Read     READ       Write    WRITE
//	Close    RELEASE, the last close of an open file
//	Rename   RENAME, RENAME2 (Flags: RENAME_NOREPLACE, RENAME_EXCHANGE)
//	Unlink   UNLINK     Rmdir    RMDIR    Mkdir    MKDIR
//	Setattr  SETATTR: chmod, chown, truncate, utimes
//	Symlink  SYMLINK    Link     LINK
//
// Lookups, stat, readdir, readlink, extended attributes, statfs, fsync,
// lseek and fallocate are served without events. open(O_TRUNC) is one
// Open with O_TRUNC in Flags (the mount asks for atomic O_TRUNC). An
// O_TMPFILE open fails with EOPNOTSUPP. File locks (flock, fcntl) are
// kept by the kernel for the mount alone: they do not conflict with locks
// taken on the underlying files directly.
//
// Operations nobody handles (Options.Interest) make no events; the
// Interest function is called on every operation. Each Handler call is
// made on the goroutine serving the request, while the calling process
// waits; Handlers run concurrently. A Handler that panics allows the
// operation (counted in Stats.Panics, logged).
//
// The events carry:
//
//   - ID, shared by an operation's pre and post event. Time is
//     file.Monotonic: the pre event's just before the pre Handler runs,
//     the post event's just after the system call returned, so post minus
//     pre is the operation's latency including the pre Handler.
//   - Path, absolute, as processes name it: under the mount point (which
//     is Dir when mounting over it). Read, Write and Close name the path
//     the file was opened by. Target is the destination of a Rename and a
//     Link, and the contents of a Symlink; for Link, Path is the existing
//     file.
//   - TID, PID, UID, GID: the FUSE request's header names the calling
//     thread (the kernel's task pid, not its thread group: a read from a
//     second thread of a process carries that thread's id, as
//     TestPrePostPairs checks), and its fsuid and fsgid. PID is that
//     thread's process, from its pidfd (PIDFD_GET_INFO, else
//     /proc/<tid>/status), cached while the thread lives (a signal-0
//     probe on the cached pidfd, about 0.5 µs, instead of a /proc read of
//     13 µs). When the thread cannot be found PID is the TID. Requests the
//     kernel makes by itself carry no caller: writeback of a shared
//     mapping's dirty pages (a Write at page granularity when the data is
//     written back, not when the process stored it), and the release of a
//     file whose process had gone; those events name the process that
//     opened the file.
//   - Ino and Dev of the underlying file (as stat shows them beneath the
//     mount; the mount shows the same inode numbers for files on Dir's
//     filesystem). A Create's pre event has none (the file does not exist
//     yet); for a redirected open they are the other file's.
//   - Flags: open flags as the kernel passes them (on 64-bit systems with
//     O_LARGEFILE; without O_CREAT, O_EXCL and O_NOCTTY on an Open), and
//     the flags of a Rename. Mode: the type and permission bits of a
//     Create or Mkdir, the new mode of a chmod.
//   - Offset and Length of a Read or Write request, and a truncate's new
//     size. A request is at most about 1 MiB, so a larger read(2) is
//     several events.
//   - Result on post events: bytes for Read and Write, else 0, or a
//     negative errno. An operation a pre verdict refused still has its
//     post event, with the refusal as Result, so that pairs always close.
//
// # Verdicts
//
// Errno refuses any operation except Close (the process's close(2) has
// already returned when the kernel releases a file). Redirect is obeyed on
// Open and Create and must be an absolute path: a path under the mount
// point is opened through the descriptor underneath (opening it through
// the mount while serving a request could wait on a lock the kernel holds
// for that very request), any other path as it is. The redirected file is
// opened as root, with the caller's open flags: the kernel checked the
// caller's permission on the path it named, not on the other file. A
// redirected Create creates the other file (given to the caller) and
// leaves the named one absent. A redirected open's reads and writes reach
// the other file, but fstat shows the named file's attributes. A file open
// with kernel passthrough cannot be redirected (the kernel has one backing
// file per inode): such a redirect fails with EBUSY and a note in the log.
//
// # Data I/O
//
// How an open file's reads and writes are done is decided when it is
// opened:
//
//   - Kernel passthrough (FUSE_PASSTHROUGH, Linux 6.9, probed at mount
//     with a memfd; Stats.Passthrough) when nobody handles Read or Write:
//     the kernel reads and writes the underlying file directly, at its
//     speed (BenchmarkSeqRead, BenchmarkSeqWrite), and nothing is reported
//     for that file's data: no Read or Write event, not even for programs
//     attached later, until all opens of that file are closed; shared
//     mappings of it write the underlying file directly. Files on FUSE or
//     ecryptfs filesystems, and on overlayfs unless Dir itself is on
//     overlayfs (the mount's stacking depth is chosen for Dir), are not
//     passed through: the kernel would refuse them.
//   - Direct I/O (FOPEN_DIRECT_IO) when someone handles Read or Write, or
//     the open was redirected: every read(2) and write(2) is a request to
//     this process, so each is reported; shared mappings work (the mount
//     allows mmap of direct-I/O files) and their writes are reported at
//     writeback.
//   - The kernel's page cache otherwise (no passthrough available): reads
//     the cache lacks, and every write, reach this process.
//
// While any open of a file is served by this process its new opens are
// not passed through either (the kernel refuses to mix the two on one
// inode). Stats counts the opens of each kind and the read and write
// requests served.
//
// # Costs
//
// Measured on a 2-CPU virtual machine (Linux 6.18; BenchmarkOpenReadClose,
// BenchmarkSeqRead, BenchmarkSeqWrite): an open, a 4 KiB read and a close
// of a small file take 2.7 µs on the directory itself, 40-45 µs through the
// mount with passthrough (only opens handled, or nothing), 55-65 µs with
// every operation handled (direct I/O; three requests: open, read,
// release), and 45-55 µs through go-fuse's own loopback. Sequential 1 MiB
// reads and writes of a 256 MiB file in the page cache run with
// passthrough at the directory's own speed (within the machine's ±10%
// noise), and at 4.4 and 3.6 GB/s with every read and write handled.
// Each close(2) is spared a FLUSH request (FOPEN_NOFLUSH).
//
// # Cautions
//
// Only access through the mount is seen: descriptors (and working
// directories) opened before the mount keep reaching the directory
// underneath, and with a separate mount point so does any access to Dir.
// A process hosting this source should not start programs stored in the
// mount: a child started with Go's os/exec shares the parent's memory
// until it execs, and a garbage collection waiting for that child while
// the child's exec waits for this source can stop the process (Go issue
// 21014).
package fusefs
