package procmon_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/tools/procmon"
)

// live runs the monitor on a real source and returns once it is ready.
// It skips the test when the source cannot run here (not root, no kernel
// eBPF, no fanotify), saying why.
func live(t *testing.T, o procmon.Options) (*collector, func() procmon.Stats) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the real process event sources do")
	}
	col := newCollector()
	o.OnEvent = col.add
	o.Out = &bytes.Buffer{}
	log := &syncBuffer{}
	o.Log = log
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
		t.Fatalf("monitor stopped: %v", err)
	}
	// Sources report unavailability promptly; give them that moment, and
	// the kernel side time to attach.
	select {
	case <-done:
		var ue *process.UnavailableError
		if errors.As(err, &ue) {
			t.Skipf("source unavailable here: %v", ue)
		}
		t.Fatalf("monitor stopped: %v (log: %s)", err, log.String())
	case <-time.After(500 * time.Millisecond):
	}
	var once sync.Once
	stop := func() procmon.Stats {
		once.Do(func() {
			cancel()
			<-done
		})
		if err != nil {
			t.Fatalf("monitor: %v (log: %s)", err, log.String())
		}
		return st
	}
	t.Cleanup(func() { cancel(); <-done })
	return col, stop
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pidIs(op string, pid int) func(*procmon.Event) bool {
	return func(ev *procmon.Event) bool { return ev.Op == op && ev.PID == uint64(pid) }
}

// TestLive runs the embedded monitor on the tracepoint source and checks
// what it reports for processes this test starts.
func TestLive(t *testing.T) {
	col, stop := live(t, procmon.Options{SourceName: "tracepoint"})

	t.Run("exit code", func(t *testing.T) {
		cmd := exec.Command("sh", "-c", "exit 45")
		if err := cmd.Run(); err == nil {
			t.Fatal("sh -c 'exit 45' succeeded")
		}
		ev := col.wait(t, "exit", pidIs("exit", cmd.Process.Pid))
		if ev.ExitCode == nil || *ev.ExitCode != 45 {
			t.Fatalf("exit code %v, want 45", ev.ExitCode)
		}
		if ev.PPID != uint64(os.Getpid()) {
			t.Errorf("parent %d, want this test (%d)", ev.PPID, os.Getpid())
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		cmd := exec.Command("sleep", "1")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		ev := col.wait(t, "exit", pidIs("exit", cmd.Process.Pid))
		if d := ev.Exited.Sub(ev.Created); d < time.Second || d > 2*time.Second {
			t.Fatalf("exited - created = %v, want between 1 and 2 s (created %v, exited %v)", d, ev.Created, ev.Exited)
		}
	})
	t.Run("command line", func(t *testing.T) {
		long := strings.Repeat("0123456789", 500) + "x" // 5,001 characters
		cmd := exec.Command("/bin/echo", "first", long)
		cmd.Stdout = nil
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		ev := col.wait(t, "create", pidIs("create", cmd.Process.Pid))
		if want := "/bin/echo first " + long; ev.CommandLine != want {
			t.Fatalf("command line of %d bytes, want %d: %.80q...", len(ev.CommandLine), len(want), ev.CommandLine)
		}
		self, _ := filepath.EvalSymlinks("/bin/echo")
		if ev.Image != self {
			t.Errorf("image %q, want %q", ev.Image, self)
		}
		if ev.PPID != uint64(os.Getpid()) {
			t.Errorf("parent %d, want this test (%d)", ev.PPID, os.Getpid())
		}
		if ev.UID != uint32(os.Getuid()) {
			t.Errorf("uid %d, want %d", ev.UID, os.Getuid())
		}
	})
	st := stop()
	if st.SourceDropped+st.RingDropped != 0 || st.Failures != 0 {
		t.Errorf("stats %+v: nothing should be lost or fail", st)
	}
}

// TestLiveDeny refuses a copy of true in a directory with the deny
// program on the fanotify source (joined with the tracepoint source) and
// checks that other programs still start.
func TestLiveDeny(t *testing.T) {
	dir := t.TempDir()
	denied := filepath.Join(dir, "denied-true")
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(denied, data, 0o755); err != nil {
		t.Fatal(err)
	}
	col, stop := live(t, procmon.Options{Deny: []string{dir}, DenyErrno: syscall.EBUSY})

	// Through a shell: the fanotify source lets the children of its own
	// process start at once (Go's vfork would deadlock against it), and
	// judges what they start.
	var stderr bytes.Buffer
	sh := exec.Command("sh", "-c", denied)
	sh.Stderr = &stderr
	err = sh.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 126 {
		t.Fatalf("running a denied binary: %v (%s), want the shell to fail to exec it (126)", err, stderr.String())
	}
	// Linux 6.14+ passes EBUSY through fanotify; older kernels give EPERM.
	if msg := strings.ToLower(stderr.String()); !strings.Contains(msg, syscall.EBUSY.Error()) && !strings.Contains(msg, syscall.EPERM.Error()) {
		t.Fatalf("exec error %q, want EBUSY (or EPERM on kernels before 6.14)", msg)
	}
	col.wait(t, "deny", func(ev *procmon.Event) bool { return ev.Op == "deny" && ev.Image == denied })

	cmd := exec.Command("sh", "-c", "/bin/true; exit 7")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("an allowed program failed to start: %v", err)
	}
	col.wait(t, "create of /bin/true", func(ev *procmon.Event) bool {
		return ev.Op == "create" && ev.PPID == uint64(cmd.Process.Pid) && strings.HasSuffix(ev.Image, "/true")
	})
	col.wait(t, "exit of the shell", pidIs("exit", cmd.Process.Pid))
	if st := stop(); st.Denied != 1 {
		t.Errorf("stats %+v, want 1 denial", st)
	}
}
