// Package tracepoint is the process event source that watches the kernel
// itself: a small eBPF program (bpf/process.c, compiled and embedded as
// bpf/process.o, so no clang is needed where ebpfhost runs) on the
// scheduler's process tracepoints sends a record per exec and per process
// exit through a BPF ring buffer.
//
// # Why raw tracepoints
//
// The programs attach as raw tracepoints (BPF_RAW_TRACEPOINT_OPEN, by name).
// Of the ways to hook sched_process_exec, sched_process_fork and
// sched_process_exit they need the least from the machine:
//
//   - classic tracepoints (perf_event_open on a trace event id) need tracefs
//     mounted to look the id up; on the project's machines it is not, and
//     mounting it would be a change to the host behind the user's back;
//   - tp_btf programs are BPF_PROG_TYPE_TRACING, the family of fentry,
//     which some hardened kernels refuse (the project's machines refuse
//     fentry while still allowing tp_btf), and kprobes need tracefs or
//     kprobe support that is often turned off;
//   - raw tracepoints exist since Linux 4.17, need no filesystem, and only
//     CAP_BPF and CAP_PERFMON (or root).
//
// Their arguments are the tracepoint's TP_PROTO pointers, untyped, so the
// program reads the kernel structures with bpf_probe_read_kernel at offsets
// that CO-RE relocates from the running kernel's BTF. The kernel must
// therefore have BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF) and the
// BPF ring buffer (Linux 5.8).
//
// # What the events say
//
// A Create is sent when an execve succeeds, from inside the exec, after
// the new image is in place: it cannot be refused (Caps.Deny is false).
// PID is the thread group id; PPID the real parent's; UID the real user id
// after the exec; CreatorPID and CreatorTID the process and thread that
// forked it, remembered in a kernel map from fork to exit (both zero when the
// process was forked before the source started).
//
// Image is the absolute path of the file that now runs, resolved in the
// kernel from the executable's dentry and mounts, as /proc/<pid>/exe shows
// it: symbolic links are resolved, a relative name ("./a.out") becomes
// absolute, and for a script it is the interpreter (Argv still names the
// script). The path is that seen from the root of the mount namespace the
// file is in, so for a process in a container it is the path inside the
// container. When the path is deeper than 64 components or longer than
// 4 KiB, Image falls back to the name execve was given, made absolute with
// /proc/<pid>/exe or /proc/<pid>/cwd if the process is still there.
//
// Argv is the command line as execve placed it on the new stack
// (mm->arg_start to arg_end), split at NULs, up to 32 KiB per exec; a longer
// command line is cut there, its last argument partly, and counted by
// Truncated. Created is the time of the exec, from the kernel's boot clock
// converted to wall time.
//
// An Exit is sent once per process, when its last thread exits (a
// multi-threaded process gives one Exit, whichever thread ends last).
// ExitCode is the status as a shell shows it: the code given to exit, or
// 128+n with Signal n when signal n killed the process (SIGKILL gives 137);
// like wait(2), a process ended as a whole (exit_group, a fatal signal)
// reports the group's code, otherwise the leader's. Exit events also carry
// PPID, UID, the creator, and, for processes whose exec this source saw
// while running, Image and Created; processes that only forked (no exec)
// have no Image.
//
// # How the object is built
//
// bpf/process.o is built by the go:generate line in tracepoint.go (plain
// clang, the same flags as every other committed object, so that
// internal/clangtest checks it like the rest) and embedded with go:embed.
// It is loaded through cilium/ebpf's CollectionSpec rather than bpf2go's
// generated loader: the source edits the spec before loading (the ring
// buffer's size), and the generated bindings would be the few lines of the
// objects struct in tracepoint.go.
//
// Records that do not fit in the ring buffer are counted in the kernel and
// reported by Dropped. The handler runs on the goroutine reading the ring
// buffer, so a slow handler leads to drops rather than to memory growth.
package tracepoint
