// Package simulated is a file event source that delivers the events it is
// given: tests Emit events and read back the verdict; tools replay JSON
// lines of file.Event.
package simulated

import (
	"context"
	"errors"
	"io"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/inject"
)

// ErrStopped is returned by Emit when the source is not running.
var ErrStopped = errors.New("simulated file source is not running")

// Source is a simulated file event source.
type Source struct {
	q      *inject.Queue[file.Event, file.Verdict]
	replay io.Reader
}

// New returns a source for Emit.
func New() *Source { return &Source{q: inject.New[file.Event, file.Verdict]()} }

// NewReplay returns a source that delivers the events read from r, one
// JSON object per line (file.Event's fields), and returns at the end.
func NewReplay(r io.Reader) *Source {
	return &Source{q: inject.New[file.Event, file.Verdict](), replay: r}
}

// Name is "simulated".
func (s *Source) Name() string { return "simulated" }

// Caps claims everything.
func (s *Source) Caps() file.Caps {
	return file.Caps{Pre: file.AllOps, Post: file.AllOps, Deny: true, Redirect: true, Latency: true, PID: true,
		Scope: "simulated events", Limitation: "nothing on this machine is watched"}
}

// Dropped is always 0.
func (s *Source) Dropped() uint64 { return 0 }

// Run delivers events until ctx is done (or, replaying, the input ends).
func (s *Source) Run(ctx context.Context, h file.Handler) error {
	if s.replay != nil {
		return inject.Replay(ctx, s.replay, "simulated file events",
			`{"op":"open","path":"/etc/hosts","pid":42}`, func(ev *file.Event) { h(ev) })
	}
	s.q.Serve(ctx, h)
	return nil
}

// Emit delivers ev to the running source's handler and returns its verdict.
func (s *Source) Emit(ctx context.Context, ev *file.Event) (file.Verdict, error) {
	v, ok := s.q.Emit(ctx, ev)
	if !ok {
		return file.Allow, ErrStopped
	}
	return v, nil
}

// Op performs a simulated operation: a pre event, then (unless refused)
// a post event with result, sharing an ID. It returns the pre verdict.
func (s *Source) Op(ctx context.Context, ev file.Event, result int64) (file.Verdict, error) {
	ev.ID = nextID()
	ev.Post = false
	ev.Time = file.Monotonic()
	v, err := s.Emit(ctx, &ev)
	if err != nil || v.Errno != 0 {
		return v, err
	}
	post := ev
	post.Post, post.Result, post.Time = true, result, file.Monotonic()
	if v.Redirect != "" {
		post.Path = v.Redirect
	}
	_, err = s.Emit(ctx, &post)
	return v, err
}
