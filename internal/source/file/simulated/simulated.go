// Package simulated is a file event source that delivers the events it is
// given: tests Emit events and read back the verdict; tools replay JSON
// lines of file.Event.
package simulated

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// ErrStopped is returned by Emit when the source is not running.
var ErrStopped = errors.New("simulated file source is not running")

type request struct {
	ev    *file.Event
	reply chan file.Verdict
}

// Source is a simulated file event source.
type Source struct {
	reqs   chan request
	replay io.Reader
}

// New returns a source for Emit.
func New() *Source { return &Source{reqs: make(chan request)} }

// NewReplay returns a source that delivers the events read from r, one
// JSON object per line (file.Event's fields), and returns at the end.
func NewReplay(r io.Reader) *Source { return &Source{reqs: make(chan request), replay: r} }

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
		sc := bufio.NewScanner(s.replay)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan() && ctx.Err() == nil; line++ {
			if len(sc.Bytes()) == 0 {
				continue
			}
			var ev file.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				return fmt.Errorf("simulated file events, line %d: %v", line, err)
			}
			h(&ev)
		}
		return sc.Err()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.reqs:
			r.reply <- h(r.ev)
		}
	}
}

// Emit delivers ev to the running source's handler and returns its verdict.
func (s *Source) Emit(ctx context.Context, ev *file.Event) (file.Verdict, error) {
	r := request{ev: ev, reply: make(chan file.Verdict, 1)}
	select {
	case s.reqs <- r:
		return <-r.reply, nil
	case <-ctx.Done():
		return file.Allow, ErrStopped
	}
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
