package ebpfhost_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost"
	"github.com/ebpfhost/ebpfhost/examples"
	"github.com/ebpfhost/ebpfhost/internal/tools/procmon"
)

func newRuntime(t *testing.T) *ebpfhost.Runtime {
	t.Helper()
	rt, err := ebpfhost.New(&ebpfhost.Options{Checked: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func load(t *testing.T, rt *ebpfhost.Runtime, obj []byte, name string) *ebpfhost.Collection {
	t.Helper()
	c, err := rt.Load(obj, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func attach(t *testing.T, p *ebpfhost.Program, opts *ebpfhost.AttachOptions) *ebpfhost.Link {
	t.Helper()
	l, err := p.Attach(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// readMonitor decodes the monitor's records until stop says so or none
// arrives before d has passed.
func readMonitor(t *testing.T, r *ebpfhost.RingBufReader, d time.Duration, stop func([]*procmon.Event) bool) []*procmon.Event {
	t.Helper()
	var out []*procmon.Event
	deadline := time.Now().Add(d)
	for !stop(out) {
		r.SetDeadline(deadline)
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out
			}
			t.Fatal(err)
		}
		ev, err := procmon.Decode(rec.RawSample)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// attachMonitor attaches the embedded monitor program and opens its ring
// buffer.
func attachMonitor(t *testing.T, rt *ebpfhost.Runtime) *ebpfhost.RingBufReader {
	t.Helper()
	mon := load(t, rt, examples.ProcessMonitor, "process_monitor.o")
	r, err := ebpfhost.NewRingBufReader(mon.Maps["process_events"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	attach(t, mon.Programs["monitor"], nil)
	return r
}

// The embedded monitor, attached through the public API, fed by the
// simulated source from JSON lines: its records say what the lines said.
func TestRunProcessEventsReplay(t *testing.T) {
	rt := newRuntime(t)
	r := attachMonitor(t, rt)

	replay := strings.Join([]string{
		`{"op":"create","pid":4242,"ppid":1,"uid":1000,"image":"/usr/bin/sleep","argv":["sleep","1"],"created":"2026-01-02T03:04:05Z"}`,
		`{"op":"exit","pid":4242,"ppid":1,"uid":1000,"image":"/usr/bin/sleep","exited":"2026-01-02T03:04:06Z","exit_code":3}`,
	}, "\n")
	if err := rt.RunProcessEvents(context.Background(), &ebpfhost.ProcessEventsOptions{
		Source: "simulated", Replay: strings.NewReader(replay)}); err != nil {
		t.Fatal(err)
	}
	evs := readMonitor(t, r, time.Second, func(e []*procmon.Event) bool { return len(e) == 2 })
	if len(evs) != 2 {
		t.Fatalf("%d records; want 2", len(evs))
	}
	c, x := evs[0], evs[1]
	if c.Op != "create" || c.PID != 4242 || c.PPID != 1 || c.UID != 1000 || c.Image != "/usr/bin/sleep" || c.CommandLine != "sleep 1" {
		t.Errorf("create record %+v", c)
	}
	if !c.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("created %v", c.Created)
	}
	if x.Op != "exit" || x.PID != 4242 || x.ExitCode == nil || *x.ExitCode != 3 {
		t.Errorf("exit record %+v", x)
	}
}

// processDenyRule is struct deny_rule of examples/process_deny.c.
func processDenyRule(path string, exact bool, errno int32) []byte {
	v := make([]byte, 24+256)
	binary.LittleEndian.PutUint32(v[0:], uint32(len(path)))
	if exact {
		binary.LittleEndian.PutUint32(v[4:], 1)
	}
	binary.LittleEndian.PutUint32(v[8:], uint32(errno))
	copy(v[24:], path)
	return v
}

// HandleProcessEvent runs the hook as a source would: the deny program's
// verdict comes back; after Close the program no longer runs.
func TestHandleProcessEvent(t *testing.T) {
	rt := newRuntime(t)
	deny := load(t, rt, examples.ProcessDeny, "process_deny.o")
	if err := deny.Maps["deny_rules"].Put(uint32(0), processDenyRule("/opt/bad/", false, 16)); err != nil {
		t.Fatal(err)
	}
	l := attach(t, deny.Programs["deny"], nil)

	for _, tc := range []struct {
		op    ebpfhost.ProcessOp
		image string
		want  int32
	}{
		{ebpfhost.ProcessCreate, "/opt/bad/tool", 16},
		{ebpfhost.ProcessCreate, "/opt/good/tool", 0},
		{ebpfhost.ProcessCreate, "/opt/bad", 0},    // the rule is a directory
		{ebpfhost.ProcessExit, "/opt/bad/tool", 0}, // exits cannot be refused
	} {
		ev := &ebpfhost.ProcessEvent{Op: tc.op, PID: 7, PPID: 1, Image: tc.image, Argv: []string{tc.image}}
		if got := rt.HandleProcessEvent(ev); got != tc.want {
			t.Errorf("%v %s: errno %d; want %d", ev.Op, tc.image, got, tc.want)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ev := &ebpfhost.ProcessEvent{Op: ebpfhost.ProcessCreate, PID: 7, Image: "/opt/bad/tool"}
	if got := rt.HandleProcessEvent(ev); got != 0 {
		t.Errorf("after Close: errno %d; want 0 (no program attached)", got)
	}
}

// fileDenyRule is struct deny_rule of examples/file_deny_write.c.
func fileDenyRule(prefix string, errno int32) []byte {
	v := make([]byte, 16+256)
	binary.LittleEndian.PutUint32(v[0:], uint32(len(prefix)))
	binary.LittleEndian.PutUint32(v[4:], uint32(errno))
	copy(v[16:], prefix)
	return v
}

// The file hooks' attach options filter before the program runs: a
// program limited to writes under a prefix never sees anything else.
func TestFileAttachOptions(t *testing.T) {
	const eACCES, oWRONLY = 13, 1
	for _, tc := range []struct {
		name  string
		opts  *ebpfhost.AttachOptions
		ev    ebpfhost.FileEvent
		errno int32
	}{
		{"section's operations", nil, ebpfhost.FileEvent{Op: 1, Path: "/data/f", Flags: oWRONLY}, eACCES},
		{"section's operations, write", nil, ebpfhost.FileEvent{Op: 4, Path: "/data/f"}, eACCES},
		{"writes only: open passes", &ebpfhost.AttachOptions{Operations: []string{"write"}}, ebpfhost.FileEvent{Op: 1, Path: "/data/f", Flags: oWRONLY}, 0},
		{"writes only: write refused", &ebpfhost.AttachOptions{Operations: []string{"write"}}, ebpfhost.FileEvent{Op: 4, Path: "/data/f"}, eACCES},
		{"prefix elsewhere", &ebpfhost.AttachOptions{PathPrefix: "/other/"}, ebpfhost.FileEvent{Op: 4, Path: "/data/f"}, 0},
		{"prefix matches", &ebpfhost.AttachOptions{PathPrefix: "/data/"}, ebpfhost.FileEvent{Op: 4, Path: "/data/f"}, eACCES},
		{"explicit hook", &ebpfhost.AttachOptions{Hook: "file_pre"}, ebpfhost.FileEvent{Op: 4, Path: "/data/f"}, eACCES},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRuntime(t)
			c := load(t, rt, examples.FileDenyWrite, "file_deny_write.o")
			if err := c.Maps["deny_rules"].Put(uint32(0), fileDenyRule("/data/", eACCES)); err != nil {
				t.Fatal(err)
			}
			attach(t, c.Programs["deny_write"], tc.opts)
			ev := tc.ev
			ev.PID = 9
			if errno, redirect := rt.HandleFileEvent(&ev); errno != tc.errno || redirect != "" {
				t.Errorf("verdict errno %d redirect %q; want errno %d", errno, redirect, tc.errno)
			}
		})
	}
}

func TestAttachErrors(t *testing.T) {
	rt := newRuntime(t)
	proc := load(t, rt, examples.ProcessMonitor, "process_monitor.o").Programs["monitor"]
	file := load(t, rt, examples.FileDenyWrite, "file_deny_write.o").Programs["deny_write"]
	for _, tc := range []struct {
		name string
		p    *ebpfhost.Program
		opts *ebpfhost.AttachOptions
		want string
	}{
		{"file options on a process program", proc, &ebpfhost.AttachOptions{PathPrefix: "/x"}, "apply to file programs only"},
		{"unknown operation", file, &ebpfhost.AttachOptions{Operations: []string{"chmod"}}, `unknown file operation "chmod" (one of: open, create, read`},
		{"unknown hook", proc, &ebpfhost.AttachOptions{Hook: "nope"}, `no attach type "nope"`},
		{"hook of another type", proc, &ebpfhost.AttachOptions{Hook: "file_pre"}, "takes programs of type file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.p.Attach(tc.opts)
			if err == nil {
				l.Close()
				t.Fatalf("attached; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRunEventsBadSource(t *testing.T) {
	rt := newRuntime(t)
	err := rt.RunProcessEvents(context.Background(), &ebpfhost.ProcessEventsOptions{Source: "kprobe"})
	if err == nil || !strings.Contains(err.Error(), `unknown event source "kprobe"`) {
		t.Errorf("process: %v", err)
	}
	err = rt.RunFileEvents(context.Background(), &ebpfhost.FileEventsOptions{Source: "fuse"})
	if err == nil || !strings.Contains(err.Error(), "needs the directory") {
		t.Errorf("file: %v", err)
	}
}

// runUntilReady starts run and waits for its source to be ready; the
// returned function cancels it and checks how it ended.
func runUntilReady(t *testing.T, run func(ctx context.Context, ready func()) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		if errors.Is(err, ebpfhost.ErrUnavailable) {
			t.Skipf("the event source cannot run here: %v", err)
		}
		t.Fatalf("the source stopped before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the source was not ready after 30 s")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("after cancelling: %v", err)
		}
	}
}

// On this machine's real events (root): the exit code of a shell.
func TestRunProcessEventsLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: process event sources watch the whole machine")
	}
	rt := newRuntime(t)
	r := attachMonitor(t, rt)
	stop := runUntilReady(t, func(ctx context.Context, ready func()) error {
		return rt.RunProcessEvents(ctx, &ebpfhost.ProcessEventsOptions{Ready: ready})
	})
	defer stop()

	cmd := exec.Command("/bin/sh", "-c", "exit 45")
	cmd.Run()
	pid := uint64(cmd.Process.Pid)
	evs := readMonitor(t, r, 10*time.Second, func(evs []*procmon.Event) bool {
		n := len(evs)
		return n > 0 && evs[n-1].Op == "exit" && evs[n-1].PID == pid
	})
	if n := len(evs); n == 0 || evs[n-1].PID != pid {
		t.Fatalf("no exit record of pid %d in 10 s", pid)
	}
	if code := *evs[len(evs)-1].ExitCode; code != 45 {
		t.Errorf("exit code %d; want 45", code)
	}
}

// On a real FUSE mount (root): the deny-write program refuses a write
// under its prefix; the file keeps its bytes; reads still work.
func TestRunFileEventsFUSE(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fuse source mounts with mount(2)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	dir := t.TempDir()
	victim := dir + "/protected/file"
	if err := os.MkdirAll(dir+"/protected", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t)
	c := load(t, rt, examples.FileDenyWrite, "file_deny_write.o")
	if err := c.Maps["deny_rules"].Put(uint32(0), fileDenyRule(dir+"/protected/", 13)); err != nil {
		t.Fatal(err)
	}
	attach(t, c.Programs["deny_write"], nil)
	stop := runUntilReady(t, func(ctx context.Context, ready func()) error {
		return rt.RunFileEvents(ctx, &ebpfhost.FileEventsOptions{Mount: dir, Deny: true, Ready: ready})
	})

	err := os.WriteFile(victim, []byte("changed"), 0o644)
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("writing under the prefix: %v; want EACCES", err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "original" {
		t.Errorf("reading through the mount: %q, %v", b, err)
	}
	if err := os.WriteFile(dir+"/free", []byte("x"), 0o644); err != nil {
		t.Errorf("writing outside the prefix: %v", err)
	}
	stop()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "original" {
		t.Errorf("after unmounting: %q, %v", b, err)
	}
}
