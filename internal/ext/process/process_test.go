package process_test

import (
	"encoding/binary"
	"fmt"
	"os/user"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/process"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	source "github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/isa"
)

// host is a runtime with the process extension, in checked mode so that
// any access outside what the hook granted stops the program.
func host(t *testing.T, opts core.Options) (*core.Runtime, *process.Extension) {
	t.Helper()
	opts.Checked = true
	rt, err := core.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	x := process.New()
	if err := rt.RegisterExtension(x.Core()); err != nil {
		t.Fatal(err)
	}
	return rt, x
}

// loadAsm loads an assembly program of section "process" whose lddw
// map_idx:N operands are the given maps.
func loadAsm(t *testing.T, rt *core.Runtime, src string, specs ...maps.Spec) *core.Collection {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	cs := &loader.CollectionSpec{File: "test", Maps: map[string]*loader.MapSpec{}, Programs: map[string]*loader.ProgramSpec{}}
	var refs []string
	for i, s := range specs {
		name := fmt.Sprintf("m%d", i)
		cs.Maps[name] = &loader.MapSpec{Spec: s, Section: ".maps"}
		refs = append(refs, name)
	}
	cs.Programs["prog"] = &loader.ProgramSpec{Name: "prog", Section: "process", License: "MIT", Instructions: insns, MapRefs: refs}
	c, err := rt.LoadCollection(cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func attach(t *testing.T, p *core.Program) *core.Link {
	t.Helper()
	l, err := p.Attach("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ctxWords copies process_md_t from offset 16 (every field but the two
// command pointers, which a program may not store into a map) into slot 0
// of a 128-byte array.
func ctxWords() (string, maps.Spec) {
	var b strings.Builder
	b.WriteString("mov %r6, %r1\nmov %r1, 0\nstxw [%r10-4], %r1\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map_idx:0\ncall 1\njeq %r0, 0, +32\n")
	for off := 16; off < process.ContextSize; off += 8 {
		fmt.Fprintf(&b, "ldxdw %%r1, [%%r6+%d]\nstxdw [%%r0+%d], %%r1\n", off, off-16)
	}
	b.WriteString("mov %r0, 0\nexit\n")
	return b.String(), maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: process.ContextSize - 16, MaxEntries: 1}
}

func TestContextLayout(t *testing.T) {
	rt, x := host(t, core.Options{})
	src, spec := ctxWords()
	c := loadAsm(t, rt, src, spec)
	attach(t, c.Programs["prog"])
	m := c.Maps["m0"]

	created := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	exited := created.Add(1500 * time.Millisecond)
	for _, ev := range []*source.Event{
		{Op: source.Create, PID: 4242, PPID: 1, CreatorPID: 1, CreatorTID: 7, UID: 1000, Image: "/usr/bin/true", Argv: []string{"true", "x"}, Created: created},
		{Op: source.Exit, PID: 4242, PPID: 1, CreatorPID: 1, CreatorTID: 7, UID: 1000, Image: "/usr/bin/true", Created: created, Exited: exited, ExitCode: 45},
	} {
		if v := x.Handle(ev); v != source.Allow {
			t.Fatalf("%s: verdict %+v, want allow", ev.Op, v)
		}
		got := make([]byte, process.ContextSize-16)
		if err := m.Lookup([]byte{0, 0, 0, 0}, got); err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		at := func(off int) []byte { return got[off-16:] }
		want := map[string][2]uint64{
			"process_id":          {le.Uint64(at(16)), 4242},
			"parent_process_id":   {le.Uint64(at(24)), 1},
			"creating_process_id": {le.Uint64(at(32)), 1},
			"creating_thread_id":  {le.Uint64(at(40)), 7},
			"creation_time":       {le.Uint64(at(48)), process.FileTime(created)},
			"operation":           {uint64(at(68)[0]), uint64(ev.Op)},
			"token_sid_size":      {uint64(le.Uint32(at(72))), 16},
		}
		if ev.Op == source.Exit {
			want["exit_time"] = [2]uint64{le.Uint64(at(56)), process.FileTime(exited)}
			want["process_exit_code"] = [2]uint64{uint64(le.Uint32(at(64))), 45}
		} else {
			want["exit_time"] = [2]uint64{le.Uint64(at(56)), 0}
		}
		for f, v := range want {
			if v[0] != v[1] {
				t.Errorf("%s: %s = %d, want %d", ev.Op, f, v[0], v[1])
			}
		}
		if sid := at(76)[:16]; string(sid) != string(process.UnixSID(1000)) {
			t.Errorf("%s: token_sid % x, want S-1-22-1-1000", ev.Op, sid)
		}
	}
	// FILETIME of the Unix epoch is 116444736000000000.
	if ft := process.FileTime(time.Unix(0, 0)); ft != 116444736000000000 {
		t.Errorf("FileTime(1970) = %d", ft)
	}
}

// TestCommandLine checks the data range: the arguments joined by single
// spaces, readable up to command_end, in checked mode.
func TestCommandLine(t *testing.T) {
	rt, x := host(t, core.Options{})
	// Copy up to 64 bytes of the command line into the map value, after
	// its length; the loop reads byte by byte with a data/end check.
	src := `
		mov %r6, %r1
		mov %r1, 0
		stxw [%r10-4], %r1
		mov %r2, %r10
		add %r2, -4
		lddw %r1, map_idx:0
		call 1
		jeq %r0, 0, out
		ldxdw %r2, [%r6+0]
		ldxdw %r3, [%r6+8]
		mov %r4, %r3
		sub %r4, %r2
		stxdw [%r0+0], %r4
		mov %r5, 0
	loop:
		mov %r1, %r2
		add %r1, 1
		jgt %r1, %r3, out
		ldxb %r1, [%r2+0]
		mov %r7, %r0
		add %r7, %r5
		stxb [%r7+8], %r1
		add %r2, 1
		add %r5, 1
		jlt %r5, 64, loop
	out:
		mov %r0, 0
		exit`
	c := loadAsm(t, rt, src, maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 72, MaxEntries: 1})
	attach(t, c.Programs["prog"])
	long := strings.Repeat("a", 5001)
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"ls", "-l", "/tmp"}, "ls -l /tmp"},
		{nil, ""},
		{[]string{"echo", long}, "echo " + long},
	} {
		x.Handle(&source.Event{Op: source.Create, PID: 1, Argv: tc.argv})
		got := make([]byte, 72)
		if err := c.Maps["m0"].Lookup([]byte{0, 0, 0, 0}, got); err != nil {
			t.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(got)
		if n != uint64(len(tc.want)) {
			t.Errorf("argv %q: command_end - command_start = %d, want %d", tc.argv, n, len(tc.want))
		}
		w := tc.want
		if len(w) > 64 {
			w = w[:64]
		}
		if string(got[8:8+len(w)]) != w {
			t.Errorf("argv %q: command line starts %q, want %q", tc.argv, got[8:8+len(w)], w)
		}
	}
	if st := x.Stats(); st.Failures != 0 {
		t.Fatalf("%d runs failed", st.Failures)
	}
}

// TestHookSemantics: programs run in attach order, the first denial on a
// create wins and stops the walk, a failing program counts as allowing,
// and on an exit every program runs and results are ignored.
func TestHookSemantics(t *testing.T) {
	rt, x := host(t, core.Options{Budget: 1000})
	counter := maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 8}
	// Each program adds 1 to slot k of a shared counter map, then returns r.
	prog := func(k int, ret int) string {
		return fmt.Sprintf(`
			mov %%r1, %d
			stxw [%%r10-4], %%r1
			mov %%r2, %%r10
			add %%r2, -4
			lddw %%r1, map_idx:0
			call 1
			jeq %%r0, 0, +2
			mov %%r1, 1
			lock add [%%r0+0], %%r1
			mov %%r0, %d
			exit`, k, ret)
	}
	c0 := loadAsm(t, rt, prog(0, 0), counter)
	m := c0.Maps["m0"]
	// The other programs share c0's map through pinning-free reuse: load
	// each with its own map and read them all.
	c1 := loadAsm(t, rt, prog(1, -int(syscall.EBUSY)), counter)
	c2 := loadAsm(t, rt, prog(2, -int(syscall.EACCES)), counter)
	// A program that runs out of the instruction budget fails.
	fail := loadAsm(t, rt, "mov %r1, 0\nloop:\nadd %r1, 1\njlt %r1, 500, loop\nmov %r0, -1\nexit")
	var errs []error
	x.OnError = func(_ *core.Link, err error) { errs = append(errs, err) }

	count := func(c *core.Collection, k uint32) uint64 {
		v := make([]byte, 8)
		if err := c.Maps["m0"].Lookup(binary.LittleEndian.AppendUint32(nil, k), v); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(v)
	}
	_ = m
	attach(t, fail.Programs["prog"])
	attach(t, c0.Programs["prog"])
	attach(t, c1.Programs["prog"])
	attach(t, c2.Programs["prog"])

	v := x.Handle(&source.Event{Op: source.Create, PID: 10, Image: "/bin/x"})
	if v.Errno != int32(syscall.EBUSY) {
		t.Fatalf("create: verdict %+v, want EBUSY (the first denial)", v)
	}
	if count(c0, 0) != 1 || count(c1, 1) != 1 || count(c2, 2) != 0 {
		t.Fatalf("create: runs %d %d %d, want 1 1 0 (the walk stops at the first denial)", count(c0, 0), count(c1, 1), count(c2, 2))
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "budget") {
		t.Fatalf("the failing program: errors %v, want one budget error", errs)
	}

	v = x.Handle(&source.Event{Op: source.Exit, PID: 10, Image: "/bin/x"})
	if v != source.Allow {
		t.Fatalf("exit: verdict %+v, want allow", v)
	}
	if count(c0, 0) != 2 || count(c1, 1) != 2 || count(c2, 2) != 1 {
		t.Fatalf("exit: runs %d %d %d, want 2 2 1 (every program runs)", count(c0, 0), count(c1, 1), count(c2, 2))
	}
	st := x.Stats()
	if st.Denials != 1 || st.Failures != 2 || st.Invocations != 7 {
		t.Fatalf("stats %+v, want 1 denial, 2 failures, 7 invocations", st)
	}
}

func neg(n int64) uint64 { return uint64(-n) }

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		r0   uint64
		want int32
	}{
		{0, 0},
		{1, 0},
		{0x7fffffff, 0},
		{uint64(^uint64(0)), 1}, // -1
		{neg(13), 13},
		{neg(4095), 4095},                  // the largest errno
		{neg(4096), int32(syscall.EPERM)},  // not an errno
		{0xC0000022, int32(syscall.EPERM)}, // STATUS_ACCESS_DENIED as an int
		{0xffffffff00000000, 0},            // only the low 32 bits count
		{0x00000000fffffff3, 13},
	} {
		if got := process.Errno(tc.r0); got != tc.want {
			t.Errorf("Errno(%#x) = %d, want %d", tc.r0, got, tc.want)
		}
	}
}

// TestHelpers runs each helper through the hook and through test-run.
func TestHelpers(t *testing.T) {
	rt, x := host(t, core.Options{})
	prog := func(helper, size int) string {
		var b strings.Builder
		b.WriteString("mov %r6, %r1\n")
		for off := -64; off < 0; off += 8 {
			fmt.Fprintf(&b, "stdw [%%r10%d], 0\n", off)
		}
		fmt.Fprintf(&b, "mov %%r1, %%r6\nmov %%r2, %%r10\nadd %%r2, -64\nmov %%r3, %d\ncall %d\nmov %%r7, %%r0\n", size, helper)
		b.WriteString("mov %r1, 0\nstxw [%r10-68], %r1\nmov %r2, %r10\nadd %r2, -68\nlddw %r1, map_idx:0\ncall 1\njeq %r0, 0, +17\nstxdw [%r0+0], %r7\n")
		for off := -64; off < 0; off += 8 {
			fmt.Fprintf(&b, "ldxdw %%r1, [%%r10%d]\nstxdw [%%r0+%d], %%r1\n", off, off+72)
		}
		b.WriteString("mov %r0, 0\nexit\n")
		return b.String()
	}
	root := "root"
	if u, err := user.LookupId("0"); err == nil {
		root = u.Username
	}
	for _, tc := range []struct {
		name   string
		helper int
		size   int
		ev     source.Event
		ret    int64
		want   string
	}{
		{"image path", process.HelperGetImagePath, 64, source.Event{Image: "/usr/bin/true"}, 13, "/usr/bin/true"},
		{"image path, buffer too small", process.HelperGetImagePath, 4, source.Event{Image: "/usr/bin/true"}, -int64(syscall.EINVAL), ""},
		{"account name", process.HelperGetAccountName, 64, source.Event{UID: 0}, int64(len(root)), root},
		{"account name, unknown user", process.HelperGetAccountName, 64, source.Event{UID: 0x7ffffff0}, -int64(syscall.ENOENT), ""},
		{"account domain", process.HelperGetAccountDomain, 64, source.Event{UID: 0}, 9, "Unix User"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadAsm(t, rt, prog(tc.helper, tc.size), maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 72, MaxEntries: 1})
			l := attach(t, c.Programs["prog"])
			defer l.Close()
			ev := tc.ev
			ev.Op, ev.PID = source.Create, 5
			x.Handle(&ev)
			got := make([]byte, 72)
			if err := c.Maps["m0"].Lookup([]byte{0, 0, 0, 0}, got); err != nil {
				t.Fatal(err)
			}
			if r := int64(binary.LittleEndian.Uint64(got)); r != tc.ret {
				t.Errorf("returned %d, want %d", r, tc.ret)
			}
			if s := strings.TrimRight(string(got[8:]), "\x00"); s != tc.want {
				t.Errorf("wrote %q, want %q", s, tc.want)
			}
			l.Close()
		})
	}
	if st := x.Stats(); st.Failures != 0 {
		t.Fatalf("%d runs failed", st.Failures)
	}
}

// TestTestRun: ctx_in gives the fields, data_in the command line.
func TestTestRun(t *testing.T) {
	rt, _ := host(t, core.Options{})
	// Return command_end - command_start + process_id.
	c := loadAsm(t, rt, "ldxdw %r2, [%r1+0]\nldxdw %r3, [%r1+8]\nldxdw %r0, [%r1+16]\nsub %r3, %r2\nadd %r0, %r3\nexit")
	ctx := make([]byte, process.ContextSize)
	binary.LittleEndian.PutUint64(ctx[16:], 1000)
	res, err := c.Programs["prog"].TestRun(&core.TestRunOptions{Context: ctx, Data: []byte("sleep 1")})
	if err != nil {
		t.Fatal(err)
	}
	if res.R0 != 1007 {
		t.Fatalf("returned %d, want 1007", res.R0)
	}
	binary.LittleEndian.PutUint64(ctx[0:], 1)
	if _, err := c.Programs["prog"].TestRun(&core.TestRunOptions{Context: ctx}); err == nil || !strings.Contains(err.Error(), "command_start") {
		t.Fatalf("ctx_in with a command pointer: %v", err)
	}
}
