// Package auto picks the process event source for this machine: the
// --source flag of the tools, and the combination that both refuses execs
// and sees everything else.
//
// Without enforcement the kernel tracepoints are the best source (every
// field, no cost to the execs); the proc connector is the fallback where
// kernel eBPF is not allowed. To refuse execs, fanotify must see them
// before they run; it sees neither exits nor (everywhere) every mount, so
// it is joined with a notifying source: fanotify's creates are the ones
// programs judge, the notifier's exits are passed on, and the notifier's
// creates are passed on only for execs fanotify did not see.
package auto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/connector"
	"github.com/ebpfhost/ebpfhost/internal/source/process/fanotify"
	"github.com/ebpfhost/ebpfhost/internal/source/process/simulated"
	"github.com/ebpfhost/ebpfhost/internal/source/process/tracepoint"
)

// Names are the values --source accepts.
var Names = []string{"auto", "tracepoint", "fanotify", "connector", "simulated"}

// Options say what the caller needs.
type Options struct {
	// Name is one of Names; "" means "auto".
	Name string
	// Deny asks for a source that can refuse execs. With "auto" it selects
	// fanotify joined with a notifier; with a source that cannot refuse,
	// Open fails.
	Deny bool
	// Replay is where the simulated source reads its events (JSON lines);
	// nil means it only delivers what is Emitted.
	Replay io.Reader
	// Logf receives the sources' notes (skipped mounts and the like).
	Logf func(format string, args ...any)
	// Ready, when set, is called once the source watches: from then on
	// every exec (and, for notifiers, exit) is seen. A joined source is
	// ready when both its parts are; the simulated source, at once.
	Ready func()
}

// Open returns the source o asks for. Availability on this machine is
// only known when the source runs: Run fails with a
// *process.UnavailableError saying what was tried and what to do.
func Open(o Options) (process.Source, error) {
	ready := o.Ready
	if ready == nil {
		ready = func() {}
	}
	fan := func(ready func()) process.Source {
		return fanotify.New(fanotify.Options{Logf: o.Logf, Ready: ready})
	}
	// A Fallback runs one of its sources: whichever runs says when.
	notifier := func(ready func()) process.Source {
		return &Fallback{Sources: []process.Source{tracepoint.New(tracepoint.WithReady(ready)),
			connector.New(connector.Options{Ready: ready})}}
	}
	var s process.Source
	switch o.Name {
	case "", "auto":
		if o.Deny {
			both := afterN(2, ready)
			return Join(fan(both), notifier(both)), nil
		}
		return notifier(ready), nil
	case "tracepoint":
		s = tracepoint.New(tracepoint.WithReady(ready))
	case "fanotify":
		s = fan(ready)
	case "connector":
		s = connector.New(connector.Options{Ready: ready})
	case "simulated":
		if o.Replay != nil {
			s = simulated.NewReplay(o.Replay)
		} else {
			s = simulated.New()
		}
		ready()
	default:
		return nil, fmt.Errorf("unknown event source %q (one of: %s)", o.Name, strings.Join(Names, ", "))
	}
	if o.Deny && !s.Caps().Deny {
		return nil, fmt.Errorf("the %s source cannot refuse execs: it sees them after they happen (use --source fanotify or auto)", s.Name())
	}
	return s, nil
}

// afterN returns a function that calls f on its n-th call, once.
func afterN(n int32, f func()) func() {
	var mu sync.Mutex
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if n--; n == 0 {
			f()
		}
	}
}

// Fallback runs the first of its sources that works here.
type Fallback struct {
	Sources []process.Source

	mu      sync.Mutex
	active  process.Source
	skipped []*process.UnavailableError
}

// Name is "auto", or "auto(NAME)" once a source runs.
func (f *Fallback) Name() string {
	if a := f.Active(); a != nil {
		return "auto(" + a.Name() + ")"
	}
	return "auto"
}

// Active is the source running (or last run), nil before Run.
func (f *Fallback) Active() process.Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

// Skipped returns why the sources before the active one could not run.
func (f *Fallback) Skipped() []*process.UnavailableError {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*process.UnavailableError(nil), f.skipped...)
}

// Caps are those of the active source, or of the first before Run.
func (f *Fallback) Caps() process.Caps {
	if a := f.Active(); a != nil {
		return a.Caps()
	}
	return f.Sources[0].Caps()
}

// Dropped counts the active source's losses.
func (f *Fallback) Dropped() uint64 {
	if a := f.Active(); a != nil {
		return a.Dropped()
	}
	return 0
}

// Run tries each source in turn until one does not report itself
// unavailable. When none works, the error names each and why, briefly.
func (f *Fallback) Run(ctx context.Context, h process.Handler) error {
	f.mu.Lock()
	f.skipped = nil
	f.mu.Unlock()
	var tried []string
	var fix string
	for _, s := range f.Sources {
		f.mu.Lock()
		f.active = s
		f.mu.Unlock()
		err := s.Run(ctx, h)
		var ue *process.UnavailableError
		if !errors.As(err, &ue) {
			return err
		}
		f.mu.Lock()
		f.skipped = append(f.skipped, ue)
		f.mu.Unlock()
		tried = append(tried, ue.Source+" ("+Brief(ue)+")")
		if fix == "" {
			fix = ue.Fix
		}
	}
	return &process.UnavailableError{Source: "auto", Tried: "no process event source works here: tried " + strings.Join(tried, "; "), Fix: fix}
}

// Brief is what was tried and the system's answer, without the chain of
// wrapping messages in between: "loading the tracepoint programs:
// operation not permitted".
func Brief(ue *process.UnavailableError) string {
	if ue.Err == nil {
		return ue.Tried
	}
	var errno syscall.Errno
	if errors.As(ue.Err, &errno) {
		return ue.Tried + ": " + errno.Error()
	}
	return ue.Tried + ": " + ue.Err.Error()
}

// Join combines a source that can refuse execs (enforcer) with one that
// sees exits (notifier); see the package comment.
func Join(enforcer, notifier process.Source) process.Source {
	return &joined{enforcer: enforcer, notifier: notifier, seen: map[uint32][]time.Time{}}
}

type joined struct {
	enforcer, notifier process.Source

	mu   sync.Mutex
	seen map[uint32][]time.Time // execs the enforcer delivered and allowed, per pid, not yet matched
}

// matchWindow bounds how long an enforcer create waits for the notifier's
// report of the same exec.
const matchWindow = 30 * time.Second

func (j *joined) Name() string { return j.enforcer.Name() + "+" + j.notifier.Name() }

func (j *joined) Caps() process.Caps {
	e, n := j.enforcer.Caps(), j.notifier.Caps()
	return process.Caps{
		Deny:      e.Deny,
		Argv:      e.Argv, // the creates programs judge are the enforcer's
		ExitCode:  n.ExitCode,
		Parent:    e.Parent && n.Parent,
		UID:       e.UID && n.UID,
		Exits:     n.Exits,
		Creates:   true,
		AllMounts: e.AllMounts || n.AllMounts,
		Limitation: "execs are judged as " + e.Limitation + "; exits and the execs the " + j.enforcer.Name() +
			" source misses come from the " + j.notifier.Name() + " source, after the fact",
	}
}

// Parts returns the enforcer and the notifier.
func (j *joined) Parts() []process.Source { return []process.Source{j.enforcer, j.notifier} }

func (j *joined) Dropped() uint64 { return j.enforcer.Dropped() + j.notifier.Dropped() }

func (j *joined) Run(ctx context.Context, h process.Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() {
		errs <- j.enforcer.Run(ctx, func(ev *process.Event) process.Verdict {
			v := h(ev)
			if ev.Op == process.Create && v.Errno == 0 {
				j.remember(ev.PID)
			}
			return v
		})
	}()
	go func() {
		errs <- j.notifier.Run(ctx, func(ev *process.Event) process.Verdict {
			switch ev.Op {
			case process.Create:
				if j.match(ev.PID) {
					return process.Allow // the enforcer delivered it already
				}
			case process.Exit:
				j.forget(ev.PID)
			}
			h(ev)
			return process.Allow
		})
	}()
	first := <-errs
	cancel()
	second := <-errs
	if first != nil {
		return first
	}
	return second
}

func (j *joined) remember(pid uint32) {
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seen[pid] = append(j.seen[pid], now)
	if len(j.seen) > 4096 {
		for p, ts := range j.seen {
			if now.Sub(ts[len(ts)-1]) > matchWindow {
				delete(j.seen, p)
			}
		}
	}
}

// match consumes the oldest unmatched enforcer create of pid.
func (j *joined) match(pid uint32) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	ts := j.seen[pid]
	for len(ts) > 0 && time.Since(ts[0]) > matchWindow {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		delete(j.seen, pid)
		return false
	}
	if len(ts) == 1 {
		delete(j.seen, pid)
	} else {
		j.seen[pid] = ts[1:]
	}
	return true
}

func (j *joined) forget(pid uint32) {
	j.mu.Lock()
	delete(j.seen, pid)
	j.mu.Unlock()
}
