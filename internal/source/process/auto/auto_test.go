package auto

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// fake is a source that delivers a fixed list of events, or is unavailable.
type fake struct {
	name        string
	caps        process.Caps
	events      []process.Event
	unavailable error
	verdicts    []process.Verdict
}

func (f *fake) Name() string       { return f.name }
func (f *fake) Caps() process.Caps { return f.caps }
func (f *fake) Dropped() uint64    { return 1 }
func (f *fake) Run(ctx context.Context, h process.Handler) error {
	if f.unavailable != nil {
		return &process.UnavailableError{Source: f.name, Tried: "starting", Err: f.unavailable, Fix: "run as root"}
	}
	for i := range f.events {
		f.verdicts = append(f.verdicts, h(&f.events[i]))
	}
	<-ctx.Done()
	return nil
}

func TestFallback(t *testing.T) {
	a := &fake{name: "a", unavailable: errors.New("wrapped: " + syscall.EPERM.Error())}
	b := &fake{name: "b", events: []process.Event{{Op: process.Create, PID: 1}}}
	f := &Fallback{Sources: []process.Source{a, b}}
	ctx, cancel := context.WithCancel(context.Background())
	var got []uint32
	done := make(chan error)
	go func() {
		done <- f.Run(ctx, func(ev *process.Event) process.Verdict { got = append(got, ev.PID); cancel(); return process.Allow })
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Name() != "auto(b)" || len(got) != 1 || len(f.Skipped()) != 1 || f.Skipped()[0].Source != "a" {
		t.Fatalf("name %s, events %v, skipped %v", f.Name(), got, f.Skipped())
	}

	// None works: one error naming each, briefly, with the first fix.
	c := &fake{name: "c", unavailable: &wrapErr{syscall.EACCES}}
	f = &Fallback{Sources: []process.Source{a, c}}
	err := f.Run(context.Background(), func(*process.Event) process.Verdict { return process.Allow })
	var ue *process.UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "tried a (starting: wrapped: operation not permitted); c (starting: permission denied)") ||
		!strings.Contains(err.Error(), "(run as root)") {
		t.Fatalf("%v", err)
	}
}

type wrapErr struct{ e syscall.Errno }

func (w *wrapErr) Error() string { return "a long chain: of messages: " + w.e.Error() }
func (w *wrapErr) Unwrap() error { return w.e }

// TestJoin: the enforcer's creates are judged and delivered; the
// notifier's create of the same exec is dropped, its exits and the execs
// the enforcer missed are delivered.
func TestJoin(t *testing.T) {
	enf := &fake{name: "enf", caps: process.Caps{Deny: true, Creates: true, Argv: true, Parent: true, UID: true},
		events: []process.Event{
			{Op: process.Create, PID: 10, Image: "/bin/a"},
			{Op: process.Create, PID: 11, Image: "/bin/denied"},
		}}
	not := &fake{name: "not", caps: process.Caps{Creates: true, Exits: true, ExitCode: true, Parent: true, UID: true, AllMounts: true},
		events: []process.Event{
			{Op: process.Create, PID: 10, Image: "/bin/a"},            // the same exec: dropped
			{Op: process.Create, PID: 12, Image: "/other-ns/bin/b"},   // missed by the enforcer
			{Op: process.Exit, PID: 10, Image: "/bin/a", ExitCode: 3}, // delivered
		}}
	j := Join(enf, &delayed{not, 50 * time.Millisecond})
	caps := j.Caps()
	if !caps.Deny || !caps.Exits || !caps.ExitCode || !caps.Argv || j.Name() != "enf+not" || j.Dropped() != 2 {
		t.Fatalf("joined: %s %+v dropped %d", j.Name(), caps, j.Dropped())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []string
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	err := j.Run(ctx, func(ev *process.Event) process.Verdict {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev.Op.String()+" "+ev.Image)
		if ev.Image == "/bin/denied" {
			return process.Verdict{Errno: 1}
		}
		return process.Allow
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "create /bin/a,create /bin/denied,create /other-ns/bin/b,exit /bin/a"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("delivered %s, want %s", got, want)
	}
	if enf.verdicts[1].Errno != 1 {
		t.Fatalf("the enforcer got verdicts %v", enf.verdicts)
	}
}

// delayed starts a source after a pause, as a notifier reports an exec
// after the enforcer allowed it.
type delayed struct {
	process.Source
	d time.Duration
}

func (d *delayed) Run(ctx context.Context, h process.Handler) error {
	time.Sleep(d.d)
	return d.Source.Run(ctx, h)
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		name string
		err  string
	}{
		{Options{}, "auto", ""},
		{Options{Deny: true}, "fanotify+auto", ""},
		{Options{Name: "tracepoint"}, "tracepoint", ""},
		{Options{Name: "connector", Deny: true}, "", "cannot refuse execs"},
		{Options{Name: "fanotify", Deny: true}, "fanotify", ""},
		{Options{Name: "simulated"}, "simulated", ""},
		{Options{Name: "bogus"}, "", `unknown event source "bogus"`},
	} {
		s, err := Open(tc.o)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %v, want %q", tc.o, err, tc.err)
			}
			continue
		}
		if err != nil || s.Name() != tc.name {
			t.Errorf("%+v: %v %v, want %s", tc.o, s, err, tc.name)
		}
	}
}

// Ready is called once, when the source watches, for every choice Open
// makes on this machine (root: the real sources).
func TestReady(t *testing.T) {
	if syscall.Geteuid() != 0 {
		t.Skip("needs root: the sources watch the whole machine")
	}
	for _, o := range []Options{{Name: "auto"}, {Name: "auto", Deny: true}, {Name: "connector"},
		{Name: "tracepoint"}, {Name: "fanotify"}, {Name: "simulated"}} {
		name := o.Name
		if o.Deny {
			name += "+deny"
		}
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			ready := make(chan struct{})
			o.Ready = func() {
				if calls.Add(1) == 1 {
					close(ready)
				}
			}
			s, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx, func(*process.Event) process.Verdict { return process.Allow }) }()
			select {
			case <-ready:
			case err := <-done:
				var ue *process.UnavailableError
				if errors.As(err, &ue) {
					t.Skipf("%s cannot run here: %v", s.Name(), err)
				}
				t.Fatalf("Run returned before Ready: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("not ready after 30 s")
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("Ready called %d times; want 1", n)
			}
		})
	}
}

// A joined source is ready when both its parts are, and says so once.
func TestAfterN(t *testing.T) {
	n := 0
	f := afterN(2, func() { n++ })
	for i, want := range []int{0, 1, 1} {
		if f(); n != want {
			t.Errorf("after call %d: %d calls; want %d", i+1, n, want)
		}
	}
}
