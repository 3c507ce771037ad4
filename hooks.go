package ebpfhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/core"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
	fileauto "github.com/ebpfhost/ebpfhost/internal/source/file/auto"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
	procauto "github.com/ebpfhost/ebpfhost/internal/source/process/auto"
)

// A program runs on real events once it is attached to a hook and the
// hook is fed. The built-in hooks are "process" (process creation and
// exit; section "process"), "file_pre" and "file_post" (filesystem
// operations before and after they happen; sections "file/pre..." and
// "file/post..."). Attach a program, then run an event source for its
// hook:
//
//	l, err := coll.Programs["monitor"].Attach(nil)
//	defer l.Close()
//	err = rt.RunProcessEvents(ctx, nil) // until ctx is done
//
// A Go program with its own events can instead hand them to the hooks
// itself (HandleProcessEvent, HandleFileEvent).

// Link is a program attached to a hook. Several programs may attach to
// one hook; they run in the order they were attached.
type Link struct {
	l *core.Link
}

// ID returns the link's id, unique in its runtime.
func (l *Link) ID() uint32 { return l.l.ID() }

// Close detaches the program. It waits for the runs in progress, so once
// it returns the program will not run on this hook again and every
// record it wrote is in its maps.
func (l *Link) Close() error { return l.l.Close() }

// AttachOptions say where and for what a program runs.
type AttachOptions struct {
	// Hook is the attach type's name ("process", "file_pre",
	// "file_post"); empty means the default for the program's section.
	Hook string
	// Operations limits a file program to these operations ("open",
	// "create", "read", "write", "close", "rename", "unlink", "mkdir",
	// "rmdir", "setattr", "symlink", "link"); empty means those its
	// section names ("file/pre/open,read"), or all of them.
	Operations []string
	// PathPrefix limits a file program to paths starting with it, checked
	// before the program runs (a plain prefix: end it with "/" to mean a
	// directory).
	PathPrefix string
}

// Attach attaches the program to a hook; opts may be nil. The options of
// file hooks are checked here, so that a program never runs with a filter
// it did not ask for.
func (p *Program) Attach(opts *AttachOptions) (*Link, error) {
	if opts == nil {
		opts = &AttachOptions{}
	}
	var hookOpts any
	if len(opts.Operations) > 0 || opts.PathPrefix != "" {
		if p.Type() != "file" {
			return nil, fmt.Errorf("program %s is of type %s: Operations and PathPrefix apply to file programs only", p.Name(), p.Type())
		}
		fo := &fileext.AttachOptions{Prefix: opts.PathPrefix}
		for _, name := range opts.Operations {
			op, ok := file.ParseOp(strings.TrimSpace(name))
			if !ok {
				return nil, fmt.Errorf("program %s: unknown file operation %q (one of: %s)", p.Name(), name, fileOpNames())
			}
			fo.Ops = fo.Ops.With(op)
		}
		hookOpts = fo
	}
	l, err := p.p.Attach(opts.Hook, hookOpts)
	if err != nil {
		return nil, err
	}
	return &Link{l: l}, nil
}

func fileOpNames() string {
	var names []string
	for op := file.Op(1); op <= file.MaxOp; op++ {
		names = append(names, op.String())
	}
	return strings.Join(names, ", ")
}

// ProcessEventsOptions choose where process events come from.
type ProcessEventsOptions struct {
	// Source is "auto" (the default: kernel tracepoints, else the proc
	// connector; with Deny, fanotify joined with one of those),
	// "tracepoint", "fanotify", "connector" or "simulated".
	Source string
	// Deny asks for a source that can refuse execs, so that programs'
	// denials take effect. Without it denials are counted but execs
	// proceed (they have already happened when a notification arrives).
	Deny bool
	// Replay feeds the simulated source: one JSON object per line, fields
	// as ProcessEvent's JSON names. RunProcessEvents returns at its end.
	Replay io.Reader
	// Logf receives the source's notes (mounts it could not watch and the
	// like); nil discards them.
	Logf func(format string, args ...any)
	// Ready, when set, is called once the source watches: every exec
	// from then on is seen. Start what you want to watch after it.
	Ready func()
}

// ProcessEvent is one process creation or exit, as sources deliver it to
// the process hook. Its JSON form is what ProcessEventsOptions.Replay
// reads.
type ProcessEvent = process.Event

// ProcessOp is a process event's operation.
type ProcessOp = process.Op

// Process event operations.
const (
	ProcessCreate = process.Create
	ProcessExit   = process.Exit
)

// ErrUnavailable is what RunProcessEvents and RunFileEvents fail with
// (errors.Is) when their source cannot run on this machine; the error
// says what was tried and what to do (run as root, a kernel feature).
var ErrUnavailable = errors.New("event source unavailable")

// unavailable tags the sources' own error with ErrUnavailable, keeping
// its message and its chain.
type unavailable struct{ err error }

func (u unavailable) Error() string   { return u.err.Error() }
func (u unavailable) Unwrap() []error { return []error{u.err, ErrUnavailable} }

// RunProcessEvents feeds the process hook from this machine's process
// events until ctx is done (it then returns nil) or the source fails.
// It needs root for every source but "simulated".
func (r *Runtime) RunProcessEvents(ctx context.Context, opts *ProcessEventsOptions) error {
	if opts == nil {
		opts = &ProcessEventsOptions{}
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	src, err := procauto.Open(procauto.Options{Name: opts.Source, Deny: opts.Deny, Replay: opts.Replay, Logf: logf, Ready: opts.Ready})
	if err != nil {
		return err
	}
	err = src.Run(ctx, r.exts.Process.Handle)
	var ue *process.UnavailableError
	if errors.As(err, &ue) {
		return unavailable{err}
	}
	return err
}

// HandleProcessEvent runs the programs attached to the process hook on
// ev, as a source would, and returns the hook's verdict on a creation: 0
// to allow it, else the errno of the first program that denied it.
func (r *Runtime) HandleProcessEvent(ev *ProcessEvent) (errno int32) {
	return r.exts.Process.Handle(ev).Errno
}

// FileEventsOptions choose where filesystem events come from.
type FileEventsOptions struct {
	// Source is "auto" (the default: "fuse" with a Mount, else
	// "fanotify"), "fuse", "fanotify", "tracepoint" or "simulated".
	Source string
	// Mount is the directory the fuse source interposes on (mounted over
	// itself, unmounted when RunFileEvents returns). Only the fuse source
	// can redirect opens and see every operation with its latency.
	Mount string
	// Paths limit the system-wide sources to these directories; empty
	// means every filesystem.
	Paths []string
	// Deny asks for a source that can refuse operations.
	Deny bool
	// Replay feeds the simulated source: one JSON object per line, fields
	// as FileEvent's JSON names. RunFileEvents returns at its end.
	Replay io.Reader
	// Logf receives the source's notes; nil discards them.
	Logf func(format string, args ...any)
	// Ready, when set, is called once the source watches (for fuse: once
	// the mount serves requests).
	Ready func()
}

// FileEvent is one filesystem operation, before (Post false) or after it
// happened, as sources deliver it to the file hooks.
type FileEvent = file.Event

// RunFileEvents feeds the file hooks from filesystem operations until
// ctx is done (it then returns nil) or the source fails. Sources skip the
// operations no attached program watches. It needs root for every source
// but "simulated".
func (r *Runtime) RunFileEvents(ctx context.Context, opts *FileEventsOptions) error {
	if opts == nil {
		opts = &FileEventsOptions{}
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	x := r.exts.File
	src, err := fileauto.Open(fileauto.Options{Name: opts.Source, Mount: opts.Mount, Paths: opts.Paths,
		Deny: opts.Deny, Interest: x.Interest, Replay: opts.Replay, Logf: logf, Ready: opts.Ready})
	if err != nil {
		return err
	}
	err = src.Run(ctx, x.Handle)
	var ue *file.UnavailableError
	if errors.As(err, &ue) {
		return unavailable{err}
	}
	return err
}

// HandleFileEvent runs the programs attached to ev's hook (pre or post)
// whose filters match, as a source would, and returns the verdict on a
// pre event: errno, when not 0, refuses the operation; redirect, when
// not empty, is the path a program asked an open to use instead.
func (r *Runtime) HandleFileEvent(ev *FileEvent) (errno int32, redirect string) {
	v := r.exts.File.Handle(ev)
	return v.Errno, v.Redirect
}
