package tracepoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// The test binary doubles as the processes some tests watch, chosen by this
// variable, so that they need nothing installed.
const helperEnv = "EBPFHOST_TRACEPOINT_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "threads":
		threadsHelper()
	case "unavailable":
		unavailableHelper()
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// threadsHelper becomes a process of several threads, says how many, and
// exits with status 7 from a thread that is not the leader.
func threadsHelper() {
	runtime.LockOSThread() // keep the leader out of the goroutine below
	started := make(chan struct{})
	for range 4 {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			select {}
		}()
	}
	for range 4 {
		<-started
	}
	fmt.Println(threadCount())
	go func() {
		// Exits the whole process (exit_group) from this goroutine's
		// thread while the others, leader included, are still running.
		time.Sleep(50 * time.Millisecond)
		os.Exit(7)
	}()
	select {}
}

func threadCount() int {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// unavailableHelper runs the source (as an unprivileged user) and prints
// what Run returned.
func unavailableHelper() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := New().Run(ctx, func(*process.Event) process.Verdict { return process.Allow })
	var ue *process.UnavailableError
	if errors.As(err, &ue) {
		fmt.Println("unavailable:", ue.Error())
		return
	}
	fmt.Println("other:", err)
}

func TestObjectUpToDate(t *testing.T) {
	clangtest.CheckObject(t, "bpf/process.c", "bpf/process.o")
}

// TestRecordLayout checks record.go's offsets against struct record as
// compiled into the object.
func TestRecordLayout(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(processObject))
	if err != nil {
		t.Fatal(err)
	}
	var rec *btf.Struct
	if err := spec.Types.TypeByName("record", &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"time_ns": offTime, "kind": offKind, "flags": offFlags,
		"image_len": offImageLen, "argv_len": offArgvLen, "pid": offPID,
		"ppid": offPPID, "creator_pid": offCreatorPID, "creator_tid": offCreatorTID,
		"uid": offUID, "status": offStatus, "data": offData,
	}
	for _, m := range rec.Members {
		off, ok := want[m.Name]
		if !ok {
			t.Errorf("struct record has field %s that record.go does not know", m.Name)
			continue
		}
		if int(m.Offset.Bytes()) != off {
			t.Errorf("struct record field %s is at %d, record.go says %d", m.Name, m.Offset.Bytes(), off)
		}
		delete(want, m.Name)
		if m.Name == "data" {
			arr, ok := m.Type.(*btf.Array)
			if !ok || arr.Nelems != 4096+argvMax {
				t.Errorf("struct record data is %v, want char[4096+%d]", m.Type, argvMax)
			}
		}
	}
	for name := range want {
		t.Errorf("struct record has no field %s", name)
	}
}

func TestSplitArgv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"\x00", []string{""}},
		{"a\x00", []string{"a"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"a\x00b\x00\x00", []string{"a", "b", ""}},
		{"a\x00bc", []string{"a", "bc"}}, // cut short: no final NUL
	} {
		if got := splitArgv([]byte(tc.in)); !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("splitArgv(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeExitStatus(t *testing.T) {
	d := newDecoder(func() int64 { return 0 }, func() {})
	for _, tc := range []struct {
		status       uint32
		code, signal uint32
	}{
		{0, 0, 0},
		{45 << 8, 45, 0},
		{9, 137, 9},
		{11 | 0x80, 139, 11}, // core dumped
		{255 << 8, 255, 0},
	} {
		raw := make([]byte, offData)
		raw[offKind] = recExit
		raw[offStatus] = byte(tc.status)
		raw[offStatus+1] = byte(tc.status >> 8)
		var ev process.Event
		if !d.decode(raw, &ev) {
			t.Fatal("decode refused an exit record")
		}
		if ev.Op != process.Exit || ev.ExitCode != tc.code || ev.Signal != tc.signal {
			t.Errorf("status %#x: got %v code %d signal %d, want exit code %d signal %d",
				tc.status, ev.Op, ev.ExitCode, ev.Signal, tc.code, tc.signal)
		}
	}
	if d.decode(make([]byte, offData-1), new(process.Event)) {
		t.Error("decode accepted a short record")
	}
}

// collector keeps the events a running source delivers.
type collector struct {
	mu      sync.Mutex
	evs     []*process.Event
	changed chan struct{} // closed and replaced on every event
}

func (c *collector) handle(ev *process.Event) process.Verdict {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return process.Allow
}

// find returns the events that match.
func (c *collector) find(match func(*process.Event) bool) []*process.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*process.Event
	for _, ev := range c.evs {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the first event that matches, failing the test after 10 s.
func (c *collector) wait(t *testing.T, what string, match func(*process.Event) bool) *process.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ch := c.changed
		for _, ev := range c.evs {
			if match(ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

func op(o process.Op, pid int) func(*process.Event) bool {
	return func(ev *process.Event) bool { return ev.Op == o && ev.PID == uint32(pid) }
}

// start runs a source until the test ends, skipping the test when this
// machine cannot run it.
func start(t *testing.T, opts ...Option) (*Source, *collector) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	ready := make(chan struct{})
	s := New(append(opts, WithReady(func() { close(ready) }))...)
	c := &collector{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, c.handle) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		var ue *process.UnavailableError
		if errors.As(err, &ue) {
			t.Skipf("kernel BPF unavailable here: %v", err)
		}
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5 s of cancellation")
		}
		if n := s.Dropped(); n != 0 {
			t.Errorf("Dropped = %d", n)
		}
	})
	return s, c
}

func run(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	p, err = filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestExitCode(t *testing.T) {
	_, c := start(t)
	cmd := exec.Command("sh", "-c", "exit 45")
	run(t, cmd)
	ev := c.wait(t, "exit of sh", op(process.Exit, cmd.Process.Pid))
	if ev.ExitCode != 45 || ev.Signal != 0 {
		t.Errorf("exit code %d signal %d, want 45 and 0", ev.ExitCode, ev.Signal)
	}
	if ev.PPID != uint32(os.Getpid()) || ev.UID != uint32(os.Getuid()) {
		t.Errorf("exit PPID %d UID %d, want %d and %d", ev.PPID, ev.UID, os.Getpid(), os.Getuid())
	}
	if want := lookPath(t, "sh"); ev.Image != want {
		t.Errorf("exit Image %q, want %q", ev.Image, want)
	}
}

func TestCreate(t *testing.T) {
	_, c := start(t)
	before := time.Now()
	cmd := exec.Command("sleep", "1")
	run(t, cmd)
	after := time.Now()
	pid := cmd.Process.Pid
	cr := c.wait(t, "create of sleep", op(process.Create, pid))
	ex := c.wait(t, "exit of sleep", op(process.Exit, pid))

	if want := lookPath(t, "sleep"); cr.Image != want {
		t.Errorf("Image %q, want %q", cr.Image, want)
	}
	if !slices.Equal(cr.Argv, cmd.Args) {
		t.Errorf("Argv %q, want %q", cr.Argv, cmd.Args)
	}
	if cr.PPID != uint32(os.Getpid()) {
		t.Errorf("PPID %d, want the test's pid %d", cr.PPID, os.Getpid())
	}
	// exec.Cmd forks from one of the test's threads.
	if cr.CreatorPID != uint32(os.Getpid()) || cr.CreatorTID == 0 {
		t.Errorf("creator %d/%d, want the test's pid %d and a thread", cr.CreatorPID, cr.CreatorTID, os.Getpid())
	}
	if cr.UID != uint32(os.Getuid()) {
		t.Errorf("UID %d, want %d", cr.UID, os.Getuid())
	}
	// The boot clock to wall clock conversion: the exec happened while
	// the test waited, give or take the clocks' resolution.
	slack := 10 * time.Millisecond
	if cr.Created.Before(before.Add(-slack)) || cr.Created.After(after.Add(slack)) {
		t.Errorf("Created %v, outside the run %v to %v", cr.Created, before, after)
	}
	if d := ex.Exited.Sub(cr.Created); d < time.Second || d > 2*time.Second {
		t.Errorf("Exited - Created = %v, want between 1 s and 2 s", d)
	}
	if !ex.Created.Equal(cr.Created) || ex.Image != cr.Image {
		t.Errorf("exit carries Created %v Image %q, want the create's %v %q", ex.Created, ex.Image, cr.Created, cr.Image)
	}
	if ex.ExitCode != 0 || ex.Signal != 0 {
		t.Errorf("exit code %d signal %d, want 0", ex.ExitCode, ex.Signal)
	}
}

func TestLongArgument(t *testing.T) {
	s, c := start(t)
	long := strings.Repeat("0123456789", 500) + "x" // 5,001 characters
	cmd := exec.Command(lookPath(t, "true"), "first", long, "", "last")
	run(t, cmd)
	ev := c.wait(t, "create of true", op(process.Create, cmd.Process.Pid))
	if !slices.Equal(ev.Argv, cmd.Args) {
		t.Errorf("Argv has %d arguments of lengths %v, want %v", len(ev.Argv), lens(ev.Argv), lens(cmd.Args))
	}
	if s.Truncated() != 0 {
		t.Errorf("Truncated = %d", s.Truncated())
	}
}

func TestTruncatedArgv(t *testing.T) {
	s, c := start(t)
	big := strings.Repeat("y", 40000)
	cmd := exec.Command(lookPath(t, "true"), "a", big)
	run(t, cmd)
	ev := c.wait(t, "create of true", op(process.Create, cmd.Process.Pid))
	total := 0
	for _, a := range ev.Argv {
		total += len(a) + 1
	}
	if len(ev.Argv) != 3 || ev.Argv[1] != "a" || !strings.HasPrefix(big, ev.Argv[2]) || total-1 != argvMax {
		t.Errorf("Argv lengths %v, want the first %d bytes of %v", lens(ev.Argv), argvMax, lens(cmd.Args))
	}
	if s.Truncated() != 1 {
		t.Errorf("Truncated = %d, want 1", s.Truncated())
	}
}

func lens(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

// TestRelativeImage runs a program by a relative name from a directory
// reached through a symbolic link: Image is still the absolute, resolved
// path of the file.
func TestRelativeImage(t *testing.T) {
	_, c := start(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(lookPath(t, "true"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real", "prog"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./prog")
	cmd.Dir = filepath.Join(dir, "link")
	run(t, cmd)
	ev := c.wait(t, "create of ./prog", op(process.Create, cmd.Process.Pid))
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(realDir, "real", "prog"); ev.Image != want {
		t.Errorf("Image %q, want %q", ev.Image, want)
	}
	if len(ev.Argv) == 0 || ev.Argv[0] != "./prog" {
		t.Errorf("Argv %q, want ./prog first", ev.Argv)
	}
}

// TestScriptImage: a script's process runs its interpreter, which is the
// Image; the command line names the script.
func TestScriptImage(t *testing.T) {
	_, c := start(t)
	sh := lookPath(t, "sh")
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!"+sh+"\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "arg")
	run(t, cmd)
	cr := c.wait(t, "create of the script", op(process.Create, cmd.Process.Pid))
	ex := c.wait(t, "exit of the script", op(process.Exit, cmd.Process.Pid))
	if cr.Image != sh {
		t.Errorf("Image %q, want the interpreter %q", cr.Image, sh)
	}
	if want := []string{sh, script, "arg"}; !slices.Equal(cr.Argv, want) {
		t.Errorf("Argv %q, want %q", cr.Argv, want)
	}
	if ex.ExitCode != 3 {
		t.Errorf("ExitCode %d, want 3", ex.ExitCode)
	}
}

func TestKilled(t *testing.T) {
	_, c := start(t)
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.wait(t, "create of sleep", op(process.Create, cmd.Process.Pid))
	cmd.Process.Kill()
	cmd.Wait()
	ev := c.wait(t, "exit of sleep", op(process.Exit, cmd.Process.Pid))
	if ev.Signal != 9 || ev.ExitCode != 137 {
		t.Errorf("signal %d exit code %d, want 9 and 137", ev.Signal, ev.ExitCode)
	}
}

// TestThreadsExitOnce checks that a process of several threads gives one
// Exit with the process's status, both with the kernel's group_dead
// argument (Linux 6.16 and later) and with the detection older kernels get.
func TestThreadsExitOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"group_dead", nil},
		{"signal_live", []Option{func(s *Source) { s.noGroupArg = true }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := start(t, tc.opts...)
			var pids []int
			for range 5 {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), helperEnv+"=threads")
				out, err := cmd.Output()
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
					t.Fatalf("helper: %v", err)
				}
				if n, _ := strconv.Atoi(strings.TrimSpace(string(out))); n < 5 {
					t.Fatalf("helper had %q threads, want at least 5", out)
				}
				pids = append(pids, cmd.Process.Pid)
			}
			for _, pid := range pids {
				ev := c.wait(t, "exit of the helper", op(process.Exit, pid))
				if ev.ExitCode != 7 || ev.Signal != 0 {
					t.Errorf("exit code %d signal %d, want 7 and 0", ev.ExitCode, ev.Signal)
				}
			}
			// Duplicates would have been sent before or right after the
			// first; give the reader time to deliver them anyway.
			time.Sleep(200 * time.Millisecond)
			for _, pid := range pids {
				if evs := c.find(op(process.Exit, pid)); len(evs) != 1 {
					t.Errorf("pid %d: %d exits, want 1", pid, len(evs))
				}
			}
		})
	}
}

func TestCancel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	ready := make(chan struct{})
	s := New(WithReady(func() { close(ready) }))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, func(*process.Event) process.Verdict { return process.Allow }) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Skipf("kernel BPF unavailable here: %v", err)
	}
	if err := s.Run(ctx, nil); err == nil || errors.As(err, new(*process.UnavailableError)) {
		t.Errorf("second concurrent Run: %v, want a plain error", err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run: %v, want nil after cancellation", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of cancellation")
	}
	// The Source runs again.
	_, c := start(t)
	cmd := exec.Command("sh", "-c", "exit 1")
	run(t, cmd)
	c.wait(t, "exit of sh", op(process.Exit, cmd.Process.Pid))
}

// TestUnavailable runs the source as an unprivileged user: Run must return
// an UnavailableError that says to run as root.
func TestUnavailable(t *testing.T) {
	if os.Geteuid() != 0 {
		// Already unprivileged: try directly.
		err := New().Run(context.Background(), nil)
		var ue *process.UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(ue.Fix, "root") {
			t.Fatalf("Run as uid %d: %v, want an UnavailableError saying to run as root", os.Geteuid(), err)
		}
		return
	}
	// Copy the test binary where an unprivileged user can run it.
	dir := t.TempDir()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if strings.HasPrefix(d, os.TempDir()+"/") {
			os.Chmod(d, 0o755)
		}
	}
	bin := filepath.Join(dir, "helper")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), helperEnv+"=unavailable")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(line, "unavailable: ") || !strings.Contains(line, "run as root") {
		t.Fatalf("unprivileged Run returned %q, want an UnavailableError saying to run as root", out)
	}
	t.Log(line)
}

// TestVerifierBudget keeps the exec program well within the verifier's
// limit of a million instructions, so that older kernels, whose verifiers
// prune less, still accept it.
func TestVerifierBudget(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(processObject))
	if err != nil {
		t.Fatal(err)
	}
	spec.Maps["scratch"].MaxEntries = 1
	spec.Maps["events"].MaxEntries = ringSize(0)
	objs := new(objects)
	err = spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
	if err != nil {
		t.Skipf("kernel BPF unavailable here: %v", err)
	}
	defer objs.close()
	for _, p := range []*ebpf.Program{objs.OnFork, objs.OnExec, objs.OnExit} {
		var n int
		for line := range strings.SplitSeq(p.VerifierLog, "\n") {
			if rest, ok := strings.CutPrefix(line, "processed "); ok {
				n, _ = strconv.Atoi(strings.Fields(rest)[0])
			}
		}
		t.Logf("%v: verifier processed %d instructions", p, n)
		if n == 0 || n > 250_000 {
			t.Errorf("%v: verifier processed %d instructions, want at most a quarter of the 1M limit", p, n)
		}
	}
}

// BenchmarkExec measures events delivered per second while several
// goroutines start /bin/true as fast as they can: each start gives a Create
// and an Exit.
func BenchmarkExec(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to load kernel BPF programs")
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("true not installed")
	}
	var (
		mu      sync.Mutex
		seen    int
		allSeen = make(chan struct{})
		want    = -1
	)
	me := uint32(os.Getpid())
	ready := make(chan struct{})
	s := New(WithReady(func() { close(ready) }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- s.Run(ctx, func(ev *process.Event) process.Verdict {
			if ev.PPID == me && ev.Image != "" {
				mu.Lock()
				seen++
				if seen == want {
					close(allSeen)
				}
				mu.Unlock()
			}
			return process.Allow
		})
	}()
	select {
	case <-ready:
	case err := <-errc:
		b.Skipf("kernel BPF unavailable here: %v", err)
	}

	workers := 2 * runtime.GOMAXPROCS(0)
	attr := &syscall.ProcAttr{Env: []string{}}
	argv := []string{truePath}
	b.ResetTimer()
	begin := time.Now()
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	for range workers {
		wg.Go(func() {
			for range next {
				pid, err := syscall.ForkExec(truePath, argv, attr)
				if err != nil {
					b.Error(err)
					return
				}
				var ws syscall.WaitStatus
				syscall.Wait4(pid, &ws, 0, nil)
			}
		})
	}
	wg.Wait()
	spawned := time.Since(begin)
	mu.Lock()
	want = 2 * b.N
	if seen == want {
		close(allSeen)
	}
	mu.Unlock()
	select {
	case <-allSeen:
	case <-time.After(10 * time.Second):
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	mu.Lock()
	got := seen
	mu.Unlock()
	b.ReportMetric(float64(b.N)/spawned.Seconds(), "starts/s")
	b.ReportMetric(float64(got)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(2*b.N-got), "missing")
	b.ReportMetric(float64(s.Dropped()), "dropped")
	if got != 2*b.N {
		b.Errorf("%d of %d events arrived (%d dropped)", got, 2*b.N, s.Dropped())
	}
}
