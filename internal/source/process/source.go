// Package process defines how process lifecycle events reach ebpfhost from
// Linux: each event source (kernel tracepoints, fanotify, the proc
// connector, a simulation) delivers Events to a Handler, and sources that
// see an exec before it happens (fanotify's FAN_OPEN_EXEC_PERM) let the
// Handler's verdict refuse it.
//
// On Linux a program starts when a process calls execve, so a "create" is
// an exec: the pid keeps its number but runs a new image with a new
// command line. An "exit" is the end of a whole process (its thread group).
package process

import (
	"context"
	"fmt"
	"time"
)

// Op says what happened to a process.
type Op uint8

// Operations, numbered as process_md_t's operation field.
const (
	Create Op = 0 // a program image started (execve succeeded or, for sources that can deny, is about to)
	Exit   Op = 1 // the process ended
)

// MarshalText writes "create" or "exit".
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads "create" or "exit".
func (o *Op) UnmarshalText(b []byte) error {
	switch string(b) {
	case "create":
		*o = Create
	case "exit":
		*o = Exit
	default:
		return fmt.Errorf("unknown process operation %q (create or exit)", b)
	}
	return nil
}

func (o Op) String() string {
	switch o {
	case Create:
		return "create"
	case Exit:
		return "exit"
	}
	return "op?"
}

// Event is one process lifecycle event. Fields a source cannot see are
// zero; Source.Caps says which ones it fills.
type Event struct {
	Op  Op     `json:"op"`
	PID uint32 `json:"pid"` // the process (thread group id)
	// PPID is the parent process.
	PPID uint32 `json:"ppid"`
	// CreatorPID and CreatorTID are the process and thread that made this
	// process: the thread that forked it (a process that execs keeps the
	// pid its creator gave it).
	CreatorPID uint32 `json:"creator_pid,omitempty"`
	CreatorTID uint32 `json:"creator_tid,omitempty"`
	UID        uint32 `json:"uid"` // real user id
	// Image is the absolute path of the executable.
	Image string `json:"image,omitempty"`
	// Argv is the command line, argument by argument; nil when the source
	// cannot see it.
	Argv []string `json:"argv,omitempty"`
	// Created is when the process's current image started (the exec).
	Created time.Time `json:"created,omitzero"`
	// Exited and ExitCode describe an Exit: the exit status as a shell
	// reports it (the code passed to exit, or 128+signal when a signal
	// killed the process), and Signal is that signal or 0.
	Exited   time.Time `json:"exited,omitzero"`
	ExitCode uint32    `json:"exit_code,omitempty"`
	Signal   uint32    `json:"signal,omitempty"`
}

// Verdict is a Handler's answer to a Create a source can still refuse.
type Verdict struct {
	// Errno, when not 0, refuses the exec with this error number (1 to
	// 4095). Sources that cannot choose the error return EPERM.
	Errno int32
}

// Allow lets the exec proceed.
var Allow = Verdict{}

// Handler receives events. For a Create from a source with Caps.Deny, the
// exec waits for it to return and obeys its verdict; otherwise the
// verdict is ignored. Handlers may be called from several goroutines.
type Handler func(ev *Event) Verdict

// Caps says what a source can see and do.
type Caps struct {
	Deny       bool   // Create events arrive before the exec and a verdict can refuse it
	Argv       bool   // Create events carry the command line
	ExitCode   bool   // Exit events carry the exit status
	Parent     bool   // events carry the parent pid
	UID        bool   // events carry the user id
	Exits      bool   // the source reports exits at all
	Creates    bool   // the source reports creates at all
	AllMounts  bool   // every executable on the machine is seen, not only some mounts
	Limitation string // what it cannot see, in a sentence for users
}

// Source is a running origin of events.
type Source interface {
	// Name is the source's name for --source flags and messages.
	Name() string
	// Caps says what it delivers.
	Caps() Caps
	// Run delivers events to h until ctx is cancelled or the source
	// fails; it returns nil after cancellation. It returns promptly with
	// an *UnavailableError when the source cannot start here.
	Run(ctx context.Context, h Handler) error
	// Dropped counts events lost because the consumer was too slow, as
	// far as the source can tell.
	Dropped() uint64
}

// UnavailableError says a source cannot run on this machine, what was
// tried and what to do, in one line for users.
type UnavailableError struct {
	Source string
	Tried  string // what was attempted, e.g. "loading the tracepoint program"
	Err    error
	Fix    string // what the user can do, e.g. "run as root"
}

func (e *UnavailableError) Error() string {
	s := e.Source + " source unavailable: " + e.Tried
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }
