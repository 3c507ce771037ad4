package connector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// The test binary doubles as a process that tries the source as an
// unprivileged user.
const testHelperEnv = "EBPFHOST_CONNECTOR_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(testHelperEnv) {
	case "":
		os.Exit(m.Run())
	case "run":
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := New(Options{}).Run(ctx, func(*process.Event) process.Verdict { return process.Allow })
		var ue *process.UnavailableError
		fmt.Printf("unavailable=%v err=%v\n", errors.As(err, &ue), err)
		os.Exit(0)
	}
	os.Exit(2)
}

// recorder keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []process.Event
	cond   *sync.Cond
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) handle(ev *process.Event) process.Verdict {
	r.mu.Lock()
	r.events = append(r.events, *ev)
	r.mu.Unlock()
	r.cond.Broadcast()
	return process.Allow
}

// wait returns the first event of pid with op, waiting up to 5 s.
func (r *recorder) wait(t testing.TB, pid int, op process.Op) process.Event {
	t.Helper()
	ev, ok := r.waitFor(pid, op, 5*time.Second)
	if !ok {
		t.Fatalf("no %v event for pid %d", op, pid)
	}
	return ev
}

// waitFor returns the first event of pid with op, waiting up to d.
func (r *recorder) waitFor(pid int, op process.Op, d time.Duration) (process.Event, bool) {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, r.cond.Broadcast)
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for _, e := range r.events {
			if int(e.PID) == pid && e.Op == op {
				return e, true
			}
		}
		if time.Now().After(deadline) {
			return process.Event{}, false
		}
		r.cond.Wait()
	}
}

func start(t testing.TB, h process.Handler) (*Source, func() error) {
	return startWith(t, Options{}, h)
}

func startWith(t testing.TB, opts Options, h process.Handler) (*Source, func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the proc connector source needs root")
	}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	s := New(opts)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h) }()
	select {
	case <-ready:
	case err := <-done:
		stop()
		var ue *process.UnavailableError
		if errors.As(err, &ue) {
			t.Skip(err)
		}
		t.Fatalf("Run: %v", err)
	}
	var once sync.Once
	var runErr error
	cancel := func() error {
		once.Do(func() {
			stop()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				runErr = errors.New("Run did not return 5s after cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := cancel(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, cancel
}

func TestExitCode(t *testing.T) {
	rec := newRecorder()
	s, _ := start(t, rec.handle)
	for _, tc := range []struct {
		script    string
		code, sig uint32
	}{
		{"exit 45", 45, 0},
		{"exit 0", 0, 0},
		{"kill -9 $$", 137, 9},
		{"kill -TERM $$", 143, 15},
	} {
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		cmd.Run()
		ev := rec.wait(t, cmd.Process.Pid, process.Exit)
		if ev.ExitCode != tc.code || ev.Signal != tc.sig || ev.PPID != uint32(os.Getpid()) {
			t.Errorf("sh -c %q: exit code %d signal %d ppid %d; want %d, %d, %d",
				tc.script, ev.ExitCode, ev.Signal, ev.PPID, tc.code, tc.sig, os.Getpid())
		}
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped() = %d", s.Dropped())
	}
}

func TestSleep(t *testing.T) {
	rec := newRecorder()
	s, _ := start(t, rec.handle)
	cmd := exec.Command("sleep", "1")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	create := rec.wait(t, pid, process.Create)
	exit := rec.wait(t, pid, process.Exit)
	me := uint32(os.Getpid())
	sleep, err := filepath.EvalSymlinks(cmd.Path)
	if err != nil {
		t.Fatal(err)
	}
	if create.PPID != me || create.CreatorPID != me || create.CreatorTID == 0 || create.UID != uint32(os.Getuid()) ||
		create.Image != sleep || !slices.Equal(create.Argv, []string{"sleep", "1"}) {
		t.Errorf("create %+v; want a child of %d running %s [sleep 1]", create, me, sleep)
	}
	if d := time.Since(create.Created); d < time.Second || d > time.Minute {
		t.Errorf("created %v ago", d)
	}
	d := exit.Exited.Sub(exit.Created)
	t.Logf("exit - creation = %v", d)
	if d < time.Second || d > 2*time.Second {
		t.Errorf("exit - creation = %v; want between 1 and 2 s", d)
	}
	if exit.ExitCode != 0 || exit.Signal != 0 || exit.PPID != me || exit.Image != sleep ||
		exit.CreatorPID != me || !exit.Created.Equal(create.Created) {
		t.Errorf("exit %+v", exit)
	}
	caps := s.Caps()
	if caps.Deny || !caps.Exits || !caps.Creates || !caps.ExitCode || !caps.Argv || s.Name() != "connector" {
		t.Errorf("caps %+v", caps)
	}
}

// TestArgv checks a long argument through /proc/<pid>/cmdline, of a
// process that lives long enough to be read.
func TestArgv(t *testing.T) {
	rec := newRecorder()
	start(t, rec.handle)
	long := strings.Repeat("x", 5000) + "!"
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.2", "name", long)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := rec.wait(t, cmd.Process.Pid, process.Create)
	if want := []string{"/bin/sh", "-c", "sleep 0.2", "name", long}; !slices.Equal(ev.Argv, want) {
		t.Errorf("argv %.60q; want %.60q", ev.Argv, want)
	}
}

// TestForkOnly checks the exit of a process that never exec'd: a
// subshell, whose creation time is its fork.
func TestForkOnly(t *testing.T) {
	rec := newRecorder()
	start(t, rec.handle)
	out, err := exec.Command("/bin/sh", "-c", "(sleep 0.3; exit 3) & echo $!; wait").Output()
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(out), &pid)
	ev := rec.wait(t, pid, process.Exit)
	if ev.ExitCode != 0 && ev.ExitCode != 3 || ev.Created.IsZero() || ev.CreatorPID == 0 {
		t.Errorf("exit of a subshell: %+v", ev)
	}
}

// TestOverrun fills a tiny socket buffer behind a stalled handler and
// expects the loss to be counted and the source to go on.
func TestOverrun(t *testing.T) {
	var stall atomic.Bool
	stall.Store(true)
	rec := newRecorder()
	s, _ := startWith(t, Options{ReceiveBuffer: 1}, func(ev *process.Event) process.Verdict {
		if stall.Swap(false) {
			time.Sleep(300 * time.Millisecond)
		}
		return rec.handle(ev)
	})
	if err := exec.Command("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/true; done").Run(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Dropped() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Dropped() == 0 {
		t.Fatal("Dropped() = 0 after overrunning a minimal buffer")
	}
	// The buffer stays tiny, so other activity on the machine can
	// still crowd out an event: a few tries.
	for try := 0; ; try++ {
		cmd := exec.Command("/bin/sh", "-c", "exit 7")
		cmd.Run()
		if ev, ok := rec.waitFor(cmd.Process.Pid, process.Exit, time.Second); ok {
			if ev.ExitCode != 7 {
				t.Errorf("after the overrun: %+v", ev)
			}
			break
		}
		if try == 10 {
			t.Fatal("no exit event after the overrun")
		}
	}
	t.Logf("Dropped() = %d", s.Dropped())
}

func TestCancelPrompt(t *testing.T) {
	_, cancel := start(t, func(*process.Event) process.Verdict { return process.Allow })
	t0 := time.Now()
	if err := cancel(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("Run returned %v after cancellation", d)
	}
}

// TestUnavailableWithoutRoot runs the source as nobody in a child process.
func TestUnavailableWithoutRoot(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to run a child as nobody")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "connector-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "helper")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin)
	cmd.Env = append(os.Environ(), testHelperEnv+"=run")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "unavailable=true") || !strings.Contains(string(out), "run as root") {
		t.Errorf("as nobody: %s; want an UnavailableError saying to run as root", out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

// BenchmarkProcesses starts processes from parallel shell loops
// (fork+exec+exit of /bin/true) with the source running, and reports how
// many processes per second the machine made and what the source saw.
func BenchmarkProcesses(b *testing.B) {
	var creates, exits atomic.Int64
	s, _ := start(b, func(ev *process.Event) process.Verdict {
		if ev.Op == process.Create {
			creates.Add(1)
		} else {
			exits.Add(1)
		}
		return process.Allow
	})
	const loops = 4
	per := (b.N + loops - 1) / loops
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exec.Command("/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done", per)).Run()
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	time.Sleep(100 * time.Millisecond)
	b.StopTimer()
	b.ReportMetric(float64(loops*per)/el.Seconds(), "procs/s")
	b.ReportMetric(float64(creates.Load())/float64(loops*per), "creates/proc")
	b.ReportMetric(float64(s.Dropped()), "drops")
}

// BenchmarkHandleExec measures the source's own work per exec message
// (the /proc reads) for a live process, which bounds the rate it keeps up
// with.
func BenchmarkHandleExec(b *testing.B) {
	st := &state{s: New(Options{}), h: func(*process.Event) process.Verdict { return process.Allow }, procs: map[uint32]*tracked{}, clk: now()}
	pid := uint32(os.Getpid())
	ev := event{What: evExec, PID: pid, TGID: pid, Timestamp: uint64(time.Since(time.Unix(0, st.clk.monoToWall)))}
	for i := 0; i < b.N; i++ {
		st.handle(ev)
	}
}
