package tracepoint

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

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// The test binary doubles as the processes the tests watch.
const helperEnv = "EBPFHOST_FILE_TRACEPOINT_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "io":
		ioHelper(os.Args[1])
	case "wait-io":
		// Waits for a line on stdin, so that the test can start the
		// source filtered on this process's pid first.
		bufio.NewReader(os.Stdin).ReadString('\n')
		ioHelper(os.Args[1])
	case "names":
		namesHelper()
	case "loop":
		loopHelper(os.Args[1], os.Args[2], os.Args[3])
	case "unavailable":
		err := New(Options{}).Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow })
		var ue *file.UnavailableError
		if errors.As(err, &ue) {
			fmt.Println("unavailable:", err)
		} else {
			fmt.Println("other:", err)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
	os.Exit(0)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// ioHelper creates dir/f with open(2), writes 11 bytes, reads 5 of them
// back at offset 6 with pread64, and closes it, with raw system calls.
func ioHelper(dir string) {
	fd, err := unix.Open(filepath.Join(dir, "f"), unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o640)
	must(err)
	_, err = unix.Write(fd, []byte("hello world"))
	must(err)
	b := make([]byte, 5)
	_, err = unix.Pread(fd, b, 6)
	must(err)
	must(unix.Close(fd))
}

// namesHelper works with relative names in its working directory: rename,
// link, symlink, mkdir, rmdir, truncate and unlink.
func namesHelper() {
	must(os.WriteFile("a", []byte("0123456789"), 0o644))
	must(unix.Renameat2(unix.AT_FDCWD, "a", unix.AT_FDCWD, "b", unix.RENAME_NOREPLACE))
	must(unix.Mkdir("d", 0o750))
	dir, err := unix.Open("d", unix.O_DIRECTORY|unix.O_RDONLY, 0)
	must(err)
	must(unix.Renameat(unix.AT_FDCWD, "b", dir, "c")) // relative to a directory descriptor
	must(unix.Linkat(dir, "c", unix.AT_FDCWD, "hard", 0))
	must(unix.Symlinkat("../elsewhere", dir, "sym"))
	must(unix.Truncate("hard", 3))
	must(unix.Unlinkat(dir, "sym", 0))
	must(unix.Unlink("hard"))
	must(unix.Unlinkat(dir, "c", 0))
	must(unix.Unlinkat(unix.AT_FDCWD, "d", unix.AT_REMOVEDIR))
	must(unix.Close(dir))
}

// loopHelper runs a system call n times on path and prints the time per
// call in ns.
func loopHelper(op, count, path string) {
	n, _ := strconv.Atoi(count)
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	must(err)
	b := make([]byte, 64)
	begin := time.Now()
	switch op {
	case "getppid": // a system call the source does not look at
		for range n {
			unix.Getppid()
		}
	case "pread":
		for range n {
			unix.Pread(fd, b, 0)
		}
	case "openclose":
		for range n {
			f, _ := unix.Open(path, unix.O_RDONLY, 0)
			unix.Close(f)
		}
	}
	fmt.Println(time.Since(begin).Nanoseconds() / int64(max(n, 1)))
}

func TestObjectUpToDate(t *testing.T) {
	clangtest.CheckObject(t, "bpf/file.c", "bpf/file.o")
}

// TestRecordLayout checks record.go against struct record and enum kind
// as compiled into the object.
func TestRecordLayout(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(fileObject))
	if err != nil {
		t.Fatal(err)
	}
	var rec *btf.Struct
	if err := spec.Types.TypeByName("record", &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"id": offID, "time_ns": offTime, "result": offResult, "offset": offOffset, "length": offLength,
		"ino": offIno, "dev": offDev, "pid": offPID, "tid": offTID, "uid": offUID, "gid": offGID,
		"flags": offFlags, "mode": offMode, "path_len": offPathLen, "target_len": offTargetLen,
		"op": offOp, "rflags": offRFlags, "kind": offKind, "pad": offKind + 1, "data": offData,
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
			if arr, ok := m.Type.(*btf.Array); !ok || arr.Nelems != 2*pathMax {
				t.Errorf("struct record data is %v, want char[%d]", m.Type, 2*pathMax)
			}
		}
	}
	for name := range want {
		t.Errorf("struct record has no field %s", name)
	}
	var kinds *btf.Enum
	if err := spec.Types.TypeByName("kind", &kinds); err != nil {
		t.Fatal(err)
	}
	goKinds := map[string]uint64{
		"K_OPEN": kOpen, "K_OPENAT": kOpenat, "K_OPENAT2": kOpenat2, "K_CREAT": kCreat, "K_IO": kIO, "K_PIO": kPIO,
		"K_IOV": kIOV, "K_PIOV": kPIOV, "K_CLOSE": kClose, "K_RENAME": kRename, "K_RENAMEAT": kRenameat,
		"K_RENAMEAT2": kRenameat2, "K_UNLINK": kUnlink, "K_UNLINKAT": kUnlinkat, "K_RMDIR": kRmdir,
		"K_MKDIR": kMkdir, "K_MKDIRAT": kMkdirat, "K_TRUNCATE": kTruncate, "K_FTRUNCATE": kFtruncate,
		"K_LINK": kLink, "K_LINKAT": kLinkat, "K_SYMLINK": kSymlink, "K_SYMLINKAT": kSymlinkat, "K_MAX": kMax,
	}
	for _, v := range kinds.Values {
		if g, ok := goKinds[v.Name]; !ok || g != v.Value {
			t.Errorf("enum kind %s = %d, record.go has %d (%v)", v.Name, v.Value, g, ok)
		}
		delete(goKinds, v.Name)
	}
	for name := range goKinds {
		t.Errorf("enum kind has no %s", name)
	}
	var ops *btf.Enum
	if err := spec.Types.TypeByName("op", &ops); err != nil {
		t.Fatal(err)
	}
	for _, v := range ops.Values {
		name := strings.ToLower(strings.TrimPrefix(v.Name, "OP_"))
		if op, ok := file.ParseOp(name); !ok || uint64(op) != v.Value {
			t.Errorf("enum op %s = %d, file.Op %q is %d", v.Name, v.Value, name, op)
		}
	}
}

// TestVerifierBudget keeps the programs well within the verifier's limit
// of a million instructions, so that older verifiers, which prune less,
// still take them.
func TestVerifierBudget(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(fileObject))
	if err != nil {
		t.Fatal(err)
	}
	objs := new(objects)
	err = spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
	if err != nil {
		t.Skipf("kernel BPF unavailable here: %v", err)
	}
	defer objs.close()
	for _, p := range []*ebpf.Program{objs.OnEnter, objs.OnExit} {
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

func TestDecode(t *testing.T) {
	d := newDecoder()
	if d.decode(make([]byte, offData-1), new(file.Event)) {
		t.Error("decoded a short record")
	}
	if got := kernelDev(8<<20 | 1); got != unix.Mkdev(8, 1) {
		t.Errorf("kernelDev = %#x, want %#x", got, unix.Mkdev(8, 1))
	}
	if got := kernelDev(259<<20 | 300); got != unix.Mkdev(259, 300) {
		t.Errorf("kernelDev = %#x, want %#x", got, unix.Mkdev(259, 300))
	}
	if cleanPath("/a/./b/../c//") != "/a/c" || cleanPath("") != "" {
		t.Error("cleanPath")
	}
}

// collector keeps the events a running source delivers.
type collector struct {
	mu      sync.Mutex
	evs     []file.Event
	changed chan struct{}
}

func (c *collector) handle(ev *file.Event) file.Verdict {
	c.mu.Lock()
	c.evs = append(c.evs, *ev)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
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
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

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

// start runs a source until the test ends, skipping where this machine
// cannot run it.
func start(t testing.TB, opts Options, h file.Handler) *Source {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
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
	})
	return s
}

func helper(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	// GORACE: a -race binary otherwise sleeps a second on exit.
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "GORACE=atexit_sleep_ms=0")
	return cmd
}

func runHelper(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return cmd.Process.Pid
}

func tempDir(t testing.TB) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pair returns the pre and post events of op on p by pid, checking that
// there is exactly one of each and that they belong together.
func pair(t *testing.T, c *collector, pid int, op file.Op, p string) (pre, post file.Event) {
	t.Helper()
	match := func(post bool) func(*file.Event) bool {
		return func(ev *file.Event) bool {
			return ev.PID == uint32(pid) && ev.Op == op && ev.Path == p && ev.Post == post
		}
	}
	pre = c.wait(t, fmt.Sprintf("pre %v of %s", op, p), match(false))
	post = c.wait(t, fmt.Sprintf("post %v of %s", op, p), match(true))
	if n := len(c.find(match(false))); n != 1 {
		t.Errorf("%d pre %v events of %s, want 1", n, op, p)
	}
	if pre.ID != post.ID || pre.ID == 0 {
		t.Errorf("%v of %s: pre id %d, post id %d", op, p, pre.ID, post.ID)
	}
	if post.Time < pre.Time || pre.Time == 0 || post.Time > file.Monotonic() {
		t.Errorf("%v of %s: pre at %d, post at %d, now %d", op, p, pre.Time, post.Time, file.Monotonic())
	}
	if pre.TID == 0 || pre.TID != post.TID || pre.UID != 0 {
		t.Errorf("%v of %s: tid %d/%d uid %d", op, p, pre.TID, post.TID, pre.UID)
	}
	return pre, post
}

func TestOpenReadWriteClose(t *testing.T) {
	dir := tempDir(t)
	c := &collector{changed: make(chan struct{})}
	start(t, Options{}, c.handle)
	pid := runHelper(t, helper("io", dir))
	p := filepath.Join(dir, "f")
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}

	pre, post := pair(t, c, pid, file.Create, p)
	if want := uint32(unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC); pre.Flags&want != want || pre.Mode != unix.S_IFREG|0o640 {
		t.Errorf("open flags %#o mode %#o", pre.Flags, pre.Mode)
	}
	if post.Result < 0 || post.Ino != st.Ino || post.Dev != st.Dev || post.Mode != st.Mode {
		t.Errorf("open result %d ino %d dev %#x mode %#o, want fd, %d %#x %#o", post.Result, post.Ino, post.Dev, post.Mode, st.Ino, st.Dev, st.Mode)
	}
	fd := post.Result

	pre, post = pair(t, c, pid, file.Write, p)
	if pre.Length != 11 || pre.Offset != 0 || post.Result != 11 || pre.Ino != st.Ino || pre.Dev != st.Dev {
		t.Errorf("write length %d offset %d result %d ino %d dev %#x", pre.Length, pre.Offset, post.Result, pre.Ino, pre.Dev)
	}
	pre, post = pair(t, c, pid, file.Read, p)
	if pre.Length != 5 || pre.Offset != 6 || post.Result != 5 {
		t.Errorf("pread length %d offset %d result %d", pre.Length, pre.Offset, post.Result)
	}
	pre, post = pair(t, c, pid, file.Close, p)
	if post.Result != 0 {
		t.Errorf("close result %d", post.Result)
	}
	_ = fd
}

func TestNames(t *testing.T) {
	dir := tempDir(t)
	c := &collector{changed: make(chan struct{})}
	start(t, Options{}, c.handle)
	cmd := helper("names")
	cmd.Dir = dir
	pid := runHelper(t, cmd)
	j := func(s ...string) string { return filepath.Join(append([]string{dir}, s...)...) }

	pre, post := pair(t, c, pid, file.Rename, j("a"))
	if pre.Target != j("b") || pre.Flags != unix.RENAME_NOREPLACE || post.Result != 0 || post.Target != j("b") {
		t.Errorf("rename a: target %q flags %d result %d", pre.Target, pre.Flags, post.Result)
	}
	pre, _ = pair(t, c, pid, file.Mkdir, j("d"))
	if pre.Mode != unix.S_IFDIR|0o750 {
		t.Errorf("mkdir mode %#o", pre.Mode)
	}
	pre, _ = pair(t, c, pid, file.Rename, j("b"))
	if pre.Target != j("d", "c") {
		t.Errorf("rename b to a directory descriptor's entry: target %q", pre.Target)
	}
	pre, _ = pair(t, c, pid, file.Link, j("d", "c"))
	if pre.Target != j("hard") {
		t.Errorf("link target %q", pre.Target)
	}
	pre, _ = pair(t, c, pid, file.Symlink, j("d", "sym"))
	if pre.Target != "../elsewhere" {
		t.Errorf("symlink target %q", pre.Target)
	}
	pre, _ = pair(t, c, pid, file.Setattr, j("hard"))
	if pre.Offset != 3 {
		t.Errorf("truncate length %d", pre.Offset)
	}
	pair(t, c, pid, file.Unlink, j("d", "sym"))
	pair(t, c, pid, file.Unlink, j("hard"))
	_, post = pair(t, c, pid, file.Unlink, j("d", "c"))
	if post.Result != 0 {
		t.Errorf("unlink result %d", post.Result)
	}
	pre, _ = pair(t, c, pid, file.Rmdir, j("d"))
	if pre.Flags != unix.AT_REMOVEDIR {
		t.Errorf("rmdir flags %#x", pre.Flags)
	}
}

// TestFailedCall reports a failing call's errno as its result.
func TestFailedCall(t *testing.T) {
	dir := tempDir(t)
	c := &collector{changed: make(chan struct{})}
	start(t, Options{}, c.handle)
	cmd := exec.Command("sh", "-c", "exec rmdir missing")
	cmd.Dir = dir
	cmd.Run()
	_, post := pair(t, c, cmd.Process.Pid, file.Rmdir, filepath.Join(dir, "missing"))
	if post.Result != -int64(unix.ENOENT) {
		t.Errorf("rmdir of a missing directory: result %d, want -ENOENT", post.Result)
	}
}

// TestPIDFilter limits the source to one process in the kernel; the
// source's own process is never reported.
func TestPIDFilter(t *testing.T) {
	dir, other := tempDir(t), tempDir(t)
	cmd := helper("wait-io", dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	pid := cmd.Process.Pid
	c := &collector{changed: make(chan struct{})}
	start(t, Options{PID: uint32(pid)}, c.handle)
	if err := os.WriteFile(filepath.Join(dir, "mine"), []byte("x"), 0o644); err != nil { // this process
		t.Fatal(err)
	}
	runHelper(t, helper("io", other))
	fmt.Fprintln(in, "go")
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	pair(t, c, pid, file.Close, filepath.Join(dir, "f"))
	if evs := c.find(func(ev *file.Event) bool { return ev.PID != uint32(pid) }); len(evs) != 0 {
		t.Errorf("%d events of other processes, first %+v", len(evs), evs[0])
	}
}

// TestInterest asks for pre writes only: nothing else arrives.
func TestInterest(t *testing.T) {
	dir := tempDir(t)
	c := &collector{changed: make(chan struct{})}
	start(t, Options{Interest: func() (file.OpSet, file.OpSet) { return file.OpSet(0).With(file.Write), 0 }}, c.handle)
	pid := runHelper(t, helper("io", dir))
	c.wait(t, "pre write", func(ev *file.Event) bool { return ev.PID == uint32(pid) && ev.Op == file.Write })
	if evs := c.find(func(ev *file.Event) bool { return ev.Op != file.Write || ev.Post }); len(evs) != 0 {
		t.Errorf("%d unwanted events, first %+v", len(evs), evs[0])
	}
}

func TestCancel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load kernel BPF programs")
	}
	ready := make(chan struct{})
	s := New(Options{Ready: func() { close(ready) }})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, func(*file.Event) file.Verdict { return file.Allow }) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Skipf("kernel BPF unavailable here: %v", err)
	}
	if err := s.Run(ctx, nil); err == nil || errors.As(err, new(*file.UnavailableError)) {
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
	dir := tempDir(t)
	c := &collector{changed: make(chan struct{})}
	start(t, Options{}, c.handle)
	pid := runHelper(t, helper("io", dir))
	pair(t, c, pid, file.Close, filepath.Join(dir, "f"))
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
	cmd.Env = append(os.Environ(), helperEnv+"=unavailable", "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "unavailable: ") || !strings.Contains(string(out), "run as root") {
		t.Fatalf("unprivileged Run returned %q, want an UnavailableError saying to run as root", out)
	}
}

// BenchmarkSyscall measures what the source adds to system calls made by
// another process: one it does not look at (getppid: the cost every
// system call on the machine pays), a 64-byte pread of a file (a pre and
// a post event with the file's path), and an open and close pair (four
// events, two paths). Each reports ns/call with the source running,
// ns/call-native without, and ns/call-in-bpf, the time the kernel spent
// in the two programs per call, measured in a second pass with the
// kernel's BPF statistics on (all the machine's system calls while the
// loop ran, divided by the loop's calls; the statistics add some tens of
// nanoseconds per run themselves).
func BenchmarkSyscall(b *testing.B) {
	dir := tempDir(b)
	p := filepath.Join(dir, "data")
	if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	loop := func(op string, n int) float64 {
		out, err := helper("loop", op, strconv.Itoa(n), p).Output()
		if err != nil {
			b.Fatal(err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatalf("%q", out)
		}
		return v
	}
	for _, op := range []string{"getppid", "pread", "openclose"} {
		b.Run(op, func(b *testing.B) {
			native := loop(op, max(b.N, 10000))
			var mu sync.Mutex
			seen := 0
			s := start(b, Options{}, func(ev *file.Event) file.Verdict {
				if ev.Path == p {
					mu.Lock()
					seen++
					mu.Unlock()
				}
				return file.Allow
			})
			progTime := func() (d time.Duration, n uint64) {
				s.mu.Lock()
				defer s.mu.Unlock()
				for _, p := range []*ebpf.Program{s.objs.OnEnter, s.objs.OnExit} {
					if st, err := p.Stats(); err == nil {
						d += st.Runtime
						n += st.RunCount
					}
				}
				return d, n
			}
			b.ResetTimer()
			per := loop(op, b.N)
			b.StopTimer()
			b.ReportMetric(per, "ns/call")
			b.ReportMetric(native, "ns/call-native")
			// The programs' own run time, from the kernel's statistics,
			// in a second pass: collecting them costs time of its own.
			if st, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME); err == nil {
				d0, _ := progTime()
				loop(op, b.N)
				d1, _ := progTime()
				st.Close()
				b.ReportMetric(float64(d1-d0)/float64(b.N), "ns/call-in-bpf")
			}
			perCall := map[string]int{"pread": 2, "openclose": 4}[op]
			if perCall > 0 {
				deadline := time.Now().Add(10 * time.Second)
				for {
					mu.Lock()
					n := seen
					mu.Unlock()
					if n >= 2*perCall*b.N || time.Now().After(deadline) {
						break
					}
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				b.ReportMetric(float64(seen), "events")
				mu.Unlock()
				b.ReportMetric(float64(s.Dropped()), "dropped")
			}
		})
	}
}
