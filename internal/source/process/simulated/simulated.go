// Package simulated is a process event source that delivers the events it
// is given, as ntosebpfext's tests simulate process notifications: tests
// inject events and read back the verdict, and on a machine where no real
// source works, `ebpfhost monitor process --source simulated` replays
// events from JSON lines (one process.Event per line).
//
// It claims every capability, including Deny: a verdict is returned to the
// code that injected the event, which is all "refusing" can mean here.
package simulated

import (
	"context"
	"errors"
	"io"

	"github.com/ebpfhost/ebpfhost/internal/source/inject"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// ErrStopped is returned by Emit when the source is not running (Run
// has returned, or the Emit's context ended first).
var ErrStopped = errors.New("simulated source is not running")

// Source is a simulated event source. Create it with New; it is ready for
// Emit once Run is running.
type Source struct {
	q      *inject.Queue[process.Event, process.Verdict]
	replay io.Reader
}

// New returns a source for Emit.
func New() *Source { return &Source{q: inject.New[process.Event, process.Verdict]()} }

// NewReplay returns a source that delivers the events read from r, one
// JSON object per line (fields as process.Event's JSON tags: op, pid,
// ppid, uid, image, argv, created, exited, exit_code, ...); Run returns
// at the end of the input. A malformed line stops Run with an error
// naming the line.
func NewReplay(r io.Reader) *Source {
	return &Source{q: inject.New[process.Event, process.Verdict](), replay: r}
}

// Name is "simulated".
func (s *Source) Name() string { return "simulated" }

// Caps claims everything.
func (s *Source) Caps() process.Caps {
	return process.Caps{Deny: true, Argv: true, ExitCode: true, Parent: true, UID: true, Exits: true, Creates: true, AllMounts: true,
		Limitation: "events are simulated: nothing on this machine is watched"}
}

// Dropped is always 0: Emit waits for the handler.
func (s *Source) Dropped() uint64 { return 0 }

// Run delivers events to h until ctx is done (or, replaying, the input
// ends).
func (s *Source) Run(ctx context.Context, h process.Handler) error {
	if s.replay != nil {
		return inject.Replay(ctx, s.replay, "simulated events",
			`{"op":"create","pid":42,"image":"/bin/true","argv":["true"]}`, func(ev *process.Event) { h(ev) })
	}
	s.q.Serve(ctx, h)
	return nil
}

// Emit delivers ev to the running source's handler and returns its
// verdict. It fails with ErrStopped when the source is not running by
// the time ctx ends.
func (s *Source) Emit(ctx context.Context, ev *process.Event) (process.Verdict, error) {
	v, ok := s.q.Emit(ctx, ev)
	if !ok {
		return process.Allow, ErrStopped
	}
	return v, nil
}
