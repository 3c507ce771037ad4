package procmon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/simulated"
	"github.com/ebpfhost/ebpfhost/internal/tools/procmon"
)

// collector gathers the events a run prints.
type collector struct {
	mu     sync.Mutex
	events []procmon.Event
	cond   chan struct{}
}

func newCollector() *collector { return &collector{cond: make(chan struct{}, 1)} }

func (c *collector) add(ev *procmon.Event) {
	c.mu.Lock()
	c.events = append(c.events, *ev)
	c.mu.Unlock()
	select {
	case c.cond <- struct{}{}:
	default:
	}
}

// wait returns the first event for which ok is true, waiting up to 10 s.
func (c *collector) wait(t *testing.T, what string, ok func(*procmon.Event) bool) procmon.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for _, ev := range c.events {
			if ok(&ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-c.cond:
		case <-deadline:
			t.Fatalf("no %s event within 10 s", what)
		}
	}
}

// start runs a monitor on a simulated source and returns it once ready.
func start(t *testing.T, o procmon.Options) (*simulated.Source, *collector, func() procmon.Stats) {
	t.Helper()
	src := simulated.New()
	col := newCollector()
	o.Source = src
	o.Checked = true
	o.OnEvent = col.add
	if o.Out == nil {
		o.Out = &bytes.Buffer{}
	}
	var log bytes.Buffer
	o.Log = &log
	ready := make(chan struct{})
	o.Ready = func(process.Source) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var st procmon.Stats
	var err error
	go func() { st, err = procmon.Run(ctx, o); close(done) }()
	select {
	case <-ready:
	case <-done:
		t.Fatalf("monitor stopped: %v (log: %s)", err, log.String())
	}
	stop := func() procmon.Stats {
		cancel()
		<-done
		if err != nil {
			t.Fatalf("monitor: %v", err)
		}
		return st
	}
	t.Cleanup(func() { cancel(); <-done })
	return src, col, stop
}

func emit(t *testing.T, src *simulated.Source, ev *process.Event) process.Verdict {
	t.Helper()
	v, err := src.Emit(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMonitorSimulated(t *testing.T) {
	var out bytes.Buffer
	src, col, stop := start(t, procmon.Options{JSON: true, Out: &out})
	created := time.Now().Truncate(time.Microsecond)
	long := strings.Repeat("x", 5001)
	emit(t, src, &process.Event{Op: process.Create, PID: 100, PPID: 1, CreatorPID: 1, CreatorTID: 1, UID: 1000,
		Image: "/usr/bin/echo", Argv: []string{"echo", long}, Created: created})
	emit(t, src, &process.Event{Op: process.Exit, PID: 100, PPID: 1, UID: 1000, Image: "/usr/bin/echo",
		Created: created, Exited: created.Add(1200 * time.Millisecond), ExitCode: 45})

	c := col.wait(t, "create", func(ev *procmon.Event) bool { return ev.Op == "create" && ev.PID == 100 })
	if c.Image != "/usr/bin/echo" || c.CommandLine != "echo "+long || c.PPID != 1 || c.UID != 1000 || c.Truncated {
		t.Errorf("create event %+v", c)
	}
	if !c.Created.Equal(created) {
		t.Errorf("created %v, want %v", c.Created, created)
	}
	x := col.wait(t, "exit", func(ev *procmon.Event) bool { return ev.Op == "exit" && ev.PID == 100 })
	if x.ExitCode == nil || *x.ExitCode != 45 {
		t.Errorf("exit code %v, want 45", x.ExitCode)
	}
	if d := x.Exited.Sub(x.Created); d != 1200*time.Millisecond {
		t.Errorf("exited - created = %v, want 1.2s", d)
	}
	st := stop()
	if st.Events != 2 || st.RingDropped != 0 || st.Failures != 0 {
		t.Errorf("stats %+v", st)
	}
	// The JSON lines decode to the same events.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want 2:\n%s", len(lines), out.String())
	}
	var ev procmon.Event
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil || ev.Op != "exit" || *ev.ExitCode != 45 {
		t.Fatalf("second line %s: %v %+v", lines[1], err, ev)
	}
}

func TestMonitorDeny(t *testing.T) {
	dir := t.TempDir()
	src, col, stop := start(t, procmon.Options{Deny: []string{"/usr/bin/nc", dir}, DenyErrno: syscall.EBUSY})
	for _, tc := range []struct {
		image string
		deny  bool
	}{
		{"/usr/bin/nc", true},
		{"/usr/bin/ncat", false}, // an exact rule is not a prefix
		{dir + "/tool", true},
		{dir + "/sub/tool", true},
		{dir + "x/tool", false},
		{"/usr/bin/true", false},
	} {
		v := emit(t, src, &process.Event{Op: process.Create, PID: 7, Image: tc.image, Argv: []string{"a"}})
		if got := v.Errno != 0; got != tc.deny {
			t.Errorf("%s: denied %v (errno %d), want %v", tc.image, got, v.Errno, tc.deny)
		} else if tc.deny && v.Errno != int32(syscall.EBUSY) {
			t.Errorf("%s: errno %d, want EBUSY", tc.image, v.Errno)
		}
	}
	col.wait(t, "create of /usr/bin/true", func(ev *procmon.Event) bool { return ev.Op == "create" && ev.Image == "/usr/bin/true" })
	st := stop()
	var denies, creates []string
	for _, ev := range col.events {
		switch ev.Op {
		case "deny":
			denies = append(denies, ev.Image)
		case "create":
			creates = append(creates, ev.Image)
		}
	}
	if len(denies) != 3 || len(creates) != 3 || st.Denied != 3 {
		t.Fatalf("denies %q, creates %q, stats %+v: want 3 and 3", denies, creates, st)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 71), append(make([]byte, 72), 1)} {
		if _, err := procmon.Decode(b); err == nil {
			t.Errorf("Decode(%d bytes) accepted", len(b))
		}
	}
	bad := make([]byte, 72)
	bad[0] = 9
	if _, err := procmon.Decode(bad); err == nil || !strings.Contains(err.Error(), "operation 9") {
		t.Errorf("unknown operation: %v", err)
	}
}

// FuzzDecode: no record, however malformed, makes the decoder panic.
func FuzzDecode(f *testing.F) {
	good := make([]byte, 72+3)
	good[60], good[64] = 1, 2 // image 1 byte, command line 2
	f.Add(good)
	f.Add(make([]byte, 72))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := procmon.Decode(b)
		if err == nil {
			_ = procmon.FormatLine(ev)
		}
	})
}
