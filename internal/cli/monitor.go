package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/auto"
	"github.com/ebpfhost/ebpfhost/internal/tools/procmon"
)

const monitorHelp = `
Watches every program start (exec) and process exit on this machine through
an eBPF program verified and run by ebpfhost: the embedded
examples/process_monitor.c, attached to the process hook. One line per
event: time, create/exit, pid, parent pid, uid, exit code, image path and
command line; --json prints one JSON object per line instead.

--deny PATH refuses to start PATH (a file) or anything under PATH (a
directory) with the embedded examples/process_deny.c; the exec fails with
EPERM (or --errno). Refusing needs the fanotify source, which sees an exec
before it runs; the tracepoint source then supplies exits.

--program OBJ attaches the process programs of your own object too (after
the deny program, before the monitor), so a program you wrote can refuse
execs: return a negative errno.

Sources (--source): auto picks tracepoint (kernel eBPF on the scheduler
tracepoints: everything, notification only), else connector (the proc
connector: pids and exit codes, other fields read from /proc); with --deny,
fanotify joined with those. simulated replays JSON events from --events FILE
('-' for stdin), one process event per line. All real sources need root.

Ctrl-C detaches the programs and exits.

Examples:
  sudo ebpfhost monitor process
  sudo ebpfhost monitor process --json | jq .
  sudo ebpfhost monitor process --deny /usr/bin/nc --deny /tmp/`

func runMonitor(e *env, args []string) error {
	if len(args) > 0 && args[0] == "files" {
		return runMonitorFiles(e, args[1:])
	}
	fs := newFlags(e, "monitor", "process [flags]  (or: monitor files --help)", monitorHelp)
	jsonOut := fs.Bool("json", false, "print one JSON object per event")
	src := fs.String("source", "auto", "event source: "+strings.Join(auto.Names, ", "))
	var deny, programs stringList
	fs.Var(&deny, "deny", "refuse to start this file, or anything under this directory (repeatable)")
	fs.Var(&programs, "program", "also attach the process programs of this object `OBJ` (repeatable)")
	errno := fs.Int("errno", int(syscall.EPERM), "the errno denied execs fail with")
	events := fs.String("events", "", "with --source simulated: read events (JSON lines) from `FILE`, - for stdin")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "process" {
		return usagef("monitor takes what to monitor: 'process' or 'files'")
	}
	if *errno <= 0 || *errno > 4095 {
		return usagef("--errno must be 1 to 4095, not %d", *errno)
	}
	o := procmon.Options{SourceName: *src, Deny: deny, DenyErrno: syscall.Errno(*errno), Programs: programs,
		JSON: *jsonOut, Out: e.stdout, Log: e.stderr}
	if *events != "" {
		if *src != "simulated" {
			return usagef("--events is for --source simulated")
		}
		if *events == "-" {
			o.Replay = e.stdin
		} else {
			f, err := os.Open(*events)
			if err != nil {
				return err
			}
			defer f.Close()
			o.Replay = f
		}
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Ready = func(s process.Source) {
		// A source that cannot run here says so at once; one still running
		// a moment later is the one in use ("auto" names its choice).
		go func() {
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
				c := s.Caps()
				deny := "notification only"
				if c.Deny {
					deny = "can refuse execs"
				}
				fmt.Fprintf(e.stderr, "ebpfhost: watching processes with the %s source (%s); Ctrl-C to stop\n", s.Name(), deny)
				for _, ue := range skipped(s) {
					fmt.Fprintf(e.stderr, "ebpfhost: (the %s source is not used: %s)\n", ue.Source, auto.Brief(ue))
				}
			}
		}()
	}
	_, err = procmon.Run(ctx, o)
	var ue *process.UnavailableError
	if errors.As(err, &ue) {
		return fmt.Errorf("%v", ue)
	}
	return err
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// skipped lists the sources auto passed over, for a joined source too.
func skipped(s process.Source) []*process.UnavailableError {
	type skipper interface {
		Skipped() []*process.UnavailableError
	}
	type parts interface{ Parts() []process.Source }
	var out []*process.UnavailableError
	if sk, ok := s.(skipper); ok {
		out = append(out, sk.Skipped()...)
	}
	if p, ok := s.(parts); ok {
		for _, x := range p.Parts() {
			out = append(out, skipped(x)...)
		}
	}
	return out
}
