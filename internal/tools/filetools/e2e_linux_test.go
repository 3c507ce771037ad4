package filetools_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/auto"
	"github.com/ebpfhost/ebpfhost/internal/tools/filetools"
)

// The end-to-end tests run the tools on a real FUSE mount and act on it
// from other processes: real programs (cat, sh) and this test binary as a
// helper that performs system calls and prints their errnos, so that the
// FUSE server (this process) never serves its own requests.
const helperEnv = "EBPFHOST_FILETOOLS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "" {
		os.Exit(m.Run())
	}
	helperMain(os.Args[1:])
	os.Exit(0)
}

// helperMain performs the operations in args, each "op:arg[:arg]", and
// prints one line per operation: "ok" (with the bytes read, for read) or
// "errno N".
func helperMain(args []string) {
	for _, a := range args {
		f := strings.Split(a, ":")
		var err error
		var out string
		switch f[0] {
		case "read": // open, read to the end in 4 KiB reads, close; prints "n=<reads>" and the bytes
			var fd int
			if fd, err = syscall.Open(f[1], syscall.O_RDONLY, 0); err == nil {
				var data []byte
				buf := make([]byte, 4096)
				reads := 0
				for {
					n, rerr := syscall.Read(fd, buf)
					reads++
					if rerr != nil {
						err = rerr
						break
					}
					if n == 0 {
						break
					}
					data = append(data, buf[:n]...)
				}
				syscall.Close(fd)
				out = fmt.Sprintf(" n=%d %q", reads, data)
			}
		case "write": // open for writing (truncating), write f[2] n times (f[3]), close
			var fd int
			if fd, err = syscall.Open(f[1], syscall.O_WRONLY|syscall.O_TRUNC, 0); err == nil {
				n := 1
				if len(f) > 3 {
					n, _ = strconv.Atoi(f[3])
				}
				for i := 0; i < n && err == nil; i++ {
					_, err = syscall.Write(fd, []byte(f[2]))
				}
				syscall.Close(fd)
			}
		case "openw":
			var fd int
			if fd, err = syscall.Open(f[1], syscall.O_WRONLY, 0); err == nil {
				syscall.Close(fd)
			}
		case "append":
			var fd int
			if fd, err = syscall.Open(f[1], syscall.O_WRONLY|syscall.O_APPEND, 0); err == nil {
				syscall.Close(fd)
			}
		case "creat":
			var fd int
			if fd, err = syscall.Open(f[1], syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o644); err == nil {
				syscall.Close(fd)
			}
		case "truncate":
			err = syscall.Truncate(f[1], 0)
		case "chmod":
			err = syscall.Chmod(f[1], 0o600)
		case "unlink":
			err = syscall.Unlink(f[1])
		case "mkdir":
			err = syscall.Mkdir(f[1], 0o755)
		case "rmdir":
			err = syscall.Rmdir(f[1])
		case "rename":
			err = syscall.Rename(f[1], f[2])
		case "link":
			err = syscall.Link(f[1], f[2])
		case "symlink":
			err = syscall.Symlink(f[2], f[1])
		default:
			err = fmt.Errorf("unknown helper operation %q", f[0])
		}
		var errno syscall.Errno
		switch {
		case err == nil:
			fmt.Println("ok" + out)
		case errors.As(err, &errno):
			fmt.Printf("errno %d\n", int(errno))
		default:
			fmt.Println("error", err)
		}
	}
}

// helper runs operations in another process and returns its lines.
func helper(t *testing.T, ops ...string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], ops...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %v: %v", ops, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(ops) {
		t.Fatalf("helper %v: %d lines: %s", ops, len(lines), out)
	}
	return lines
}

// isMounted reports whether dir is the mount point of a FUSE mount of
// this process's mount namespace.
func isMounted(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if len(fields) > 4 && sep > 0 && sep+1 < len(fields) && fields[4] == dir && strings.HasPrefix(fields[sep+1], "fuse") {
			return true
		}
	}
	return false
}

// live runs a tool on the FUSE source over mountDir and returns once the
// mount serves; stop ends the tool and checks that the mount is gone. It
// skips when the FUSE source cannot run here, saying why.
func live(t *testing.T, mountDir string, tool func(ctx context.Context, o filetools.Options) error) (stop func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the FUSE source mounts with mount(2)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	log := &syncBuffer{}
	o := filetools.Options{SourceName: "fuse", Out: &syncBuffer{}, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tool(ctx, o) }()
	deadline := time.Now().Add(10 * time.Second)
	for !isMounted(t, mountDir) {
		select {
		case err := <-done:
			cancel()
			var ue *file.UnavailableError
			switch {
			case errors.Is(err, auto.ErrNotBuilt):
				t.Skip("FUSE source not built")
			case errors.As(err, &ue):
				t.Skipf("FUSE source unavailable here: %v", ue)
			}
			t.Fatalf("the tool stopped before mounting: %v (log: %s)", err, log.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%s not mounted after 10 s (log: %s)", mountDir, log.String())
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("the tool: %v (log: %s)", err, log.String())
				}
			case <-time.After(10 * time.Second):
				t.Errorf("the tool did not stop 10 s after cancel")
			}
			if isMounted(t, mountDir) {
				t.Errorf("%s is still mounted after the tool stopped", mountDir)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listing describes a directory tree: names, sizes, modes and contents.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d", strings.TrimPrefix(p, dir), fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %q", data)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestLiveDenyWrite makes a directory read-only with deny-write on a FUSE
// mount over it: a real cat writing into it and a shell's overwrite fail
// with EACCES, every other change fails too, reads work, and nothing under
// it changes.
func TestLiveDenyWrite(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "original\n")
	writeFile(t, filepath.Join(outside, "o"), "outside\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	var actions []filetools.Action
	var mu sync.Mutex
	var st filetools.DenyStats
	stop := live(t, dir, func(ctx context.Context, o filetools.Options) error {
		var err error
		st, err = filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: dir,
			OnDeny: func(a *filetools.Action) { mu.Lock(); actions = append(actions, *a); mu.Unlock() }})
		return err
	})
	f := filepath.Join(dir, "f")

	// Real programs: cat writing into the file, a shell truncating it.
	out, err := exec.Command("sh", "-c", "cat "+filepath.Join(outside, "o")+" > "+f).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("cat into a protected file: %v, %q; want EACCES (Permission denied)", err, out)
	}
	out, err = exec.Command("sh", "-c", "echo overwritten >> "+f).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("appending to a protected file: %v, %q; want EACCES", err, out)
	}
	if out, err := exec.Command("cat", f).CombinedOutput(); err != nil || string(out) != "original\n" {
		t.Errorf("cat of a protected file: %v, %q; reading must work", err, out)
	}

	eacces := fmt.Sprintf("errno %d", int(syscall.EACCES))
	ops := []string{
		"write:" + f + ":x", "openw:" + f, "append:" + f, "creat:" + filepath.Join(dir, "new"),
		"truncate:" + f, "chmod:" + f, "unlink:" + f, "mkdir:" + filepath.Join(dir, "d"), "rmdir:" + filepath.Join(dir, "sub"),
		"rename:" + f + ":" + filepath.Join(dir, "g"), "link:" + f + ":" + filepath.Join(dir, "h"),
		"symlink:" + filepath.Join(dir, "l") + ":/etc/hosts",
	}
	for i, l := range helper(t, ops...) {
		if l != eacces {
			t.Errorf("%s: %s, want %s (EACCES)", ops[i], l, eacces)
		}
	}
	if l := helper(t, "read:"+f)[0]; l != `ok n=2 "original\n"` {
		t.Errorf("read: %s", l)
	}
	stop()
	if after := listing(t, dir); after != before {
		t.Errorf("the protected directory changed:\nbefore\n%safter\n%s", before, after)
	}
	mu.Lock()
	defer mu.Unlock()
	// 2 (cat, sh) + every helper operation; an open that is refused is
	// counted once, however the kernel splits it.
	if st.Denied < uint64(2+len(ops)) || len(actions) != int(st.Denied) {
		t.Errorf("%d refusals counted, %d printed; want at least %d, equal", st.Denied, len(actions), 2+len(ops))
	}
}

// TestLiveRedirect redirects one file and a directory on FUSE mounts: a
// real cat of the redirected path prints the other file's bytes.
func TestLiveRedirect(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		app, test := t.TempDir(), t.TempDir()
		writeFile(t, filepath.Join(app, "config"), "production\n")
		writeFile(t, filepath.Join(app, "other"), "untouched\n")
		writeFile(t, filepath.Join(test, "config"), "test settings\n")
		var st filetools.RedirectStats
		stop := live(t, app, func(ctx context.Context, o filetools.Options) error {
			var err error
			st, err = filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: filepath.Join(app, "config"), To: filepath.Join(test, "config")})
			return err
		})
		if out, err := exec.Command("cat", filepath.Join(app, "config")).CombinedOutput(); err != nil || string(out) != "test settings\n" {
			t.Errorf("cat of the redirected file: %v, %q; want the other file's bytes", err, out)
		}
		if out, err := exec.Command("cat", filepath.Join(app, "other")).CombinedOutput(); err != nil || string(out) != "untouched\n" {
			t.Errorf("cat of another file: %v, %q", err, out)
		}
		stop()
		if st.Redirects != 1 {
			t.Errorf("stats %+v, want 1 redirect", st)
		}
	})
	t.Run("directory", func(t *testing.T) {
		from, to := t.TempDir(), t.TempDir()
		writeFile(t, filepath.Join(from, "a"), "from a\n")
		writeFile(t, filepath.Join(to, "a"), "to a\n")
		if err := os.Mkdir(filepath.Join(to, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, "sub", "b"), "to sub/b\n")
		stop := live(t, from, func(ctx context.Context, o filetools.Options) error {
			_, err := filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: from, To: to})
			return err
		})
		if l := helper(t, "read:"+filepath.Join(from, "a")); l[0] != `ok n=2 "to a\n"` {
			t.Errorf("read of from/a: %s, want to/a's bytes", l[0])
		}
		stop()
	})
}

// TestLiveIOLatency performs a known number of operations on a FUSE mount
// and checks that the histograms count exactly those.
func TestLiveIOLatency(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), strings.Repeat("x", 10000)) // 3 reads of 4 KiB and one of 0
	writeFile(t, filepath.Join(dir, "w"), "")
	var mu sync.Mutex
	seen := map[file.Op]uint64{}
	var total *filetools.Report
	stop := live(t, dir, func(ctx context.Context, o filetools.Options) error {
		var err error
		o.Mount = dir
		total, err = filetools.IOLatency(ctx, filetools.LatencyOptions{Options: o, Interval: 20 * time.Millisecond,
			Ops: file.OpSet(0).With(file.Open).With(file.Read).With(file.Write).With(file.Close),
			OnReport: func(r *filetools.Report) {
				mu.Lock()
				defer mu.Unlock()
				for _, hg := range r.Ops {
					seen[hg.Op] += hg.Count
				}
			}})
		return err
	})
	const rounds = 5
	var ops []string
	for i := 0; i < rounds; i++ {
		ops = append(ops, "read:"+filepath.Join(dir, "f"))
	}
	ops = append(ops, "write:"+filepath.Join(dir, "w")+":abc:7")
	reads := 0
	for i, l := range helper(t, ops...) {
		if i < rounds {
			if !strings.HasPrefix(l, "ok n=4 ") {
				t.Fatalf("read %d: %s", i, l)
			}
			reads += 4
		} else if l != "ok" {
			t.Fatalf("write: %s", l)
		}
	}
	want := map[file.Op]uint64{file.Open: rounds + 1, file.Read: uint64(reads), file.Write: 7, file.Close: rounds + 1}
	// Closes (FUSE release) are reported after close(2) returned: wait
	// for the counts to arrive, then check that nothing else was counted.
	for deadline := time.Now().Add(5 * time.Second); ; {
		mu.Lock()
		done := fmt.Sprint(seen) == fmt.Sprint(want)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	got := map[file.Op]uint64{}
	var slots uint64
	for _, hg := range total.Ops {
		if hg.Count > 0 {
			got[hg.Op] = hg.Count
		}
		for _, n := range hg.Slots {
			slots += n
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("operations counted %v, want %v", got, want)
	}
	if slots != 2*rounds+2+uint64(reads)+7 {
		t.Errorf("%d counts in the histograms, want one per operation (%d)", slots, 2*rounds+2+reads+7)
	}
	var buf bytes.Buffer
	total.Print(&buf)
	t.Logf("latency of %d operations through the mount:\n%s", slots, buf.String())
}

// TestLiveMonitorRenameUnlink checks that the monitor sees a rename with
// both paths and an unlink on a FUSE mount.
func TestLiveMonitorRenameUnlink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), "a")
	var mu sync.Mutex
	var events []filetools.Event
	stop := live(t, dir, func(ctx context.Context, o filetools.Options) error {
		o.Mount = dir
		_, err := filetools.MonitorFiles(ctx, filetools.MonitorOptions{Options: o, Ops: file.OpSet(0).With(file.Rename).With(file.Unlink),
			OnEvent: func(ev *filetools.Event) { mu.Lock(); events = append(events, *ev); mu.Unlock() }})
		return err
	})
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if l := helper(t, "rename:"+a+":"+b, "unlink:"+b); l[0] != "ok" || l[1] != "ok" {
		t.Fatalf("helper: %v", l)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Op != file.Rename || events[0].Path != a || events[0].Target != b || events[0].Result != 0 ||
		events[1].Op != file.Unlink || events[1].Path != b || events[1].Image == "" {
		t.Fatalf("events %+v", events)
	}
}
