// Package connector is the fallback process event source: the kernel's
// proc connector (NETLINK_CONNECTOR, CN_IDX_PROC), which multicasts a
// short message for every fork, exec and exit on the machine to whoever
// subscribed with PROC_CN_MCAST_LISTEN. It needs no eBPF, no tracefs and
// no marks, so it works where the tracepoint source is refused; but the
// kernel's messages carry only numbers, and everything else is read from
// /proc afterwards.
//
// # What the kernel says
//
//   - PROC_EVENT_FORK: the forking thread and its process, the new task and
//     its process, a timestamp. New threads (task != its process) are
//     ignored; for a new process the source remembers its creator
//     (CreatorPID, CreatorTID: the process and thread that forked it) and
//     the fork time, until its exit.
//   - PROC_EVENT_EXEC: the thread and process that exec'd, a timestamp.
//   - PROC_EVENT_EXIT: the thread and process, the thread's wait status
//     and the parent process, a timestamp. Only the exit of a process's
//     main thread (pid == tgid) is reported; other threads' exits are
//     ignored.
//
// Timestamps are the kernel's CLOCK_MONOTONIC, converted to wall-clock
// time when the message is read.
//
// # What the events say
//
// A Create is delivered after the exec succeeded (the source cannot refuse
// it: Caps.Deny is false). PID is the process, Created the time of the
// exec, CreatorPID and CreatorTID the forker if its fork was seen (zero
// for processes forked before Run started). Image (/proc/<pid>/exe),
// Argv (/proc/<pid>/cmdline, split at NULs), PPID (/proc/<pid>/stat) and
// UID (the real uid, /proc/<pid>/status) are read when the source handles
// the message, which races with the process: a process that has already
// exited (/bin/true often has) gives an event with only PID, Created and
// the creator; one that exec'd again gives its later image and command
// line; one that rewrote its argument area (setproctitle) gives the
// rewritten text. If /proc/<pid>/stat shows a start time after the exec,
// the pid was reused by another process and nothing is read. For a script
// Image is the interpreter, as /proc/<pid>/exe shows it.
//
// An Exit is delivered for each process whose main thread ends. ExitCode
// is the status as a shell shows it: the code given to exit, or 128+n
// with Signal n when signal n killed the process. A process ended as a
// whole (exit, exit_group, a fatal signal) reports the group's status. If
// the main thread ends first while other threads run on
// (pthread_exit in main), the Exit comes then, with the main thread's
// status, and the rest of the process is not reported. PPID is from the
// message. Created, Image, UID and the creator are those remembered from
// the process's exec (or fork) while Run ran; for older processes Created
// is the process's start time from /proc/<pid>/stat (its fork, to 10 ms),
// and UID is read from /proc if the process is still visible there.
//
// # Limits
//
// The kernel sends process events only to listeners in the initial pid
// and user namespaces; in a container Run returns an
// *process.UnavailableError. It requires root (CAP_NET_ADMIN before
// Linux 6.6); Options.AllowUnprivileged accepts the newer kernels'
// unprivileged listening, where /proc/<pid>/exe of other users' processes
// cannot be read.
//
// The handler runs on the goroutine reading the socket. Messages that do
// not fit the socket's receive buffer (Options.ReceiveBuffer, 8 MiB by
// default, about 10,000 messages) are dropped by the kernel, which says so
// with ENOBUFS on the next read; each such report counts one in Dropped,
// though many events may have been lost.
package connector
