package filetools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/simulated"
	"github.com/ebpfhost/ebpfhost/internal/tools/filetools"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
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

// running is a tool running on a simulated source.
type running struct {
	src  *simulated.Source
	out  *syncBuffer
	log  *syncBuffer
	stop func() error
}

// start runs tool (which must pass its options' Source, Out, Log, Ready
// and Checked on) and returns once it is ready.
func start(t *testing.T, tool func(ctx context.Context, o filetools.Options) error) *running {
	t.Helper()
	r := &running{src: simulated.New(), out: &syncBuffer{}, log: &syncBuffer{}}
	ready := make(chan struct{})
	o := filetools.Options{Source: r.src, Out: r.out, Log: r.log, Checked: true,
		Ready: func(file.Source) { close(ready) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tool(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("the tool stopped: %v (log: %s)", err, r.log.String())
	}
	var once sync.Once
	var err error
	r.stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// op performs a simulated operation and returns its verdict.
func (r *running) op(t *testing.T, ev file.Event, result int64) file.Verdict {
	t.Helper()
	v, err := r.src.Op(context.Background(), ev, result)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// emit delivers one event.
func (r *running) emit(t *testing.T, ev file.Event) file.Verdict {
	t.Helper()
	v, err := r.src.Emit(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMonitorFiles(t *testing.T) {
	var mu sync.Mutex
	var events []filetools.Event
	var st filetools.MonitorStats
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		var err error
		st, err = filetools.MonitorFiles(ctx, filetools.MonitorOptions{Options: o, JSON: true,
			OnEvent: func(ev *filetools.Event) { mu.Lock(); events = append(events, *ev); mu.Unlock() }})
		return err
	})
	r.op(t, file.Event{Op: file.Open, Path: "/etc/hosts", Flags: 0, PID: 42, UID: 1000, Image: "/usr/bin/cat", Ino: 5}, 0)
	r.op(t, file.Event{Op: file.Read, Path: "/etc/hosts", PID: 42, UID: 1000, Image: "/usr/bin/cat", Offset: 0, Length: 131072}, 221)
	r.op(t, file.Event{Op: file.Rename, Path: "/tmp/a", Target: "/tmp/b", PID: 43, Image: "/usr/bin/mv"}, -int64(syscall.EXDEV))
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || st.Events != 3 || st.Runs != 3 || st.RingDropped != 0 || st.Failures != 0 {
		t.Fatalf("%d events, stats %+v", len(events), st)
	}
	e := events[1]
	if e.Op != file.Read || e.PID != 42 || e.UID != 1000 || e.Result != 221 || e.Length != 131072 || e.Image != "/usr/bin/cat" || e.Path != "/etc/hosts" {
		t.Errorf("read event %+v", e)
	}
	if e := events[2]; e.Op != file.Rename || e.Target != "/tmp/b" || e.Result != -int64(syscall.EXDEV) {
		t.Errorf("rename event %+v", e)
	}
	if d := time.Since(events[0].Time); d < 0 || d > time.Minute {
		t.Errorf("event time %v is not about now", events[0].Time)
	}
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", r.out.String())
	}
	var j map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &j); err != nil {
		t.Fatal(err)
	}
	if j["op"] != "rename" || j["path"] != "/tmp/a" || j["target"] != "/tmp/b" || j["result"] != float64(-18) || j["image"] != "/usr/bin/mv" {
		t.Errorf("JSON line %s", lines[2])
	}
}

func TestMonitorFilesText(t *testing.T) {
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		_, err := filetools.MonitorFiles(ctx, filetools.MonitorOptions{Options: o})
		return err
	})
	r.op(t, file.Event{Op: file.Create, Path: "/tmp/new", Flags: 0o1101, PID: 7, UID: 0, Image: "/usr/bin/touch"}, 0)
	r.op(t, file.Event{Op: file.Write, Path: "/tmp/new", PID: 7, Offset: 4096, Length: 10, Image: "/usr/bin/touch"}, -int64(syscall.ENOSPC))
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", r.out.String())
	}
	want := []string{
		"TIME         OP          PID    UID    RESULT     OFFSET IMAGE                    PATH",
		"create        7      0         0          - /usr/bin/touch           /tmp/new (w,creat,trunc)",
		"write         7      0    ENOSPC       4096 /usr/bin/touch           /tmp/new",
	}
	if lines[0] != want[0] {
		t.Errorf("header\n%q, want\n%q", lines[0], want[0])
	}
	for i, l := range lines[1:] {
		if len(l) < 13 || l[13:] != want[i+1] {
			t.Errorf("line %d\n%q, want (after the time)\n%q", i+1, l, want[i+1])
		}
	}
}

// TestMonitorFilesFilters checks --exe, --path and the operation set: the
// program runs only for the operations and paths asked for, and records
// only the executable asked for.
func TestMonitorFilesFilters(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var events []filetools.Event
	var st filetools.MonitorStats
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		var err error
		st, err = filetools.MonitorFiles(ctx, filetools.MonitorOptions{Options: o, Exe: "/opt/nothere/tool", Path: dir,
			Ops:     file.OpSet(0).With(file.Open).With(file.Write),
			OnEvent: func(ev *filetools.Event) { mu.Lock(); events = append(events, *ev); mu.Unlock() }})
		return err
	})
	want := 0
	for _, img := range []string{"/opt/nothere/tool", "/opt/nothere/toolbox", "/bin/sh"} {
		for _, p := range []string{dir + "/f", dir + "x/f", "/etc/passwd", dir} {
			for _, op := range []file.Op{file.Open, file.Read, file.Write, file.Close} {
				r.op(t, file.Event{Op: op, Path: p, PID: 9, Image: img}, 0)
				if img == "/opt/nothere/tool" && p == dir+"/f" && (op == file.Open || op == file.Write) {
					want++
				}
			}
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if len(events) != want || want != 2 {
		t.Fatalf("%d events, want %d: %+v", len(events), want, events)
	}
	// Runs: opens and writes under dir/, of the three executables; two of
	// them filtered out by the program.
	if st.Runs != 6 || st.Filtered != 4 {
		t.Errorf("stats %+v, want 6 runs, 4 filtered", st)
	}
}

func TestIOLatency(t *testing.T) {
	var reports []*filetools.Report
	var total *filetools.Report
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		var err error
		total, err = filetools.IOLatency(ctx, filetools.LatencyOptions{Options: o,
			OnReport: func(r *filetools.Report) { reports = append(reports, r) }})
		return err
	})
	pair := func(op file.Op, id, d uint64) {
		r.emit(t, file.Event{Op: op, ID: id, Time: 1_000_000, Path: "/x", PID: 1})
		r.emit(t, file.Event{Op: op, ID: id, Time: 1_000_000 + d, Post: true, Path: "/x", PID: 1})
	}
	for i, d := range []uint64{500, 1500, 2500, 2600, 3000, 9000, 100_000} { // usecs: 0 1 2 2 3 9 100
		pair(file.Read, uint64(i+1), d)
	}
	pair(file.Write, 100, 5_000_000)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || len(total.Ops) != 2 {
		t.Fatalf("%d reports, %d operations in the total", len(reports), len(total.Ops))
	}
	got := r.out.String()
	wantOut := `operation = read
     usecs               : count     distribution
         0 -> 1          : 2        |**************************              |
         2 -> 3          : 3        |****************************************|
         4 -> 7          : 0        |                                        |
         8 -> 15         : 1        |*************                           |
        16 -> 31         : 0        |                                        |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 1        |*************                           |

avg = 17 usecs, total: 119 usecs, count: 7

operation = write
     usecs               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 0        |                                        |
         8 -> 15         : 0        |                                        |
        16 -> 31         : 0        |                                        |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 0        |                                        |
       128 -> 255        : 0        |                                        |
       256 -> 511        : 0        |                                        |
       512 -> 1023       : 0        |                                        |
      1024 -> 2047       : 0        |                                        |
      2048 -> 4095       : 0        |                                        |
      4096 -> 8191       : 1        |****************************************|

avg = 5000 usecs, total: 5000 usecs, count: 1
`
	if got != wantOut {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantOut)
	}
	rd := reports[0].Ops
	if len(rd) != 2 || rd[0].Op != file.Read || rd[0].Count != 7 || rd[1].Op != file.Write || rd[1].Slots[13] != 1 {
		t.Errorf("report %+v", rd)
	}
}

// TestIOLatencyInterval checks that each interval reports only its own
// operations.
func TestIOLatencyInterval(t *testing.T) {
	var mu sync.Mutex
	var reports []*filetools.Report
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		_, err := filetools.IOLatency(ctx, filetools.LatencyOptions{Options: o, Interval: 20 * time.Millisecond, Unit: "nsecs",
			OnReport: func(r *filetools.Report) { mu.Lock(); reports = append(reports, r); mu.Unlock() }})
		return err
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(reports) }
	waitReports := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); count() < n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d reports, want %d", count(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	r.op(t, file.Event{Op: file.Open, Path: "/x", PID: 1}, 0)
	waitReports(1)
	r.op(t, file.Event{Op: file.Mkdir, Path: "/y", PID: 1}, 0)
	r.op(t, file.Event{Op: file.Mkdir, Path: "/z", PID: 1}, 0)
	waitReports(2)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ops := reports[0].Ops; len(ops) != 1 || ops[0].Op != file.Open || ops[0].Count != 1 {
		t.Errorf("first report %+v", ops)
	}
	if ops := reports[1].Ops; len(ops) != 1 || ops[0].Op != file.Mkdir || ops[0].Count != 2 {
		t.Errorf("second report %+v", ops)
	}
	if !strings.Contains(r.out.String(), "     nsecs               : count     distribution") {
		t.Errorf("output:\n%s", r.out.String())
	}
}

func TestRedirect(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	var st filetools.RedirectStats
	var actions []filetools.Action
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		var err error
		st, err = filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: from, To: to,
			OnRedirect: func(a *filetools.Action) { actions = append(actions, *a) }})
		return err
	})
	for _, tc := range []struct {
		op   file.Op
		path string
		want string
	}{
		{file.Open, from + "/a.conf", to + "/a.conf"},
		{file.Create, from + "/sub/new", to + "/sub/new"},
		{file.Open, from, to},
		{file.Open, from + "x/a.conf", ""},
		{file.Read, from + "/a.conf", ""},
		{file.Open, "/etc/hosts", ""},
	} {
		if v := r.op(t, file.Event{Op: tc.op, Path: tc.path, PID: 3, UID: 1000, Image: "/bin/cat"}, 0); v.Redirect != tc.want || v.Errno != 0 {
			t.Errorf("%v %s: verdict %+v, want redirect %q", tc.op, tc.path, v, tc.want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// Runs: the opens and create under from (the prefix matches fromx too;
	// the program rejects it).
	if st.Redirects != 3 || st.Runs != 4 || len(actions) != 3 {
		t.Errorf("stats %+v, %d actions", st, len(actions))
	}
	if !strings.Contains(r.out.String(), "redirect       3   1000 open     /bin/cat                 "+from+"/a.conf => "+to+"/a.conf") {
		t.Errorf("output:\n%s", r.out.String())
	}
}

func TestDenyWrite(t *testing.T) {
	dir := t.TempDir()
	var st filetools.DenyStats
	r := start(t, func(ctx context.Context, o filetools.Options) error {
		var err error
		st, err = filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: dir, Errno: syscall.EROFS})
		return err
	})
	for _, tc := range []struct {
		ev    file.Event
		errno int32
	}{
		{file.Event{Op: file.Open, Path: dir + "/f", Flags: syscall.O_RDONLY}, 0},
		{file.Event{Op: file.Open, Path: dir + "/f", Flags: syscall.O_WRONLY}, 30},
		{file.Event{Op: file.Create, Path: dir + "/g", Flags: syscall.O_WRONLY | syscall.O_CREAT}, 30},
		{file.Event{Op: file.Read, Path: dir + "/f"}, 0},
		{file.Event{Op: file.Write, Path: dir + "/f"}, 0}, // not watched: opens for writing are
		{file.Event{Op: file.Unlink, Path: dir + "/f"}, 30},
		{file.Event{Op: file.Rename, Path: "/tmp/elsewhere", Target: dir + "/f"}, 30},
		{file.Event{Op: file.Rename, Path: "/tmp/a", Target: "/tmp/b"}, 0},
		{file.Event{Op: file.Setattr, Path: dir + "/f"}, 30},
		{file.Event{Op: file.Open, Path: dir + "x/f", Flags: syscall.O_RDWR}, 0},
	} {
		tc.ev.PID = 4
		if v := r.op(t, tc.ev, 0); v.Errno != tc.errno {
			t.Errorf("%v %s flags %#o: verdict %+v, want errno %d", tc.ev.Op, tc.ev.Path, tc.ev.Flags, v, tc.errno)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	wantOps := map[file.Op]uint64{file.Open: 1, file.Create: 1, file.Unlink: 1, file.Rename: 1, file.Setattr: 1}
	if st.Denied != 5 || fmt.Sprint(st.PerOp) != fmt.Sprint(wantOps) || st.Runs != 7 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(r.out.String(), "EROFS"); n != 5 {
		t.Errorf("%d refusals printed, want 5:\n%s", n, r.out.String())
	}
}

// notifier is a source that cannot refuse or redirect.
type notifier struct{ *simulated.Source }

func (n notifier) Caps() file.Caps { return file.Caps{Pre: file.AllOps, Post: file.AllOps} }

func TestNeedsCaps(t *testing.T) {
	ctx := context.Background()
	o := filetools.Options{Source: notifier{simulated.New()}}
	if _, err := filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "cannot refuse") {
		t.Errorf("deny-write on a notifying source: %v", err)
	}
	if _, err := filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: "/a", To: "/b"}); err == nil || !strings.Contains(err.Error(), "cannot redirect") {
		t.Errorf("redirect on a notifying source: %v", err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{func() error {
			_, err := filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: "/a"})
			return err
		}(), "both --from and --to"},
		{func() error {
			_, err := filetools.Redirect(ctx, filetools.RedirectOptions{Options: o, From: "/a", To: "/a/"})
			return err
		}(), "the same path"},
		{func() error {
			_, err := filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: "/" + strings.Repeat("x", 300)})
			return err
		}(), "at most 256"},
		{func() error {
			_, err := filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: "/tmp", Errno: 5000})
			return err
		}(), "1 to 4095"},
		{func() error {
			_, err := filetools.IOLatency(ctx, filetools.LatencyOptions{Options: o, Unit: "hours"})
			return err
		}(), "unknown unit"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", tc.err, tc.want)
		}
	}
}

// TestReplay runs the monitor on the simulated source's replay of JSON
// lines, as `--source simulated --events FILE` does; the tool returns when
// the events end.
func TestReplay(t *testing.T) {
	events := `{"op":"open","id":1,"path":"/srv/a","pid":5,"image":"/bin/cat"}
{"op":"open","post":true,"id":1,"path":"/srv/a","pid":5,"image":"/bin/cat"}
{"op":"read","post":true,"id":2,"path":"/srv/a","pid":5,"image":"/bin/cat","length":4096,"result":12}
`
	var out bytes.Buffer
	st, err := filetools.MonitorFiles(context.Background(), filetools.MonitorOptions{JSON: true,
		Options: filetools.Options{SourceName: "simulated", Replay: strings.NewReader(events), Out: &out, Log: os.Stderr}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 2 || strings.Count(out.String(), "\n") != 2 || !strings.Contains(out.String(), `"op":"read"`) {
		t.Errorf("stats %+v, output:\n%s", st, out.String())
	}
}
