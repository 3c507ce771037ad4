package fusefs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// The test binary doubles as a helper process: one that mounts and waits
// to be killed (a crashed source), and a non-root attempt to start.
const helperEnv = "EBPFHOST_FUSEFS_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "mount":
		// Mount over argv[1], say "ready", wait to be killed.
		src := New(Options{Dir: os.Args[1], Ready: func() { fmt.Println("ready") }})
		err := src.Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow })
		fmt.Println("run:", err)
		os.Exit(1)
	case "run":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := New(Options{Dir: os.Args[1]}).Run(ctx, func(*file.Event) file.Verdict { return file.Allow })
		var ue *file.UnavailableError
		fmt.Printf("unavailable=%v err=%v\n", errors.As(err, &ue), err)
		os.Exit(0)
	}
	os.Exit(2)
}

func needFUSE(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the FUSE source mounts with mount(2): needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
}

// recorder is a Handler that keeps every event and answers pre events
// with verdict.
type recorder struct {
	discard atomic.Bool // benchmarks: keep nothing
	n       atomic.Uint64
	mu      sync.Mutex
	evs     []file.Event
	verdict func(*file.Event) file.Verdict
}

func (r *recorder) handle(ev *file.Event) file.Verdict {
	r.n.Add(1)
	if r.discard.Load() {
		return file.Allow
	}
	r.mu.Lock()
	r.evs = append(r.evs, *ev)
	v := r.verdict
	r.mu.Unlock()
	if v != nil && !ev.Post {
		return v(ev)
	}
	return file.Allow
}

// setVerdict sets how pre events are answered.
func (r *recorder) setVerdict(v func(*file.Event) file.Verdict) {
	r.mu.Lock()
	r.verdict = v
	r.mu.Unlock()
}

func (r *recorder) events() []file.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]file.Event(nil), r.evs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.evs = nil
	r.mu.Unlock()
}

// find returns the events of op on path, in order.
func (r *recorder) find(op file.Op, path string) []file.Event {
	var out []file.Event
	for _, ev := range r.events() {
		if ev.Op == op && ev.Path == path {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor waits until the events of op on path include a post event and
// every pre event among them has its post.
func (r *recorder) waitFor(t testing.TB, op file.Op, path string) []file.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := r.find(op, path)
		open := map[uint64]int{}
		posts := 0
		for _, ev := range evs {
			if ev.Post {
				open[ev.ID]--
				posts++
			} else {
				open[ev.ID]++
			}
		}
		paired := posts > 0
		for _, n := range open {
			paired = paired && n == 0
		}
		if paired {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no post %s event for %s; have %v", op, path, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	fmt.Fprintf(&l.b, format+"\n", args...)
	l.mu.Unlock()
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	src  *Source
	dir  string // the directory underneath
	mp   string // where processes see it
	rec  *recorder
	logs *logBuf
	stop func()
}

// mountT runs a source on a new directory (prepared by setup, if given,
// before the mount): mounted over it, or at a separate mount point when
// separate is set. The mount goes away at the test's end, or at stop.
func mountT(t testing.TB, separate bool, opts Options, setup func(dir string)) *fixture {
	t.Helper()
	needFUSE(t)
	base := t.TempDir()
	f := &fixture{dir: filepath.Join(base, "dir"), rec: &recorder{}, logs: &logBuf{}}
	if err := os.Mkdir(f.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(f.dir)
	}
	f.mp = f.dir
	opts.Dir = f.dir
	if separate {
		f.mp = filepath.Join(base, "mnt")
		if err := os.Mkdir(f.mp, 0o755); err != nil {
			t.Fatal(err)
		}
		opts.MountPoint = f.mp
	}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	opts.Logf = f.logs.logf
	f.src = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.src.Run(ctx, f.rec.handle) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("mount not ready after 10s")
	}
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10s after cancel")
			}
			if l := f.logs.String(); l != "" {
				t.Logf("source log:\n%s", l)
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) path(name string) string { return filepath.Join(f.mp, name) }

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isFUSE(t testing.TB, p string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		t.Fatalf("statfs %s: %v", p, err)
	}
	return uint32(st.Type) == unix.FUSE_SUPER_MAGIC
}

// A real cat of a denied file fails with EACCES; a shell's attempt to
// overwrite it fails too; the file's bytes are unchanged.
func TestDenyCat(t *testing.T) {
	secret := []byte("the secret bytes\n")
	f := mountT(t, true, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "secret"), secret)
		writeFile(t, filepath.Join(dir, "public"), []byte("public\n"))
	})
	denied := f.path("secret")
	f.rec.setVerdict(func(ev *file.Event) file.Verdict {
		if ev.Path == denied && (ev.Op == file.Open || ev.Op == file.Create) {
			return file.Verdict{Errno: int32(syscall.EACCES)}
		}
		return file.Allow
	})

	out, err := exec.Command("cat", denied).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("cat of the denied file: %v, %q; want exit 1 with EACCES", err, out)
	}
	out, err = exec.Command("sh", "-c", "echo overwritten > "+denied).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("overwriting the denied file: %v, %q; want EACCES", err, out)
	}
	if got := readFile(t, filepath.Join(f.dir, "secret")); !bytes.Equal(got, secret) {
		t.Fatalf("denied file changed: %q", got)
	}
	if out, err := exec.Command("cat", f.path("public")).CombinedOutput(); err != nil || string(out) != "public\n" {
		t.Fatalf("cat of an allowed file: %v, %q", err, out)
	}

	// The refusal's post event carries it as the result, with the pre's id.
	evs := f.rec.find(file.Open, denied)
	if len(evs) < 2 || evs[0].Post || !evs[1].Post || evs[0].ID != evs[1].ID || evs[1].Result != -int64(syscall.EACCES) {
		t.Fatalf("open events of the denied file: %+v", evs)
	}
	if s := f.src.Stats(); s.Denied < 2 {
		t.Errorf("Stats.Denied = %d, want ≥ 2", s.Denied)
	}
}

// A redirected open serves the other file's bytes: a file outside the
// mount, and one inside it (resolved through the directory underneath).
func TestRedirect(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	writeFile(t, outside, []byte("outside bytes\n"))
	f := mountT(t, false, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "a"), []byte("original a\n"))
		writeFile(t, filepath.Join(dir, "b"), []byte("original b\n"))
		writeFile(t, filepath.Join(dir, "c"), []byte("the c file\n"))
	})
	f.rec.setVerdict(func(ev *file.Event) file.Verdict {
		switch {
		case ev.Op == file.Open && ev.Path == f.path("a"):
			return file.Verdict{Redirect: outside}
		case ev.Op == file.Open && ev.Path == f.path("b"):
			return file.Verdict{Redirect: f.path("c")}
		case ev.Op == file.Create && ev.Path == f.path("new"):
			return file.Verdict{Redirect: f.path("created-instead")}
		}
		return file.Allow
	})
	for name, want := range map[string]string{"a": "outside bytes\n", "b": "the c file\n", "c": "the c file\n"} {
		out, err := exec.Command("cat", f.path(name)).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("cat %s: %v, %q; want %q", name, err, out, want)
		}
	}
	// A redirected create makes the other file, not the named one.
	if out, err := exec.Command("sh", "-c", "echo made > "+f.path("new")).CombinedOutput(); err != nil {
		t.Fatalf("redirected create: %v %q", err, out)
	}
	if got := readFile(t, f.path("created-instead")); string(got) != "made\n" {
		t.Errorf("redirect target of the create holds %q", got)
	}
	// The named file does not exist (the kernel was told not to cache it).
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := os.Lstat(f.path("new"))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the create's original name exists: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := f.src.Stats(); s.Redirects != 3 {
		t.Errorf("Stats.Redirects = %d, want 3", s.Redirects)
	}
}

// Rename and unlink are seen with both paths, pre and post, same id.
func TestRenameUnlink(t *testing.T) {
	f := mountT(t, true, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "x"), []byte("x"))
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	})
	from, to := f.path("x"), f.path("sub/y")
	if out, err := exec.Command("mv", from, to).CombinedOutput(); err != nil {
		t.Fatalf("mv: %v %q", err, out)
	}
	if out, err := exec.Command("rm", to).CombinedOutput(); err != nil {
		t.Fatalf("rm: %v %q", err, out)
	}
	rn := f.rec.find(file.Rename, from)
	if len(rn) != 2 || rn[0].Post || !rn[1].Post || rn[0].ID != rn[1].ID {
		t.Fatalf("rename events: %+v", rn)
	}
	for _, ev := range rn {
		if ev.Target != to || ev.Ino == 0 || ev.PID == 0 || ev.PID == uint32(os.Getpid()) {
			t.Errorf("rename event %+v: want Target %s, an inode, mv's pid", ev, to)
		}
	}
	if rn[1].Result != 0 || rn[1].Time < rn[0].Time {
		t.Errorf("rename post %+v after pre %+v", rn[1], rn[0])
	}
	ul := f.rec.find(file.Unlink, to)
	if len(ul) != 2 || ul[0].Post || !ul[1].Post || ul[0].ID != ul[1].ID || ul[1].Result != 0 {
		t.Fatalf("unlink events: %+v", ul)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "sub/y")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unlinked file still underneath: %v", err)
	}
}

// Open, read, write and close come in pre/post pairs with matching ids,
// post after pre, results as the calls returned, and the caller's ids.
func TestPrePostPairs(t *testing.T) {
	f := mountT(t, true, Options{}, nil)
	p := f.path("pairs")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000)

	var tid int
	done := make(chan error)
	go func() {
		// One locked thread that is not the main one: the events must
		// name this thread and this process.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid = unix.Gettid()
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_RDWR, 0o640)
		if err != nil {
			done <- err
			return
		}
		if n, err := unix.Pwrite(fd, data, 0); err != nil || n != len(data) {
			done <- fmt.Errorf("pwrite: %d %v", n, err)
			return
		}
		buf := make([]byte, 4096)
		if n, err := unix.Pread(fd, buf, 100); err != nil || n != 4096 || !bytes.Equal(buf, data[100:4196]) {
			done <- fmt.Errorf("pread: %d %v", n, err)
			return
		}
		fd2, err := unix.Open(p, unix.O_RDONLY, 0)
		if err != nil {
			done <- err
			return
		}
		unix.Close(fd2)
		done <- unix.Close(fd)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	check := func(op file.Op, evs []file.Event) (pre, post file.Event) {
		t.Helper()
		if len(evs) < 2 {
			t.Fatalf("%s events: %+v", op, evs)
		}
		// Operations may overlap (two releases of one file): the post is
		// the one with the pre's id.
		pre = evs[0]
		for _, ev := range evs[1:] {
			if ev.Post && ev.ID == pre.ID {
				post = ev
				break
			}
		}
		if pre.Post || !post.Post || pre.ID != post.ID || post.Time < pre.Time || pre.Time == 0 {
			t.Fatalf("%s pair: %+v / %+v", op, pre, post)
		}
		if pre.PID != uint32(os.Getpid()) || pre.UID != 0 || post.Ino == 0 || (op != file.Create && pre.Ino != post.Ino) {
			t.Errorf("%s: pid %d uid %d ino %d/%d, want pid %d uid 0", op, pre.PID, pre.UID, pre.Ino, post.Ino, os.Getpid())
		}
		return pre, post
	}
	cpre, cpost := check(file.Create, f.rec.find(file.Create, p))
	if cpre.TID != uint32(tid) || cpre.Mode != unix.S_IFREG|0o640 || cpre.Flags&unix.O_RDWR == 0 || cpost.Result != 0 {
		t.Errorf("create: %+v / %+v, want tid %d, mode 0100640, O_RDWR", cpre, cpost, tid)
	}
	wpre, wpost := check(file.Write, f.rec.find(file.Write, p))
	if wpre.Offset != 0 || wpre.Length != uint64(len(data)) || wpost.Result != int64(len(data)) || wpre.TID != uint32(tid) {
		t.Errorf("write: %+v / %+v", wpre, wpost)
	}
	rpre, rpost := check(file.Read, f.rec.find(file.Read, p))
	if rpre.Offset != 100 || rpre.Length != 4096 || rpost.Result != 4096 {
		t.Errorf("read: %+v / %+v", rpre, rpost)
	}
	opre, _ := check(file.Open, f.rec.find(file.Open, p))
	if opre.Flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("open flags %#x", opre.Flags)
	}
	// Close is the release the kernel sends after close(2) returned.
	check(file.Close, f.rec.waitFor(t, file.Close, p))
	if got := readFile(t, filepath.Join(f.dir, "pairs")); !bytes.Equal(got, data) {
		t.Errorf("file underneath differs")
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(f.dir, "pairs"), &st); err != nil || st.Mode&0o7777 != 0o640 {
		t.Errorf("created file's mode: %o %v", st.Mode, err)
	}
}

// Data written through the mount by concurrent writers is byte-for-byte
// on disk: 8 writers of their own files and of one shared file (pwrite at
// distinct offsets), with every operation watched (direct I/O) and with
// none (passthrough).
func TestConcurrentWriters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interest file.Interest
	}{
		{"watched", nil},
		{"passthrough", func() (file.OpSet, file.OpSet) { return 1 << file.Open, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mountT(t, true, Options{Interest: tc.interest}, nil)
			const writers, chunk, chunks = 8, 64 << 10, 16
			shared := make([]byte, writers*chunk*chunks)
			own := make([][]byte, writers)
			for i := range own {
				own[i] = make([]byte, chunk*chunks+i*1000)
				fillRandom(own[i])
			}
			fillRandom(shared)
			sf, err := os.Create(f.path("shared"))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 2*writers)
			for w := 0; w < writers; w++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					p := f.path(fmt.Sprintf("own%d", w))
					g, err := os.Create(p)
					if err != nil {
						errs <- err
						return
					}
					defer g.Close()
					b := own[w]
					for len(b) > 0 {
						n := min(len(b), 10000+w)
						if _, err := g.Write(b[:n]); err != nil {
							errs <- err
							return
						}
						b = b[n:]
					}
				}()
				go func() {
					defer wg.Done()
					// Interleaved: chunk c of writer w at (c*writers+w)*chunk.
					for c := 0; c < chunks; c++ {
						off := (c*writers + w) * chunk
						if _, err := sf.WriteAt(shared[off:off+chunk], int64(off)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if err := sf.Close(); err != nil {
				t.Fatal(err)
			}
			for w := 0; w < writers; w++ {
				name := fmt.Sprintf("own%d", w)
				if got := readFile(t, filepath.Join(f.dir, name)); !bytes.Equal(got, own[w]) {
					t.Errorf("%s on disk: %d bytes, differs from the %d written", name, len(got), len(own[w]))
				}
			}
			if got := readFile(t, filepath.Join(f.dir, "shared")); !bytes.Equal(got, shared) {
				t.Errorf("shared file on disk differs (%d bytes, want %d)", len(got), len(shared))
			}
			if got := readFile(t, f.path("shared")); !bytes.Equal(got, shared) {
				t.Errorf("shared file read back through the mount differs")
			}
			s := f.src.Stats()
			if tc.interest == nil && (s.Writes == 0 || s.PassthroughOpens != 0) {
				t.Errorf("watched writers: %+v", s)
			}
			if tc.interest != nil && (s.Writes != 0 || s.PassthroughOpens == 0) {
				t.Errorf("passthrough writers: %+v", s)
			}
		})
	}
}

func fillRandom(b []byte) {
	r := rand.New(rand.NewPCG(uint64(len(b)), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// Mounted over the directory itself: files made before the mount are
// seen through it, events name the directory's paths, and after Run the
// directory is the plain directory again, holding what was written.
func TestMountOver(t *testing.T) {
	f := mountT(t, false, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "before"), []byte("made before the mount\n"))
	})
	if !isFUSE(t, f.dir) {
		t.Fatal("the directory is not a FUSE mount while Run runs")
	}
	if out, err := exec.Command("cat", filepath.Join(f.dir, "before")).CombinedOutput(); err != nil || string(out) != "made before the mount\n" {
		t.Fatalf("cat through the mount: %v %q", err, out)
	}
	if evs := f.rec.find(file.Open, filepath.Join(f.dir, "before")); len(evs) != 2 {
		t.Errorf("open of a pre-existing file: %+v", evs)
	}
	writeFile(t, filepath.Join(f.dir, "during"), []byte("written through the mount\n"))
	if err := os.Mkdir(filepath.Join(f.dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../before", filepath.Join(f.dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(f.dir, "sub", "link")); string(got) != "made before the mount\n" {
		t.Errorf("through a symlink: %q", got)
	}
	sl := f.rec.find(file.Symlink, filepath.Join(f.dir, "sub", "link"))
	if len(sl) != 2 || sl[0].Target != "../before" {
		t.Errorf("symlink events %+v", sl)
	}
	f.stop()
	if isFUSE(t, f.dir) {
		t.Fatal("still a FUSE mount after Run returned")
	}
	if got := readFile(t, filepath.Join(f.dir, "during")); string(got) != "written through the mount\n" {
		t.Errorf("after unmount: %q", got)
	}
	if l, err := os.Readlink(filepath.Join(f.dir, "sub", "link")); err != nil || l != "../before" {
		t.Errorf("symlink after unmount: %q %v", l, err)
	}
}

// A process that mounted and was killed leaves a dead mount; the next Run
// removes it, says so, and mounts.
func TestDeadMount(t *testing.T) {
	needFUSE(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), []byte("still here\n"))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, dir)
	cmd.Env = append(os.Environ(), helperEnv+"=mount")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := stdout.Read(line); err != nil || string(line) != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("helper: %q %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// stat may still answer from the kernel's attribute cache; statfs
	// always asks the (dead) server.
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != unix.ENOTCONN {
		unix.Unmount(dir, unix.MNT_DETACH)
		t.Fatalf("statfs of a crashed mount: %v, want ENOTCONN", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })

	logs := &logBuf{}
	src := New(Options{Dir: dir, Logf: logs.logf})
	ready := make(chan struct{})
	src.opts.Ready = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, func(*file.Event) file.Verdict { return file.Allow }) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("Run over a dead mount: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "f")); string(got) != "still here\n" {
		t.Errorf("through the new mount: %q", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "removed a dead fuse.ebpfhost mount") {
		t.Errorf("no note of the dead mount in the log: %q", logs.String())
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil || isFUSE(t, dir) {
		t.Fatalf("after Run: %v, fuse=%v", err, isFUSE(t, dir))
	}
}

// With no program on reads or writes, files are opened with kernel
// passthrough: reads are correct and none reaches the source. A program on
// reads attached later applies to files opened afterwards.
func TestPassthrough(t *testing.T) {
	var mu sync.Mutex
	pre := file.OpSet(1<<file.Open | 1<<file.Close)
	interest := func() (file.OpSet, file.OpSet) {
		mu.Lock()
		defer mu.Unlock()
		return pre, 1 << file.Close
	}
	data := make([]byte, 3<<20+17)
	fillRandom(data)
	f := mountT(t, true, Options{Interest: interest}, func(dir string) {
		writeFile(t, filepath.Join(dir, "big"), data)
	})
	if !f.src.Stats().Passthrough {
		t.Fatalf("passthrough not available on this kernel (CONFIG_FUSE_PASSTHROUGH?): %s", f.src.Caps().Limitation)
	}
	if !strings.Contains(f.src.Caps().Limitation, "passthrough is active") {
		t.Errorf("Caps.Limitation does not say passthrough is active: %s", f.src.Caps().Limitation)
	}
	out, err := exec.Command("cat", f.path("big")).Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("cat through passthrough: %v, %d bytes", err, len(out))
	}
	s := f.src.Stats()
	if s.PassthroughOpens != 1 || s.Reads != 0 || s.ServedOpens != 0 {
		t.Fatalf("after a passthrough cat: %+v", s)
	}
	if evs := f.rec.find(file.Open, f.path("big")); len(evs) != 1 || evs[0].Post {
		t.Errorf("only the pre open is handled: %+v", evs)
	}
	if len(f.rec.find(file.Read, f.path("big"))) != 0 {
		t.Errorf("reads reported while nobody handles them")
	}

	// A read program attached: the next open is served, its reads seen.
	mu.Lock()
	pre |= 1 << file.Read
	mu.Unlock()
	f.rec.waitFor(t, file.Close, f.path("big")) // wait: releases are asynchronous
	out, err = exec.Command("cat", f.path("big")).Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("cat with reads watched: %v, %d bytes", err, len(out))
	}
	s = f.src.Stats()
	if s.DirectOpens != 1 || s.Reads == 0 {
		t.Fatalf("after attaching a read program: %+v", s)
	}
	var n uint64
	for _, ev := range f.rec.find(file.Read, f.path("big")) {
		n += ev.Length
	}
	if n < uint64(len(data)) {
		t.Errorf("read events cover %d bytes of %d", n, len(data))
	}
}

// Other users go through the mount with their own identity: the kernel
// checks their permissions, and what they create is theirs.
func TestOtherUser(t *testing.T) {
	f := mountT(t, true, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "private"), []byte("root only\n"))
		os.Chmod(filepath.Join(dir, "private"), 0o600)
		// Let others reach the directory and the mount point.
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755)
	})
	asNobody := func(script string) ([]byte, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Dir = "/"
		return cmd.CombinedOutput()
	}
	out, err := asNobody("cat " + f.path("private"))
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("nobody reading a 0600 root file: %v %q", err, out)
	}
	if evs := f.rec.find(file.Open, f.path("private")); len(evs) != 0 {
		t.Errorf("the kernel refused before asking, yet: %+v", evs)
	}
	if out, err := asNobody("umask 027; echo mine > " + f.path("mine") + " && mkdir " + f.path("d")); err != nil {
		t.Fatalf("nobody creating: %v %q", err, out)
	}
	for name, mode := range map[string]uint32{"mine": 0o640, "d": 0o750 | unix.S_IFDIR} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(f.dir, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 65534 || st.Gid != 65534 || st.Mode&(0o7777|unix.S_IFDIR) != mode {
			t.Errorf("%s underneath: uid %d gid %d mode %o, want 65534/65534 %o", name, st.Uid, st.Gid, st.Mode, mode)
		}
	}
	evs := f.rec.find(file.Create, f.path("mine"))
	if len(evs) != 2 || evs[0].UID != 65534 || evs[0].GID != 65534 {
		t.Errorf("create by nobody: %+v", evs)
	}
}

// Cancelling while a file is open (busy) still unmounts, promptly.
func TestBusyUnmount(t *testing.T) {
	f := mountT(t, false, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "held"), []byte("held\n"))
	})
	held, err := os.Open(filepath.Join(f.dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	f.stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to return with a file open", d)
	}
	if isFUSE(t, f.dir) {
		t.Fatal("still mounted")
	}
	if !strings.Contains(f.logs.String(), "busy") {
		t.Errorf("no note of the busy unmount: %q", f.logs.String())
	}
	if got := readFile(t, filepath.Join(f.dir, "held")); string(got) != "held\n" {
		t.Errorf("after unmount: %q", got)
	}
}

// Setattr, mkdir, rmdir, link and symlink reach the handler, and a denied
// mkdir makes nothing.
func TestMetadataOps(t *testing.T) {
	f := mountT(t, true, Options{}, func(dir string) {
		writeFile(t, filepath.Join(dir, "f"), []byte("0123456789"))
	})
	f.rec.setVerdict(func(ev *file.Event) file.Verdict {
		if ev.Op == file.Mkdir && strings.HasSuffix(ev.Path, "/nope") {
			return file.Verdict{Errno: int32(syscall.EPERM)}
		}
		return file.Allow
	})
	if err := os.Truncate(f.path("f"), 4); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.path("f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(f.path("f"), f.path("hard")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.path("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.path("d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.path("nope"), 0o755); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("denied mkdir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("denied mkdir made a directory: %v", err)
	}
	var sawTrunc, sawChmod bool
	for _, ev := range f.rec.find(file.Setattr, f.path("f")) {
		if !ev.Post && ev.Offset == 4 {
			sawTrunc = true
		}
		if !ev.Post && ev.Mode == 0o600 {
			sawChmod = true
		}
	}
	if !sawTrunc || !sawChmod {
		t.Errorf("setattr events: %+v", f.rec.find(file.Setattr, f.path("f")))
	}
	if evs := f.rec.find(file.Link, f.path("f")); len(evs) != 2 || evs[0].Target != f.path("hard") {
		t.Errorf("link events: %+v", evs)
	}
	if evs := f.rec.find(file.Mkdir, f.path("d")); len(evs) != 2 || evs[0].Mode != unix.S_IFDIR|0o755 {
		t.Errorf("mkdir events: %+v", evs)
	}
	if evs := f.rec.find(file.Rmdir, f.path("d")); len(evs) != 2 {
		t.Errorf("rmdir events: %+v", evs)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(f.dir, "f"), &st); err != nil || st.Size != 4 || st.Mode&0o7777 != 0o600 || st.Nlink != 2 {
		t.Errorf("underneath: %+v %v", st, err)
	}

	// open(O_TRUNC) of an existing file is one Open, with O_TRUNC.
	f.rec.reset()
	if out, err := exec.Command("sh", "-c", "echo new > "+f.path("hard")).CombinedOutput(); err != nil {
		t.Fatalf("overwrite: %v %q", err, out)
	}
	if evs := f.rec.find(file.Open, f.path("hard")); len(evs) != 2 || evs[0].Flags&unix.O_TRUNC == 0 {
		t.Errorf("open with O_TRUNC: %+v", evs)
	}
	if evs := f.rec.find(file.Setattr, f.path("hard")); len(evs) != 0 {
		t.Errorf("O_TRUNC made setattr events too: %+v", evs)
	}
}

// Without root the source says it is unavailable, and why.
func TestUnavailableNotRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		err := New(Options{Dir: t.TempDir()}).Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow })
		var ue *file.UnavailableError
		if !errors.As(err, &ue) {
			t.Fatalf("Run as non-root: %v", err)
		}
		return
	}
	// A copy of the test binary that nobody can run.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	os.Chmod(filepath.Dir(bin), 0o755)
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "fusefs.test"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "fusefs.test"), dir)
	cmd.Env = append(os.Environ(), helperEnv+"=run")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot run the test binary as nobody: %v %q", err, out)
	}
	if !strings.Contains(string(out), "unavailable=true") || !strings.Contains(string(out), "run as root") {
		t.Fatalf("as nobody: %q", out)
	}
}

// Unmounted from outside, Run returns an error at once.
func TestUnmountedOutside(t *testing.T) {
	needFUSE(t)
	dir := t.TempDir()
	ready := make(chan struct{})
	src := New(Options{Dir: dir, Ready: func() { close(ready) }})
	errc := make(chan error, 1)
	go func() {
		errc <- src.Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow })
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "unmounted from outside") {
			t.Errorf("Run after an outside unmount: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after an outside unmount")
	}
	if c := src.Caps(); !c.Deny || !c.Redirect || !c.Latency || !c.PID || c.Pre != file.AllOps || c.Post != file.AllOps ||
		c.Scope != "the mount at "+dir {
		t.Errorf("Caps: %+v", c)
	}
}

// A write or truncate by another user clears a file's set-ID bits, as the
// kernel does: the mount leaves it to the source (HANDLE_KILLPRIV_V2),
// with passthrough too.
func TestSetIDCleared(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interest file.Interest
	}{
		{"watched", nil},
		{"passthrough", func() (file.OpSet, file.OpSet) { return 1 << file.Open, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mountT(t, true, Options{Interest: tc.interest}, func(dir string) {
				for _, name := range []string{"suid", "sgid", "trunc", "rootwrite"} {
					p := filepath.Join(dir, name)
					writeFile(t, p, []byte("#!/bin/sh\n"))
				}
				// (os.Chmod would drop the set-ID bits given as numbers)
				unix.Chmod(filepath.Join(dir, "suid"), 0o4777)
				unix.Chmod(filepath.Join(dir, "sgid"), 0o2777)
				unix.Chmod(filepath.Join(dir, "trunc"), 0o6777)
				unix.Chmod(filepath.Join(dir, "rootwrite"), 0o4777)
				os.Chmod(filepath.Dir(dir), 0o755)
				os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755)
			})
			asNobody := func(script string) {
				t.Helper()
				cmd := exec.Command("sh", "-c", script)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
				cmd.Dir = "/"
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v %q", script, err, out)
				}
			}
			for name, want := range map[string]uint32{"suid": 0o4777, "sgid": 0o2777, "trunc": 0o6777, "rootwrite": 0o4777} {
				var st unix.Stat_t
				if err := unix.Stat(f.path(name), &st); err != nil || st.Mode&0o7777 != want {
					t.Fatalf("%s before: %o %v", name, st.Mode, err)
				}
			}
			asNobody("echo more >> " + f.path("suid"))
			asNobody("echo more >> " + f.path("sgid"))
			asNobody("truncate -s 2 " + f.path("trunc"))
			fd, err := unix.Open(f.path("rootwrite"), unix.O_WRONLY|unix.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			unix.Write(fd, []byte("root\n"))
			unix.Close(fd)
			for name, want := range map[string]uint32{"suid": 0o777, "sgid": 0o777, "trunc": 0o777, "rootwrite": 0o4777} {
				var st unix.Stat_t
				if err := unix.Stat(filepath.Join(f.dir, name), &st); err != nil {
					t.Fatal(err)
				}
				if st.Mode&0o7777 != want {
					t.Errorf("%s: mode %o after the write, want %o", name, st.Mode&0o7777, want)
				}
			}
		})
	}
}

// posixACL encodes a system.posix_acl_* value (version 2; entries of
// tag, permissions, id).
func posixACL(entries ...[3]uint32) []byte {
	b := make([]byte, 4+8*len(entries))
	binary.LittleEndian.PutUint32(b, 2)
	for i, e := range entries {
		binary.LittleEndian.PutUint16(b[4+8*i:], uint16(e[0]))
		binary.LittleEndian.PutUint16(b[6+8*i:], uint16(e[1]))
		binary.LittleEndian.PutUint32(b[8+8*i:], e[2])
	}
	return b
}

// ACL tags.
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
)

// POSIX ACLs hold through the mount: an entry refusing a user refuses
// them (mode bits alone would let them read), and a directory's default
// ACL shapes new files' modes instead of the umask, as natively.
func TestACL(t *testing.T) {
	f := mountT(t, true, Options{}, func(dir string) {
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755)
		p := filepath.Join(dir, "f")
		writeFile(t, p, []byte("not for nobody\n"))
		os.Chmod(p, 0o644)
		acl := posixACL([3]uint32{aclUserObj, 6, 0}, [3]uint32{aclUser, 0, 65534}, [3]uint32{aclGroupObj, 4, 0},
			[3]uint32{aclMask, 4, 0}, [3]uint32{aclOther, 4, 0})
		if err := unix.Setxattr(p, "system.posix_acl_access", acl, 0); err != nil {
			t.Skipf("no POSIX ACLs on %s: %v", dir, err)
		}
		d := filepath.Join(dir, "d")
		os.Mkdir(d, 0o777)
		os.Chmod(d, 0o777)
		def := posixACL([3]uint32{aclUserObj, 7, 0}, [3]uint32{aclGroupObj, 5, 0}, [3]uint32{aclOther, 0, 0})
		if err := unix.Setxattr(d, "system.posix_acl_default", def, 0); err != nil {
			t.Fatal(err)
		}
	})
	asNobody := func(script string) ([]byte, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Dir = "/"
		return cmd.CombinedOutput()
	}
	if out, err := asNobody("cat " + f.path("f")); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("nobody, refused by an ACL entry, read the file through the mount: %v %q", err, out)
	}
	for prefix, d := range map[string]string{"m-": f.path("d"), "n-": filepath.Join(f.dir, "d")} {
		if out, err := asNobody("umask 022; echo x > " + d + "/" + prefix + "file; mkdir " + d + "/" + prefix + "sub"); err != nil {
			t.Fatalf("creating in %s: %v %q", d, err, out)
		}
	}
	for _, name := range []string{"file", "sub"} {
		var native, mounted unix.Stat_t
		if err := unix.Stat(filepath.Join(f.dir, "d", "n-"+name), &native); err != nil {
			t.Fatal(err)
		}
		if err := unix.Stat(filepath.Join(f.dir, "d", "m-"+name), &mounted); err != nil {
			t.Fatal(err)
		}
		if mounted.Mode != native.Mode || mounted.Uid != native.Uid || mounted.Gid != native.Gid {
			t.Errorf("%s made through the mount: mode %o %d:%d; natively %o %d:%d", name,
				mounted.Mode, mounted.Uid, mounted.Gid, native.Mode, native.Uid, native.Gid)
		}
	}
}
