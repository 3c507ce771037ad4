package fanotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// The test binary doubles as the processes some tests run.
const testEnv = "EBPFHOST_FILE_FANOTIFY_TEST"

func TestMain(m *testing.M) {
	switch os.Getenv(testEnv) {
	case "":
		os.Exit(m.Run())
	case "opens":
		// open and close argv[1] argv[2] times, then print ns per open.
		n, _ := strconv.Atoi(os.Args[2])
		start := time.Now()
		for range n {
			fd, err := unix.Open(os.Args[1], unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			unix.Close(fd)
		}
		fmt.Println(time.Since(start).Nanoseconds() / int64(max(n, 1)))
		os.Exit(0)
	case "churn":
		// create, write, close and remove argv[2] files in argv[1].
		n, _ := strconv.Atoi(os.Args[2])
		for i := range n {
			p := filepath.Join(os.Args[1], strconv.Itoa(i))
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			os.Remove(p)
		}
		os.Exit(0)
	case "unavailable":
		err := New(Options{}).Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow })
		var ue *file.UnavailableError
		if errors.As(err, &ue) {
			fmt.Println("unavailable:", err)
		} else {
			fmt.Println("other:", err)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

// collector keeps the events a running source delivers, and answers pre
// events with deny's verdict.
type collector struct {
	mu      sync.Mutex
	evs     []file.Event
	changed chan struct{}
	deny    func(*file.Event) int32
}

func newCollector() *collector { return &collector{changed: make(chan struct{})} }

func (c *collector) handle(ev *file.Event) file.Verdict {
	c.mu.Lock()
	c.evs = append(c.evs, *ev)
	close(c.changed)
	c.changed = make(chan struct{})
	deny := c.deny
	c.mu.Unlock()
	if deny != nil && !ev.Post {
		return file.Verdict{Errno: deny(ev)}
	}
	return file.Allow
}

// wait returns the first event that matches, failing the test after 10 s.
func (c *collector) wait(t *testing.T, what string, match func(*file.Event) bool) file.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ch := c.changed
		for _, ev := range c.evs {
			if match(&ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s within 10 s; have:\n%s", what, c.dump())
		}
	}
}

// find returns the events that match.
func (c *collector) find(match func(*file.Event) bool) []file.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []file.Event
	for _, ev := range c.evs {
		if match(&ev) {
			out = append(out, ev)
		}
	}
	return out
}

func (c *collector) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, ev := range c.evs {
		fmt.Fprintf(&b, "  %d %v post=%v %s -> %q pid %d flags %#o\n", ev.ID, ev.Op, ev.Post, ev.Path, ev.Target, ev.PID, ev.Flags)
	}
	return b.String()
}

func is(op file.Op, post bool, path string) func(*file.Event) bool {
	return func(ev *file.Event) bool { return ev.Op == op && ev.Post == post && ev.Path == path }
}

// start runs a Source until the test ends, skipping where fanotify cannot
// run.
func start(t testing.TB, opts Options, h file.Handler) *Source {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify needs root")
	}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, h) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		var ue *file.UnavailableError
		if errors.As(err, &ue) {
			t.Skipf("fanotify unavailable here: %v", err)
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
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancellation")
		}
	})
	return s
}

// tempDir is t.TempDir by its real path (events name real paths).
func tempDir(t testing.TB) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sh runs a shell command in dir: a process of its own (not a vfork
// child of the test process, see the package documentation), whose pid
// it returns with its output.
func sh(t *testing.T, dir, script string) (int, string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return cmd.Process.Pid, string(out), err
}

func mustSh(t *testing.T, dir, script string) int {
	t.Helper()
	pid, out, err := sh(t, dir, script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return pid
}

func ops(s ...file.Op) file.Interest {
	var set file.OpSet
	for _, o := range s {
		set = set.With(o)
	}
	return func() (file.OpSet, file.OpSet) { return 0, set }
}

func TestCreateWriteClose(t *testing.T) {
	dir := tempDir(t)
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: ops(file.Create, file.Write, file.Close)}, c.handle)
	pid := mustSh(t, dir, "echo hello > f")
	p := filepath.Join(dir, "f")
	cr := c.wait(t, "create", is(file.Create, true, p))
	wr := c.wait(t, "write", is(file.Write, true, p))
	cl := c.wait(t, "close after write", is(file.Close, true, p))
	for _, ev := range []file.Event{cr, wr, cl} {
		if ev.PID != uint32(pid) || ev.UID != 0 {
			t.Errorf("%v: pid %d uid %d, want %d and 0", ev.Op, ev.PID, ev.UID, pid)
		}
	}
	if !(cr.ID < wr.ID && wr.ID < cl.ID) {
		t.Errorf("ids %d %d %d: want create, write, close in order", cr.ID, wr.ID, cl.ID)
	}
	if cl.Flags&unix.O_ACCMODE != unix.O_WRONLY {
		t.Errorf("close flags %#o, want O_WRONLY (closed after writing)", cl.Flags)
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if cr.Ino != st.Ino || cr.Dev != st.Dev || cr.Mode != st.Mode {
		t.Errorf("create ino %d dev %d mode %o, want %d %d %o", cr.Ino, cr.Dev, cr.Mode, st.Ino, st.Dev, st.Mode)
	}
	if cr.Time == 0 || cr.Time > file.Monotonic() {
		t.Errorf("time %d, now %d", cr.Time, file.Monotonic())
	}
}

func testRename(t *testing.T, noRename bool) {
	dir := tempDir(t)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: ops(file.Rename), noRename: noRename}, c.handle)
	pid := mustSh(t, dir, "exec mv a sub/b")
	ev := c.wait(t, "rename", is(file.Rename, true, filepath.Join(dir, "a")))
	if ev.Target != filepath.Join(dir, "sub", "b") || ev.PID != uint32(pid) {
		t.Errorf("rename target %q pid %d, want %q and %d", ev.Target, ev.PID, filepath.Join(dir, "sub", "b"), pid)
	}
	// A directory too.
	mustSh(t, dir, "exec mv sub sub2")
	ev = c.wait(t, "rename of a directory", is(file.Rename, true, filepath.Join(dir, "sub")))
	if ev.Target != filepath.Join(dir, "sub2") {
		t.Errorf("directory rename target %q", ev.Target)
	}
	if n := len(c.find(func(ev *file.Event) bool { return ev.Op == file.Rename })); n != 2 {
		t.Errorf("%d renames, want 2:\n%s", n, c.dump())
	}
}

func TestRename(t *testing.T) { testRename(t, false) }

// TestRenamePaired is TestRename as on kernels before 5.17, which report
// the two names in two events.
func TestRenamePaired(t *testing.T) { testRename(t, true) }

func TestUnlink(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "gone")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: ops(file.Unlink, file.Rmdir)}, c.handle)
	pid := mustSh(t, dir, "exec rm gone")
	ev := c.wait(t, "unlink", is(file.Unlink, true, p))
	if ev.PID != uint32(pid) {
		t.Errorf("unlink pid %d, want %d", ev.PID, pid)
	}
	if n := len(c.find(func(ev *file.Event) bool { return ev.Op == file.Rmdir })); n != 0 {
		t.Errorf("%d rmdirs for an unlink", n)
	}
}

func TestMkdirRmdir(t *testing.T) {
	dir := tempDir(t)
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: ops(file.Mkdir, file.Rmdir, file.Create, file.Unlink)}, c.handle)
	mustSh(t, dir, "mkdir d && mkdir d/e && rmdir d/e && rmdir d")
	d, e := filepath.Join(dir, "d"), filepath.Join(dir, "d", "e")
	mk := c.wait(t, "mkdir d", is(file.Mkdir, true, d))
	mke := c.wait(t, "mkdir d/e", is(file.Mkdir, true, e))
	rme := c.wait(t, "rmdir d/e", is(file.Rmdir, true, e))
	rm := c.wait(t, "rmdir d", is(file.Rmdir, true, d))
	if !(mk.ID < rm.ID && mke.ID < rme.ID) {
		t.Errorf("mkdir after rmdir: %d %d %d %d", mk.ID, mke.ID, rme.ID, rm.ID)
	}
	if n := len(c.find(func(ev *file.Event) bool { return ev.Op == file.Create || ev.Op == file.Unlink })); n != 0 {
		t.Errorf("directories reported as files:\n%s", c.dump())
	}
}

func TestSymlink(t *testing.T) {
	dir := tempDir(t)
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: ops(file.Symlink, file.Create)}, c.handle)
	mustSh(t, dir, "exec ln -s ../elsewhere link")
	ev := c.wait(t, "symlink", is(file.Symlink, true, filepath.Join(dir, "link")))
	if ev.Target != "../elsewhere" {
		t.Errorf("symlink target %q", ev.Target)
	}
}

// TestScope checks that events outside Paths, events the interest does not
// ask for, and the source's own work are not reported.
func TestScope(t *testing.T) {
	dir, other := tempDir(t), tempDir(t)
	if err := os.Mkdir(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Options{Paths: []string{filepath.Join(dir, "in")}, Interest: ops(file.Create)}, c.handle)
	if err := os.WriteFile(filepath.Join(dir, "in", "mine"), nil, 0o644); err != nil { // by this process: not reported
		t.Fatal(err)
	}
	mustSh(t, dir, "touch out in/x && echo more >> in/x && rm in/x")
	mustSh(t, other, "touch y")
	c.wait(t, "create in/x", is(file.Create, true, filepath.Join(dir, "in", "x")))
	mustSh(t, dir, "touch in/last")
	c.wait(t, "create in/last", is(file.Create, true, filepath.Join(dir, "in", "last")))
	if evs := c.find(func(ev *file.Event) bool { return !strings.HasPrefix(ev.Path, dir+"/in/") || ev.Op != file.Create }); len(evs) != 0 {
		t.Errorf("unwanted events:\n%s", c.dump())
	}
}

// TestSystemWide watches every filesystem and finds a test's file among
// everything else.
func TestSystemWide(t *testing.T) {
	dir := tempDir(t)
	c := newCollector()
	s := start(t, Options{Interest: ops(file.Create)}, c.handle)
	mustSh(t, dir, "touch hello")
	c.wait(t, "create", is(file.Create, true, filepath.Join(dir, "hello")))
	t.Logf("caps: %+v", s.Caps())
	if n := s.Dropped(); n != 0 {
		t.Errorf("Dropped = %d", n)
	}
}

func denyPath(p string, errno syscall.Errno) func(*file.Event) int32 {
	return func(ev *file.Event) int32 {
		if ev.Path == p {
			return int32(errno)
		}
		return 0
	}
}

func pre(s ...file.Op) file.Interest {
	var set file.OpSet
	for _, o := range s {
		set = set.With(o)
	}
	return func() (file.OpSet, file.OpSet) { return set, 0 }
}

// TestDenyOpen has a real cat of a refused file fail and leaves the file
// alone. EACCES is what the handler asks for; Linux 6.18 does not take it
// in a fanotify refusal, so cat then sees EPERM.
func TestDenyOpen(t *testing.T) {
	dir := tempDir(t)
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("secret data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	c.deny = denyPath(secret, unix.EACCES)
	s := start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open)}, c.handle)
	t.Logf("errnos: %v; caps: %+v", s.Errnos(), s.Caps())
	_, out, err := sh(t, dir, "cat secret")
	if err == nil {
		t.Fatalf("cat of a refused file succeeded: %q", out)
	}
	want := "Operation not permitted"
	if slices.Contains(s.Errnos(), int32(unix.EACCES)) {
		want = "Permission denied"
	}
	if !strings.Contains(out, want) {
		t.Errorf("cat: %v %q, want %q", err, out, want)
	}
	ev := c.wait(t, "open of secret", is(file.Open, false, secret))
	if ev.PID == 0 || ev.PID == uint32(os.Getpid()) || ev.Flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("open event pid %d flags %#o", ev.PID, ev.Flags)
	}
	b, err := os.ReadFile(secret) // by this process: never asked
	if err != nil || string(b) != "secret data\n" {
		t.Errorf("secret now %q, %v", b, err)
	}
	// Writing is refused too: the shell cannot open it.
	if _, out, err := sh(t, dir, "echo changed > secret"); err == nil {
		t.Errorf("write to a refused file succeeded: %q", out)
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret data\n" {
		t.Errorf("secret now %q", b)
	}
	// Other files open as usual.
	mustSh(t, dir, "echo fine > other && cat other")
	if s.Dropped() != 0 {
		t.Errorf("Dropped = %d", s.Dropped())
	}
}

// TestDenyErrno refuses with an errno the kernel takes (EIO, where
// FAN_DENY_ERRNO exists).
func TestDenyErrno(t *testing.T) {
	dir := tempDir(t)
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	c.deny = denyPath(secret, unix.EIO)
	s := start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open)}, c.handle)
	_, out, err := sh(t, dir, "cat secret")
	if err == nil {
		t.Fatalf("cat succeeded: %q", out)
	}
	want := "Operation not permitted"
	if slices.Contains(s.Errnos(), int32(unix.EIO)) {
		want = "Input/output error"
	}
	if !strings.Contains(out, want) {
		t.Errorf("cat: %q, want %q (errnos %v)", out, want, s.Errnos())
	}
}

// TestDenyRead lets a file open and refuses its reads.
func TestDenyRead(t *testing.T) {
	dir := tempDir(t)
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	c.deny = func(ev *file.Event) int32 {
		if ev.Op == file.Read && ev.Path == secret {
			return int32(unix.EPERM)
		}
		return 0
	}
	start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open, file.Read)}, c.handle)
	pid, out, err := sh(t, dir, "exec dd if=secret bs=4 skip=1 count=1 status=none")
	if err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Fatalf("dd of a file whose reads are refused: %v %q", err, out)
	}
	c.wait(t, "open", is(file.Open, false, secret))
	rd := c.wait(t, "read", is(file.Read, false, secret))
	// Length and offset come from /proc/TID/syscall, which is best
	// effort (0 when the kernel did not show the call); the pid is not.
	if rd.PID != uint32(pid) || (rd.Length != 0 && (rd.Length != 4 || rd.Offset != 4)) {
		t.Errorf("read pid %d length %d offset %d, want %d, 4, 4", rd.PID, rd.Length, rd.Offset, pid)
	}
}

// TestOpenFlags checks that pre Opens carry the opener's flags and mode,
// not the group's.
func TestOpenFlags(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open)}, c.handle)
	mustSh(t, dir, "echo x >> f")
	ev := c.wait(t, "open", is(file.Open, false, p))
	if want := uint32(unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT); ev.Flags&want != want {
		t.Errorf("flags %#o, want %#o set", ev.Flags, want)
	}
	var st unix.Stat_t
	unix.Stat(p, &st)
	if ev.Ino != st.Ino || ev.Dev != st.Dev || ev.Mode != st.Mode {
		t.Errorf("ino %d dev %d mode %o, want %d %d %o", ev.Ino, ev.Dev, ev.Mode, st.Ino, st.Dev, st.Mode)
	}
}

// TestHandlerOpensFiles has the handler read the very file it is asked
// about: its own opens must not wait for it.
func TestHandlerOpensFiles(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	h := func(ev *file.Event) file.Verdict {
		if !ev.Post && ev.Path == p {
			b, err := os.ReadFile(ev.Path)
			mu.Lock()
			got = append(got, fmt.Sprintf("%s %v", b, err))
			mu.Unlock()
		}
		return file.Allow
	}
	s := start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open, file.Read), Timeout: 3 * time.Second}, h)
	_, out, err := sh(t, dir, "cat f")
	if err != nil || out != "data" {
		t.Fatalf("cat: %v %q", err, out)
	}
	if s.Late() != 0 {
		t.Errorf("Late = %d: the handler's own opens waited", s.Late())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || got[0] != "data <nil>" {
		t.Errorf("handler read %q", got)
	}
}

func TestTimeout(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "slow")
	if err := os.WriteFile(p, []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	h := func(ev *file.Event) file.Verdict {
		if ev.Path == p {
			<-release
			return file.Verdict{Errno: int32(unix.EPERM)}
		}
		return file.Allow
	}
	s := start(t, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open), Timeout: 200 * time.Millisecond, Logf: func(string, ...any) {}}, h)
	begin := time.Now()
	_, out, err := sh(t, dir, "cat slow")
	if err != nil || out != "ok" {
		t.Fatalf("cat: %v %q, want the open allowed after the timeout", err, out)
	}
	if d := time.Since(begin); d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("cat took %v, want about the 200ms timeout", d)
	}
	// The helper reports the timeout to Run's process on its own time.
	for deadline := time.Now().Add(3 * time.Second); s.Late() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Late() != 1 || s.Dropped() != 1 {
		t.Errorf("Late %d Dropped %d, want 1 and 1", s.Late(), s.Dropped())
	}
}

// TestCancelAllows cancels Run while an open waits for the handler: the
// open is allowed.
func TestCancelAllows(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fanotify needs root")
	}
	dir := tempDir(t)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	asked := make(chan struct{}, 1)
	block := make(chan struct{})
	defer close(block)
	h := func(ev *file.Event) file.Verdict {
		if ev.Path == p {
			asked <- struct{}{}
			<-block
			return file.Verdict{Errno: int32(unix.EPERM)}
		}
		return file.Allow
	}
	ready := make(chan struct{})
	s := New(Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open), Timeout: time.Minute, Ready: func() { close(ready) }})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, h) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Skipf("fanotify unavailable: %v", err)
	}
	cat := exec.Command("sh", "-c", "cat f")
	cat.Dir = dir
	outc := make(chan string, 1)
	go func() {
		out, err := cat.CombinedOutput()
		outc <- fmt.Sprint(string(out), err)
	}()
	<-asked
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancellation")
	}
	select {
	case out := <-outc:
		if out != "ok<nil>" {
			t.Errorf("cat: %q, want allowed", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the open still waits after Run returned")
	}
}

// TestInterestChange starts with nothing wanted and adds creates while
// running.
func TestInterestChange(t *testing.T) {
	dir := tempDir(t)
	var mu sync.Mutex
	want := file.OpSet(0)
	interest := func() (file.OpSet, file.OpSet) {
		mu.Lock()
		defer mu.Unlock()
		return 0, want
	}
	c := newCollector()
	start(t, Options{Paths: []string{dir}, Interest: interest}, c.handle)
	mustSh(t, dir, "touch before")
	mu.Lock()
	want = want.With(file.Create)
	mu.Unlock()
	time.Sleep(interestPoll + 200*time.Millisecond)
	mustSh(t, dir, "touch after")
	c.wait(t, "create after", is(file.Create, true, filepath.Join(dir, "after")))
	if evs := c.find(is(file.Create, true, filepath.Join(dir, "before"))); len(evs) != 0 {
		t.Error("create reported before anyone wanted it")
	}
}

// TestRunAgain runs one Source twice, one run after the other.
func TestRunAgain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fanotify needs root")
	}
	dir := tempDir(t)
	c := newCollector()
	s := New(Options{Paths: []string{dir}, Deny: true, Interest: func() (file.OpSet, file.OpSet) {
		return file.OpSet(0).With(file.Open), file.OpSet(0).With(file.Create)
	}})
	for i := range 2 {
		ready := make(chan struct{})
		s.opts.Ready = func() { close(ready) }
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- s.Run(ctx, c.handle) }()
		select {
		case <-ready:
		case err := <-errc:
			cancel()
			t.Skipf("fanotify unavailable: %v", err)
		}
		if err := s.Run(ctx, c.handle); err == nil || errors.As(err, new(*file.UnavailableError)) {
			t.Errorf("second concurrent Run: %v, want a plain error", err)
		}
		name := fmt.Sprint("f", i)
		mustSh(t, dir, "echo x > "+name+" && cat "+name)
		c.wait(t, "create", is(file.Create, true, filepath.Join(dir, name)))
		c.wait(t, "open", is(file.Open, false, filepath.Join(dir, name)))
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestUnavailable(t *testing.T) {
	if os.Geteuid() != 0 {
		err := New(Options{}).Run(context.Background(), nil)
		var ue *file.UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(ue.Fix, "root") {
			t.Fatalf("Run as uid %d: %v, want an UnavailableError saying to run as root", os.Geteuid(), err)
		}
		return
	}
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
	cmd.Env = append(os.Environ(), testEnv+"=unavailable", "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "unavailable: ") || !strings.Contains(string(out), "run as root") {
		t.Fatalf("unprivileged Run returned %q, want an UnavailableError saying to run as root", out)
	}
}

// BenchmarkOpenDeny measures what the permission events add to an open:
// a child process opens and closes a file b.N times while every open is
// asked of a handler that allows it (ns/open), against the same without
// the source (ns/open-native), and opens of a file on the same
// filesystem outside Options.Paths, which the helper allows without
// asking (ns/open-outside).
func BenchmarkOpenDeny(b *testing.B) {
	dir := tempDir(b)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	opens := func(p string, n int) float64 {
		cmd := exec.Command(os.Args[0], p, strconv.Itoa(n))
		cmd.Env = append(os.Environ(), testEnv+"=opens", "GORACE=atexit_sleep_ms=0")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%v %s", err, out)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatalf("%q", out)
		}
		return v
	}
	outside := filepath.Join(tempDir(b), "outside")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	native := opens(p, max(b.N, 1000))
	var mu sync.Mutex
	seen := 0
	start(b, Options{Paths: []string{dir}, Deny: true, Interest: pre(file.Open)}, func(ev *file.Event) file.Verdict {
		mu.Lock()
		seen++
		mu.Unlock()
		return file.Allow
	})
	b.ResetTimer()
	per := opens(p, b.N)
	b.StopTimer()
	b.ReportMetric(per, "ns/open")
	b.ReportMetric(native, "ns/open-native")
	b.ReportMetric(opens(outside, max(b.N, 1000)), "ns/open-outside")
	mu.Lock()
	defer mu.Unlock()
	if seen < b.N {
		b.Errorf("handler saw %d opens of %d", seen, b.N)
	}
}

// BenchmarkNotify measures how many notifications a second the source
// delivers while a child process creates, writes, closes and removes
// files as fast as it can (each file gives four events, fewer when the
// kernel merges them), against the rate the child reaches without the
// source (files/s-native), and the CPU time the source's process spends
// per event (cpu-ns/event: its inverse is the rate one core sustains).
func BenchmarkNotify(b *testing.B) {
	dir := tempDir(b)
	churn := func(n int) time.Duration {
		begin := time.Now()
		cmd := exec.Command(os.Args[0], dir, strconv.Itoa(n))
		cmd.Env = append(os.Environ(), testEnv+"=churn", "GORACE=atexit_sleep_ms=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v %s", err, out)
		}
		return time.Since(begin)
	}
	native := churn(b.N)
	var mu sync.Mutex
	seen, all := 0, 0
	s := start(b, Options{Paths: []string{dir}, Interest: ops(file.Create, file.Write, file.Close, file.Unlink)}, func(ev *file.Event) file.Verdict {
		mu.Lock()
		all++
		if ev.Op == file.Unlink {
			seen++
		}
		mu.Unlock()
		return file.Allow
	})
	cpu := func() time.Duration {
		var ru unix.Rusage
		unix.Getrusage(unix.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	cpu0 := cpu()
	begin := time.Now()
	churn(b.N)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := seen
		mu.Unlock()
		if n >= b.N || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	d := time.Since(begin)
	used := cpu() - cpu0
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(seen)/d.Seconds(), "files/s")
	b.ReportMetric(float64(all)/d.Seconds(), "events/s")
	if all > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(all), "cpu-ns/event")
	}
	b.ReportMetric(float64(b.N)/native.Seconds(), "files/s-native")
	if seen < b.N {
		b.Errorf("saw %d unlinks of %d (dropped %d)", seen, b.N, s.Dropped())
	}
}
