package fanotify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// The test binary doubles as a helper process: a static program to exec,
// and a non-root attempt to start the source.
const testHelperEnv = "EBPFHOST_FANOTIFY_TEST_HELPER"

// nextEnv is the helper mode for the program "exec" mode runs.
const nextEnv = "EBPFHOST_FANOTIFY_TEST_NEXT"

func TestMain(m *testing.M) {
	switch os.Getenv(testHelperEnv) {
	case "":
		os.Exit(m.Run())
	case "exit":
		os.Exit(0)
	case "exec":
		// execve(argv[1], argv[1:]) from a process of its own, not a
		// vfork child of the test process; the exec's errno is the exit
		// status when it fails.
		// The program runs with testHelperEnv set to nextEnv's value
		// (unset if empty).
		next := os.Getenv(nextEnv)
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, testHelperEnv+"=") && !strings.HasPrefix(e, nextEnv+"=") {
				env = append(env, e)
			}
		}
		if next != "" {
			env = append(env, testHelperEnv+"="+next)
		}
		err := unix.Exec(os.Args[1], os.Args[1:], env)
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			os.Exit(255)
		}
		os.Exit(100 + int(errno))
	case "execveat":
		// execveat(AT_FDCWD, argv[1], argv[1:], env, 0)
		execveat(os.Args[1], os.Args[1:])
	case "thread-exec":
		// execve from a thread that is not the process's main thread.
		var try func()
		try = func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				go try() // and keep the main thread busy here
				select {}
			}
			err := unix.Exec(os.Args[1], os.Args[1:], os.Environ())
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		go try()
		select {}
	case "run":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := New(Options{}).Run(ctx, func(*process.Event) process.Verdict { return process.Allow })
		var ue *process.UnavailableError
		fmt.Printf("unavailable=%v err=%v\n", errors.As(err, &ue), err)
		os.Exit(0)
	}
	os.Exit(2)
}

// execErrno runs argv through the test binary's "exec" mode: a process
// that execs argv itself, as programs started by a shell do. (A child the
// test process starts with os/exec shares the test process's memory until
// its exec, so the source allows its exec at once: see the package
// documentation.) It returns the exec's errno, or 0 when the program ran
// and exited 0.
func execErrno(t testing.TB, argv ...string) syscall.Errno {
	t.Helper()
	errno, _ := execVia(t, "", argv...)
	return errno
}

// execVia is execErrno, with the program's helper mode next, returning
// the intermediate process's pid as well.
func execVia(t testing.TB, next string, argv ...string) (syscall.Errno, int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, argv...)
	cmd.Env = append(os.Environ(), testHelperEnv+"=exec", nextEnv+"="+next)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, cmd.Process.Pid
	case errors.As(err, &ee) && ee.ExitCode() > 100:
		return syscall.Errno(ee.ExitCode() - 100), cmd.Process.Pid
	}
	t.Fatalf("%q: %v\n%s", argv, err, out)
	return 0, 0
}

func execveat(path string, argv []string) {
	p, _ := unix.BytePtrFromString(path)
	av, _ := syscall.SlicePtrFromStrings(argv)
	env, _ := syscall.SlicePtrFromStrings(os.Environ())
	const atFDCWD = -100
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(atFDCWD&0xffffffff), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&av[0])), uintptr(unsafe.Pointer(&env[0])), 0, 0)
	fmt.Fprintln(os.Stderr, "execveat:", e)
	os.Exit(5)
}

// recorder is a Handler that keeps every Create and refuses the images it
// was told to, with the errno it was told.
type recorder struct {
	mu     sync.Mutex
	events []process.Event
	deny   map[string]int32
	hook   func(*process.Event) // runs inside the handler, for panics and delays
}

func (r *recorder) handle(ev *process.Event) process.Verdict {
	r.mu.Lock()
	r.events = append(r.events, *ev)
	errno := r.deny[ev.Image]
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(ev)
	}
	return process.Verdict{Errno: errno}
}

func (r *recorder) setDeny(image string, errno int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deny == nil {
		r.deny = map[string]int32{}
	}
	r.deny[image] = errno
}

// byPID returns the events of one process that has exited. An event can
// reach the Handler after the exec it describes finished: when the exec
// was allowed without waiting for it, because Run's process stalled (see
// liveness). So it waits up to 3 s for a first event, and a little longer
// for any further one.
func (r *recorder) byPID(pid int) []process.Event {
	get := func() []process.Event {
		r.mu.Lock()
		defer r.mu.Unlock()
		var out []process.Event
		for _, e := range r.events {
			if int(e.PID) == pid {
				out = append(out, e)
			}
		}
		return out
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	return get()
}

// start runs a Source until the test ends, skipping the test where
// fanotify permission events are unavailable.
func start(t testing.TB, opts Options, h process.Handler) (s *Source, cancel func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify permission events need root")
	}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s = New(opts)
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
	cancel = func() error {
		once.Do(func() {
			stop()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("Run did not return 10s after cancellation")
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

// copyExe copies a program into a fresh directory, so that the tests can
// refuse it without touching anything else running on the machine.
func copyExe(t testing.TB, src, name string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, name)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func realpath(t testing.TB, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kernelAtLeast reports whether the running kernel is at least major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return ma > major || ma == major && mi >= minor
}

func TestDeny(t *testing.T) {
	rec := &recorder{}
	s, _ := start(t, Options{}, rec.handle)
	target := copyExe(t, "/bin/true", "refuse-me")

	// FAN_DENY_ERRNO (Linux 6.14) takes only a few errnos; the others,
	// and every errno before 6.14, become EPERM.
	taken := map[syscall.Errno]bool{}
	for _, e := range s.Errnos() {
		taken[syscall.Errno(e)] = true
	}
	if kernelAtLeast(6, 14) {
		for _, e := range []syscall.Errno{syscall.EIO, syscall.ETXTBSY, syscall.EAGAIN} {
			if !taken[e] {
				t.Errorf("Linux 6.14+ but the source found that errno %d (%v) cannot refuse an exec: %v", e, e, s.Errnos())
			}
		}
	}
	custom := func(e syscall.Errno) syscall.Errno {
		if taken[e] {
			return e
		}
		return syscall.EPERM
	}
	t.Logf("errnos taken: %v; %s", s.Errnos(), s.Caps().Limitation)
	for _, tc := range []struct {
		ask  int32
		want syscall.Errno
	}{
		{int32(syscall.EPERM), syscall.EPERM},
		{int32(syscall.EACCES), custom(syscall.EACCES)},
		{int32(syscall.ENOENT), custom(syscall.ENOENT)},
		{45, custom(45)},
		{int32(syscall.EIO), custom(syscall.EIO)},
		{int32(syscall.ETXTBSY), custom(syscall.ETXTBSY)},
		{int32(syscall.EAGAIN), custom(syscall.EAGAIN)},
		{5000, syscall.EPERM},
		{-1, syscall.EPERM},
	} {
		t.Run(fmt.Sprint(tc.ask), func(t *testing.T) {
			rec.setDeny(target, tc.ask)
			if got := execErrno(t, target); got != tc.want {
				t.Errorf("exec of a refused program: errno %d (%v); want %d (%v)", got, got, tc.want, tc.want)
			}
			// Twice: the second refusal uses what the first learnt.
			if got := execErrno(t, target); got != tc.want {
				t.Errorf("second exec: %v; want %v", got, tc.want)
			}
			// Others still start, also from a shell.
			if got := execErrno(t, "/bin/true"); got != 0 {
				t.Errorf("/bin/true next to a refused program: %v", got)
			}
			out, err := exec.Command("/bin/sh", "-c", target+"; echo $?; /bin/true && echo ok").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ok") || !strings.Contains(string(out), "126") {
				t.Errorf("sh running the refused program then /bin/true: %v\n%s", err, out)
			}
		})
	}
	rec.setDeny(target, 0)
	if got := execErrno(t, target); got != 0 {
		t.Errorf("exec once allowed again: %v", got)
	}

	// A script is refused by its own name; its interpreter still runs.
	script := filepath.Join(filepath.Dir(target), "refused.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rec.setDeny(script, int32(syscall.ETXTBSY))
	if got, want := execErrno(t, script), custom(syscall.ETXTBSY); got != want {
		t.Errorf("exec of a refused script: %v; want %v", got, want)
	}
	if got := execErrno(t, "/bin/sh", "-c", "exit 0"); got != 0 {
		t.Errorf("sh next to a refused script: %v", got)
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0", s.Dropped())
	}
}

func TestCreateEvent(t *testing.T) {
	rec := &recorder{}
	s, _ := start(t, Options{}, rec.handle)
	target := copyExe(t, "/bin/true", "report-me")
	long := strings.Repeat("0123456789", 500) + "!"
	args := []string{"some", "", long, "a b", "last"}
	cmd := exec.Command(target, args...)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	evs := rec.byPID(cmd.Process.Pid)
	if len(evs) != 1 {
		t.Fatalf("%d events for the exec, want 1 (the loader must not add one): %+v", len(evs), evs)
	}
	ev := evs[0]
	me := uint32(os.Getpid())
	if ev.Op != process.Create || ev.Image != target || !filepath.IsAbs(ev.Image) ||
		ev.PPID != me || ev.CreatorPID != me || ev.CreatorTID != me ||
		ev.UID != uint32(os.Getuid()) || time.Since(ev.Created) > time.Minute {
		t.Errorf("event %+v; want Create of %s by a child of %d, uid %d", ev, target, me, os.Getuid())
	}
	wantArgv := append([]string{target}, args...)
	if !slices.Equal(ev.Argv, wantArgv) {
		t.Errorf("argv: %d arguments %.80q; want %d %.80q", len(ev.Argv), ev.Argv, len(wantArgv), wantArgv)
	}
	if len(ev.Argv) == 4 && len(ev.Argv[3]) != 5001 {
		t.Errorf("the 5,001-character argument arrived with %d", len(ev.Argv[3]))
	}
	// The same exec by a process of its own (the path execs by everything
	// but the test process's own children take).
	errno, pid := execVia(t, "", append([]string{target}, args...)...)
	if errno != 0 {
		t.Fatal(errno)
	}
	if evs := rec.byPID(pid); len(evs) != 2 {
		t.Errorf("%d events for pid %d, want 2 (the test binary, then the program): %+v", len(evs), pid, evs)
	} else if ev := evs[1]; ev.Image != target || ev.PPID != me || ev.UID != uint32(os.Getuid()) ||
		!slices.Equal(ev.Argv, wantArgv) {
		t.Errorf("exec by a process: %+v; want %s by a child of %d with argv %.60q", ev, target, me, wantArgv)
	}

	caps := s.Caps()
	if !caps.Deny || !caps.Creates || caps.Exits || !caps.Argv || !caps.UID || !caps.Parent {
		t.Errorf("caps %+v", caps)
	}
	if !caps.AllMounts {
		t.Logf("not all mounts marked: %s", caps.Limitation)
	}
	if s.Name() != "fanotify" {
		t.Errorf("Name() = %q", s.Name())
	}

	// A setuid-free change of user: the event carries the caller's real
	// uid (setpriv execs the target as nobody).
	if setpriv, err := exec.LookPath("setpriv"); err == nil {
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", target, "as-nobody")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range rec.byPID(cmd.Process.Pid) {
			if e.Image == target {
				found = true
				if e.UID != 65534 || !slices.Equal(e.Argv, []string{target, "as-nobody"}) {
					t.Errorf("exec as nobody: uid %d argv %q", e.UID, e.Argv)
				}
			}
		}
		if !found {
			t.Errorf("no Create for %s by pid %d", target, cmd.Process.Pid)
		}
	}
}

// TestArgvLimits checks the longest command line Linux accepts (one
// argument of 128 KiB less one, many of them) and the MaxArgvBytes cut.
func TestArgvLimits(t *testing.T) {
	rec := &recorder{}
	s, _ := start(t, Options{}, rec.handle)
	target := copyExe(t, "/bin/true", "long-argv")
	maxArg := strings.Repeat("m", 128<<10-1)
	// About 1.5 MiB in 12 arguments: above MaxArgvBytes, below Linux's
	// limit of a quarter of the stack limit (8 MiB by default).
	var rlim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_STACK, &rlim) != nil || rlim.Cur < 8<<20 {
		t.Skip("stack limit below 8 MiB")
	}
	args := make([]string, 12)
	for i := range args {
		args[i] = maxArg
	}
	cmd := exec.Command(target, args...)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	evs := rec.byPID(cmd.Process.Pid)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	total := 0
	for i, a := range evs[0].Argv {
		total += len(a) + 1
		if i > 0 && i < len(evs[0].Argv)-1 && a != maxArg {
			t.Errorf("argument %d: %d bytes", i, len(a))
		}
	}
	if total != MaxArgvBytes || s.Truncated() != 1 {
		t.Errorf("argv of %d bytes in %d arguments, Truncated() = %d; want cut at %d, 1",
			total, len(evs[0].Argv), s.Truncated(), MaxArgvBytes)
	}
}

// TestWhatIsSeen pins down which file each kind of exec reports, and that
// the loader and script interpreters do not add Creates of their own.
func TestWhatIsSeen(t *testing.T) {
	rec := &recorder{}
	start(t, Options{}, rec.handle)

	dynamic := copyExe(t, "/bin/true", "dynamic")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(filepath.Dir(dynamic), "script.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(filepath.Dir(dynamic), "nested")
	if err := os.WriteFile(nested, []byte("#!"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh := realpath(t, "/bin/sh")
	ld, _ := interpreter(func(p []byte, off int64) (int, error) {
		f, err := os.Open("/bin/true")
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return f.ReadAt(p, off)
	})

	selfImage := realpath(t, self)
	for _, tc := range []struct {
		name  string
		argv  []string
		mode  string // the test binary's helper mode, for itself
		image string // the one Create expected for the exec
	}{
		{"dynamic ELF", []string{dynamic}, "", dynamic},
		{"static ELF", []string{self}, "exit", selfImage},
		{"#! script", []string{script, "arg"}, "", script},
		// A script whose interpreter is a script: Linux runs the inner
		// script's interpreter with both. One Create, for the outer file.
		{"#! script of a #! script", []string{nested}, "", nested},
		// The script is read as data by sh: only sh's exec is seen.
		{"sh script", []string{"/bin/sh", script}, "", sh},
		// The loader run directly is an exec of its own; the program it
		// then maps is not an exec-open and is not seen.
		{"loader run directly", []string{ld, dynamic}, "", realpath(t, ld)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "static ELF" {
				if _, dyn := interpreter(fileReader(t, self)); dyn {
					t.Skip("the test binary is dynamically linked")
				}
			}
			if tc.name == "loader run directly" && ld == "" {
				t.Skip("/bin/true has no ELF interpreter")
			}
			check := func(how string, evs []process.Event) {
				var images []string
				for _, e := range evs {
					images = append(images, e.Image)
				}
				if len(evs) != 1 || evs[0].Image != tc.image {
					t.Errorf("%s: images seen: %q; want [%q]", how, images, tc.image)
				}
				// Argv is what the caller passed to execve, also for
				// scripts.
				if len(evs) == 1 && !slices.Equal(evs[0].Argv, tc.argv) {
					t.Errorf("%s: argv %q; want %q", how, evs[0].Argv, tc.argv)
				}
			}

			// From a process of its own, as a shell runs programs: the
			// chain of images is followed.
			errno, pid := execVia(t, tc.mode, tc.argv...)
			if errno != 0 {
				t.Fatalf("exec: %v", errno)
			}
			evs := rec.byPID(pid)
			if len(evs) == 0 || evs[0].Image != selfImage {
				t.Fatalf("first event of pid %d: %+v; want the test binary's own exec", pid, evs)
			}
			check("exec by a process", evs[1:])

			// Started by the test process with os/exec: allowed at once
			// and reported once.
			cmd := exec.Command(tc.argv[0], tc.argv[1:]...)
			if tc.mode != "" {
				cmd.Env = append(os.Environ(), testHelperEnv+"="+tc.mode)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", tc.argv, err, out)
			}
			check("os/exec child", rec.byPID(cmd.Process.Pid))
		})
	}
}

// TestOwnChildren checks that a child the test process starts with
// os/exec, which shares its memory until it execs, is allowed at once and
// reported to the Handler all the same.
func TestOwnChildren(t *testing.T) {
	rec := &recorder{}
	s, _ := start(t, Options{}, rec.handle)
	target := copyExe(t, "/bin/true", "own-child")
	rec.setDeny(target, int32(syscall.EPERM))
	cmd := exec.Command(target, "x")
	if err := cmd.Run(); err != nil {
		t.Errorf("a vfork child of Run's process: %v; want it allowed", err)
	}
	evs := rec.byPID(cmd.Process.Pid)
	if len(evs) != 1 || evs[0].Image != target || !slices.Equal(evs[0].Argv, []string{target, "x"}) {
		t.Errorf("events %+v", evs)
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped() = %d", s.Dropped())
	}
}

// TestExecVariants checks execveat and an execve by a thread that is not
// the main one: the Create names the process (not the thread) and carries
// the arguments.
func TestExecVariants(t *testing.T) {
	rec := &recorder{}
	start(t, Options{}, rec.handle)
	target := copyExe(t, "/bin/true", "variant")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"execveat", "thread-exec"} {
		t.Run(mode, func(t *testing.T) {
			argv := []string{target, mode, strings.Repeat("v", 5001)}
			cmd := exec.Command(self, argv...)
			cmd.Env = append(os.Environ(), testHelperEnv+"="+mode)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var found []process.Event
			for _, e := range rec.byPID(cmd.Process.Pid) {
				if e.Image == target {
					found = append(found, e)
				}
			}
			if len(found) != 1 {
				t.Fatalf("%d Creates of %s for pid %d: %+v", len(found), target, cmd.Process.Pid, found)
			}
			if ev := found[0]; !slices.Equal(ev.Argv, argv) || ev.PPID != uint32(os.Getpid()) {
				t.Errorf("argv %.60q ppid %d; want %.60q, %d", ev.Argv, ev.PPID, argv, os.Getpid())
			}
		})
	}
}

// TestManyExecs starts execs from many processes at once, through shells
// (so most are not children of the test process), and expects every one
// to be seen once and allowed.
func TestManyExecs(t *testing.T) {
	var n atomic.Int64
	target := copyExe(t, "/bin/true", "many")
	s, _ := start(t, Options{}, func(ev *process.Event) process.Verdict {
		if ev.Image == target {
			n.Add(1)
		}
		return process.Allow
	})
	const shells, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, shells)
	for range shells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do %s || exit 1; i=$((i+1)); done", each, target)).CombinedOutput()
			if err != nil {
				errs <- fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for n.Load() < shells*each && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n.Load() != shells*each {
		t.Errorf("%d Creates of %s, want %d", n.Load(), target, shells*each)
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped() = %d", s.Dropped())
	}
}

func fileReader(t testing.TB, name string) readAtFunc {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return readerOf(b)
}

func TestHandlerPanicAllows(t *testing.T) {
	target := copyExe(t, "/bin/true", "panic-on-me")
	rec := &recorder{hook: func(ev *process.Event) {
		if ev.Image == target {
			panic("handler bug")
		}
	}}
	rec.setDeny(target, int32(syscall.EPERM)) // never reached: the panic comes first
	start(t, Options{Logf: func(string, ...any) {}}, rec.handle)
	if got := execErrno(t, target); got != 0 {
		t.Errorf("exec after a handler panic: %v; want it allowed", got)
	}
}

func TestHandlerTimeoutAllows(t *testing.T) {
	target := copyExe(t, "/bin/true", "slow-on-me")
	release := make(chan struct{})
	defer close(release)
	rec := &recorder{hook: func(ev *process.Event) {
		if ev.Image == target {
			<-release
		}
	}}
	rec.setDeny(target, int32(syscall.EPERM)) // comes too late to count
	s, _ := start(t, Options{Timeout: 200 * time.Millisecond}, rec.handle)
	t0 := time.Now()
	if got := execErrno(t, target); got != 0 {
		t.Errorf("exec after a handler timeout: %v; want it allowed", got)
	}
	if d := time.Since(t0); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("exec took %v; want about the 200ms timeout", d)
	}
	for deadline := time.Now().Add(time.Second); s.Late() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Late() != 1 || s.Dropped() != 1 {
		t.Errorf("Late() = %d, Dropped() = %d; want 1, 1", s.Late(), s.Dropped())
	}
}

func TestCancelReleasesExecs(t *testing.T) {
	target := copyExe(t, "/bin/true", "pending")
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	rec := &recorder{hook: func(ev *process.Event) {
		if ev.Image == target {
			entered <- struct{}{}
			<-release
		}
	}}
	rec.setDeny(target, int32(syscall.EPERM))
	_, cancel := start(t, Options{Timeout: time.Minute}, rec.handle)

	execErr := make(chan syscall.Errno, 1)
	go func() { execErr <- execErrno(t, target) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never saw the exec")
	}
	t0 := time.Now()
	if err := cancel(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	d := time.Since(t0)
	t.Logf("Run returned %v after cancellation", d)
	if d > 2*time.Second {
		t.Errorf("Run took %v to return after cancellation", d)
	}
	select {
	case errno := <-execErr:
		if errno != 0 {
			t.Errorf("exec pending at cancellation: %v; want it allowed", errno)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec pending at cancellation still waits")
	}
	for _, p := range []string{target, "/bin/true"} {
		if err := exec.Command(p).Run(); err != nil {
			t.Errorf("%s after the source stopped: %v", p, err)
		}
	}
}

// TestCancelEarly cancels Run while it starts.
func TestCancelEarly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fanotify permission events need root")
	}
	for _, delay := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(delay, cancel)
		t0 := time.Now()
		err := New(Options{}).Run(ctx, func(*process.Event) process.Verdict { return process.Allow })
		if err != nil || time.Since(t0) > 2*time.Second {
			t.Errorf("cancelled after %v: Run = %v after %v; want nil, promptly", delay, err, time.Since(t0))
		}
	}
	if got := execErrno(t, "/bin/true"); got != 0 {
		t.Errorf("/bin/true after: %v", got)
	}
}

// TestNewMount checks that a filesystem mounted while the source runs is
// marked: a tmpfs in the test's own directory.
func TestNewMount(t *testing.T) {
	rec := &recorder{}
	start(t, Options{}, rec.handle)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	target := filepath.Join(dir, "on-new-mount")
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, b, 0o755); err != nil {
		t.Fatal(err)
	}
	target = realpath(t, target)
	rec.setDeny(target, int32(syscall.EPERM))
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := execErrno(t, target)
		if err == syscall.EPERM {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec from a tmpfs mounted after start: %v; want EPERM once the mount is marked", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnavailableWithoutRoot runs the source as an unprivileged user in a
// child process and expects a prompt *process.UnavailableError.
func TestUnavailableWithoutRoot(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to run a child as nobody")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "fanotify-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
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

// BenchmarkExec measures the time of one exec (fork, exec, exit and wait
// of /bin/true) without the source and with it running and allowing
// everything; the difference is the latency the source adds to each exec.
// "shell" execs from a shell loop, the path every exec on the machine
// takes (helper, Run's process, Handler, verdict; two permission events,
// for the program and its loader); "os-exec" starts children of the
// benchmark's own process, which the source allows at once and reports
// afterwards; "shell-parallel" runs four shell loops at once.
func BenchmarkExec(b *testing.B) {
	shell := func(b *testing.B) {
		script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done", b.N)
		b.ResetTimer()
		if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	// Four shells at once: the rate the machine reaches with and
	// without the source; ns/op is per exec.
	parallel := func(b *testing.B) {
		const shells = 4
		script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done", (b.N+shells-1)/shells)
		b.ResetTimer()
		var wg sync.WaitGroup
		for range shells {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
					b.Errorf("%v\n%s", err, out)
				}
			}()
		}
		wg.Wait()
	}
	osExec := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	var n atomic.Int64
	count := func(*process.Event) process.Verdict { n.Add(1); return process.Allow }
	for _, tc := range []struct {
		name string
		run  func(*testing.B)
	}{{"shell", shell}, {"shell-parallel", parallel}, {"os-exec", osExec}} {
		b.Run(tc.name+"/without", tc.run)
		b.Run(tc.name+"/with", func(b *testing.B) {
			s, _ := start(b, Options{Logf: func(string, ...any) {}}, count)
			n.Store(0)
			helper := helperPID(b)
			cpu0 := cpuTicks(helper)
			tc.run(b)
			b.StopTimer()
			b.ReportMetric(float64(n.Load())/float64(b.N), "creates/exec")
			// The helper's CPU time (user and system) per exec.
			b.ReportMetric(float64(cpuTicks(helper)-cpu0)*1e4/float64(b.N), "helper-µs/exec")
			if s.Dropped() != 0 {
				b.Errorf("Dropped() = %d", s.Dropped())
			}
		})
	}
}

// helperPID finds the helper process of the Source this process runs.
func helperPID(t testing.TB) int {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, _ := os.ReadFile(d + "/cmdline")
		stat, _ := os.ReadFile(d + "/stat")
		if strings.HasPrefix(string(cmdline), "ebpfhost-fanotify-helper\x00") && statField(stat, 4) == me {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatal("no helper process")
	return 0
}

// cpuTicks is a process's user and system time, in 10 ms ticks.
func cpuTicks(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	u, _ := strconv.Atoi(statField(b, 14))
	k, _ := strconv.Atoi(statField(b, 15))
	return u + k
}
