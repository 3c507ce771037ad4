package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/auto"
	"github.com/ebpfhost/ebpfhost/internal/tools/filetools"
)

const sourcesHelp = `
Sources (--source): fuse interposes on one directory: a FUSE mount over the
directory itself (--mount DIR), through which every operation passes; it
can refuse and redirect operations and measures their real latency.
fanotify watches every filesystem (or the filesystems of --path) for
opens, changes and closes, and can refuse opens. tracepoint uses kernel eBPF
on the syscall tracepoints: every process, with latency, notification
only. auto picks fuse when there is a mount, else what the tool needs.
simulated replays JSON events from --events FILE ('-' for stdin), one
file event per line. All real sources need root.`

const monitorFilesHelp = `
Prints a line per file operation (open, create, read, write, close, rename,
unlink, mkdir, rmdir, setattr, symlink, link) with its result, through an
eBPF program verified and run by ebpfhost: the embedded
examples/file_access.c, attached after each operation. One line per
operation: time, operation, pid, uid, result (bytes, 0 or the error),
offset, executable and path (and the second path of a rename or link);
--json prints one JSON object per line instead.

--exe PATH records only the processes running PATH (a file) or any
executable under PATH (a directory). --path PREFIX records only the files
under PREFIX; --ops LIST only these operations (open,write,...). Both are
attach options: the program does not even run for other events.
` + sourcesHelp + `

Ctrl-C detaches the program, unmounts, and exits.

Examples:
  sudo ebpfhost monitor files --exe /usr/bin/git
  sudo ebpfhost monitor files --mount /srv/data --ops open,write,unlink
  sudo ebpfhost monitor files --path /etc --json | jq .`

const iolatencyHelp = `
Measures how long file operations take and prints a log2 histogram per
operation, as bcc's biolatency does for block I/O: the embedded
examples/file_iolatency.c stores the time before each operation under its
correlation id and, after it, counts the difference in a histogram map.

Without --interval the histograms are printed at Ctrl-C; with it, every
interval (each counting only its own operations). --mount DIR measures the
operations under DIR through a FUSE mount (latency as the application sees
it, including the mount's overhead); without it the tracepoint source
measures system calls of every process. --path and --ops limit what is
measured; --unit picks usecs (the default), msecs or nsecs.
` + sourcesHelp + `

Examples:
  sudo ebpfhost iolatency --mount /srv/data
  sudo ebpfhost iolatency --interval 5s --ops read,write`

const redirectHelp = `
Redirects opens: a program opening a file under --from (or --from itself)
gets the file of the same relative path under --to instead, through the
embedded examples/file_redirect.c, attached before each open and create.
Reads and writes then go to the other file at native speed (no program
watches them).

Redirecting needs a FUSE mount: by default over the --from directory (or,
when --from is a file, its directory), mounted over itself for as long as
the command runs; --mount DIR mounts over DIR instead. Each redirected open
is printed.
` + sourcesHelp + `

Ctrl-C detaches the program, unmounts, and exits.

Example:
  sudo ebpfhost redirect --from /srv/app/config --to /srv/app/config.test`

const denyWriteHelp = `
Makes PREFIX read-only: a directory (everything under it) or a file. The
embedded examples/file_deny_write.c, attached before operations under
PREFIX, refuses with EACCES (or --errno) opens for writing (O_WRONLY,
O_RDWR, O_TRUNC, O_APPEND, O_CREAT), creates, truncates and other
attribute changes, unlink, mkdir, rmdir and symlink, and renames and hard
links from or into PREFIX. Reads are untouched and, with no program
watching them, run at native speed. Each refusal is printed.

Refusing needs a FUSE mount: by default over PREFIX (or, for a file, its
directory), mounted over itself for as long as the command runs; --mount DIR
mounts over DIR instead. Files opened before the command started are not
affected.
` + sourcesHelp + `

Ctrl-C detaches the program, unmounts, and exits.

Example:
  sudo ebpfhost deny-write /srv/www`

// fileFlags are the flags every file tool takes.
type fileFlags struct {
	source, mount, events *string
}

func addFileFlags(fs *flag.FlagSet) fileFlags {
	return fileFlags{
		source: fs.String("source", "auto", "event source: "+strings.Join(auto.Names, ", ")),
		mount:  fs.String("mount", "", "interpose on directory `DIR` with a FUSE mount over it"),
		events: fs.String("events", "", "with --source simulated: read events (JSON lines) from `FILE`, - for stdin"),
	}
}

// options builds the tools' options. The returned function stops what
// it started and closes what it opened; it may be called more than once.
// The tool's notes and the command's go to stderr through one lock, as
// they come from several goroutines.
func (f fileFlags) options(e *env, ready string) (filetools.Options, func(), error) {
	errw := &lockedWriter{w: e.stderr}
	o := filetools.Options{SourceName: *f.source, Mount: *f.mount, Out: e.stdout, Log: errw}
	var closers []func()
	var once sync.Once
	done := func() {
		once.Do(func() {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		})
	}
	if !oneOf(auto.Names, *f.source) {
		return o, done, usagef("unknown event source %q (one of: %s)", *f.source, strings.Join(auto.Names, ", "))
	}
	if *f.events != "" {
		if *f.source != "simulated" {
			return o, done, usagef("--events is for --source simulated")
		}
		if *f.events == "-" {
			o.Replay = e.stdin
		} else {
			fh, err := os.Open(*f.events)
			if err != nil {
				return o, done, err
			}
			o.Replay = fh
			closers = append(closers, func() { fh.Close() })
		}
	}
	if *f.mount != "" {
		fi, err := os.Stat(*f.mount)
		if err != nil {
			return o, done, fmt.Errorf("--mount: %w", err)
		}
		if !fi.IsDir() {
			return o, done, fmt.Errorf("--mount %s: not a directory", *f.mount)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	closers = append(closers, func() { close(stop); wg.Wait() })
	o.Ready = func(s file.Source) {
		// A source that cannot run here says so at once; one still running
		// a moment later is the one in use ("auto" names its choice).
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-stop:
			case <-e.ctx.Done():
			case <-time.After(300 * time.Millisecond):
				scope := ""
				if c := s.Caps(); c.Scope != "" {
					scope = " (" + c.Scope + ")"
				}
				fmt.Fprintf(errw, "ebpfhost: %s with the %s source%s; Ctrl-C to stop\n", ready, s.Name(), scope)
			}
		}()
	}
	return o, done, nil
}

func oneOf(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// lockedWriter serialises writes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fileErr makes a tool's error one line.
func fileErr(err error) error {
	var ue *file.UnavailableError
	if errors.As(err, &ue) {
		return errors.New(ue.Error())
	}
	return err
}

// signals is the context of a long-running command: e.ctx, ended by
// Ctrl-C and SIGTERM.
func signals(e *env) (*env, func()) {
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	c := *e
	c.ctx = ctx
	return &c, stop
}

// runMonitorFiles is `ebpfhost monitor files`.
func runMonitorFiles(e *env, args []string) error {
	fs := newFlags(e, "monitor", "files [flags]", monitorFilesHelp)
	ff := addFileFlags(fs)
	exe := fs.String("exe", "", "record only processes running `PATH` (a file), or any executable under PATH (a directory)")
	path := fs.String("path", "", "record only files under `PREFIX`")
	ops := fs.String("ops", "all", "record only these operations: a comma-separated `LIST` (open,read,...)")
	jsonOut := fs.Bool("json", false, "print one JSON object per operation")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("monitor files takes no arguments (got %q)", strings.Join(pos, " "))
	}
	set, err := filetools.ParseOps(*ops)
	if err != nil {
		return usagef("--ops: %v", err)
	}
	e, stop := signals(e)
	defer stop()
	o, done, err := ff.options(e, "watching file operations")
	defer done()
	if err != nil {
		return err
	}
	_, err = filetools.MonitorFiles(e.ctx, filetools.MonitorOptions{Options: o, Exe: *exe, Path: *path, Ops: set, JSON: *jsonOut})
	return fileErr(err)
}

// runIOLatency is `ebpfhost iolatency`.
func runIOLatency(e *env, args []string) error {
	fs := newFlags(e, "iolatency", "[flags]", iolatencyHelp)
	ff := addFileFlags(fs)
	interval := fs.Duration("interval", 0, "print the histograms every `D` (5s, 1m), each interval on its own; 0 prints them at Ctrl-C")
	path := fs.String("path", "", "measure only operations on files under `PREFIX`")
	ops := fs.String("ops", "all", "measure only these operations: a comma-separated `LIST` (read,write,...)")
	units := make([]string, 0, len(filetools.Units))
	for u := range filetools.Units {
		units = append(units, u)
	}
	sort.Strings(units)
	unit := fs.String("unit", "usecs", "the histograms' unit: "+strings.Join(units, ", "))
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("iolatency takes no arguments (got %q)", strings.Join(pos, " "))
	}
	if *interval < 0 {
		return usagef("--interval must not be negative")
	}
	if _, ok := filetools.Units[*unit]; !ok {
		return usagef("--unit must be one of %s", strings.Join(units, ", "))
	}
	set, err := filetools.ParseOps(*ops)
	if err != nil {
		return usagef("--ops: %v", err)
	}
	e, stop := signals(e)
	defer stop()
	o, done, err := ff.options(e, "measuring file operation latency")
	defer done()
	if err != nil {
		return err
	}
	_, err = filetools.IOLatency(e.ctx, filetools.LatencyOptions{Options: o, Interval: *interval, Unit: *unit, Path: *path, Ops: set})
	return fileErr(err)
}

// runRedirect is `ebpfhost redirect`.
func runRedirect(e *env, args []string) error {
	fs := newFlags(e, "redirect", "--from A --to B [flags]", redirectHelp)
	ff := addFileFlags(fs)
	from := fs.String("from", "", "redirect opens of `A` (a file, or everything under a directory)")
	to := fs.String("to", "", "to `B` (the same relative path under B)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("redirect takes no arguments but flags (got %q)", strings.Join(pos, " "))
	}
	if *from == "" || *to == "" {
		return usagef("redirect needs --from and --to")
	}
	e, stop := signals(e)
	defer stop()
	o, done, err := ff.options(e, "redirecting "+*from+" to "+*to)
	defer done()
	if err != nil {
		return err
	}
	st, err := filetools.Redirect(e.ctx, filetools.RedirectOptions{Options: o, From: *from, To: *to})
	done()
	if err == nil {
		fmt.Fprintf(e.stderr, "ebpfhost: %d open(s) redirected\n", st.Redirects)
	}
	return fileErr(err)
}

// runDenyWrite is `ebpfhost deny-write`.
func runDenyWrite(e *env, args []string) error {
	fs := newFlags(e, "deny-write", "PREFIX [flags]", denyWriteHelp)
	ff := addFileFlags(fs)
	errno := fs.Int("errno", int(syscall.EACCES), "the errno refused operations fail with")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("deny-write takes one PREFIX: the directory or file to make read-only")
	}
	if *errno <= 0 || *errno > 4095 {
		return usagef("--errno must be 1 to 4095, not %d", *errno)
	}
	e, stop := signals(e)
	defer stop()
	o, done, err := ff.options(e, "refusing writes under "+pos[0])
	defer done()
	if err != nil {
		return err
	}
	st, err := filetools.DenyWrite(e.ctx, filetools.DenyWriteOptions{Options: o, Prefix: pos[0], Errno: syscall.Errno(*errno)})
	done()
	if err == nil {
		fmt.Fprintf(e.stderr, "ebpfhost: %d operation(s) refused%s\n", st.Denied, perOp(st.PerOp))
	}
	return fileErr(err)
}

// perOp lists counts per operation: " (open 2, unlink 1)".
func perOp(m map[file.Op]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for op := file.Op(1); op <= file.MaxOp; op++ {
		if n := m[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, n))
		}
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
