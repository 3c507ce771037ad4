package file_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	source "github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/isa"
)

func host(t *testing.T) (*core.Runtime, *file.Extension) {
	t.Helper()
	rt, err := core.New(core.Options{Checked: true, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	x := file.New()
	if err := rt.RegisterExtension(x.Core()); err != nil {
		t.Fatal(err)
	}
	return rt, x
}

func loadAsm(t *testing.T, rt *core.Runtime, section, src string, specs ...maps.Spec) *core.Collection {
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
	cs.Programs["prog"] = &loader.ProgramSpec{Name: "prog", Section: section, License: "MIT", Instructions: insns, MapRefs: refs}
	c, err := rt.LoadCollection(cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func attach(t *testing.T, p *core.Program, opts *file.AttachOptions) *core.Link {
	t.Helper()
	var o any
	if opts != nil {
		o = opts
	}
	l, err := p.Attach("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// counter counts its runs in slot 0 of its map and returns ret.
func counter(ret int) string {
	return fmt.Sprintf(`
		mov %%r1, 0
		stxw [%%r10-4], %%r1
		mov %%r2, %%r10
		add %%r2, -4
		lddw %%r1, map_idx:0
		call 1
		jeq %%r0, 0, +2
		mov %%r1, 1
		lock add [%%r0+0], %%r1
		mov %%r0, %d
		exit`, ret)
}

var counterMap = maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}

func runs(t *testing.T, c *core.Collection) uint64 {
	t.Helper()
	v := make([]byte, 8)
	if err := c.Maps["m0"].Lookup([]byte{0, 0, 0, 0}, v); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(v)
}

// TestFilters: a link runs only for its operations and path prefix; the
// section can name the operations.
func TestFilters(t *testing.T) {
	rt, x := host(t)
	writes := loadAsm(t, rt, "file/pre", counter(0), counterMap)
	attach(t, writes.Programs["prog"], &file.AttachOptions{Ops: source.OpSet(0).With(source.Write), Prefix: "/data/"})
	bySection := loadAsm(t, rt, "file/post/unlink,rename", counter(0), counterMap)
	attach(t, bySection.Programs["prog"], nil)

	for _, ev := range []source.Event{
		{Op: source.Write, Path: "/data/a"},            // writes: yes
		{Op: source.Write, Path: "/database"},          // not under /data/
		{Op: source.Read, Path: "/data/a"},             // not a write
		{Op: source.Unlink, Path: "/x", Post: true},    // bySection: yes
		{Op: source.Rename, Path: "/y", Post: true},    // bySection: yes
		{Op: source.Unlink, Path: "/x"},                // pre: nobody
		{Op: source.Open, Path: "/data/a", Post: true}, // nobody
	} {
		x.Handle(&ev)
	}
	if n := runs(t, writes); n != 1 {
		t.Errorf("the write program ran %d times, want 1", n)
	}
	if n := runs(t, bySection); n != 2 {
		t.Errorf("the unlink,rename program ran %d times, want 2", n)
	}
	pre, post := x.Interest()
	if pre != source.OpSet(0).With(source.Write) || post != source.OpSet(0).With(source.Unlink).With(source.Rename) {
		t.Errorf("interest pre %b post %b", pre, post)
	}
	if _, err := loadAsm(t, rt, "file/pre/open,frob", counter(0), counterMap).Programs["prog"].Attach("", nil); err == nil ||
		!strings.Contains(err.Error(), `unknown operation "frob"`) {
		t.Errorf("bad section operation: %v", err)
	}
}

// TestDenyAndRedirect: the first denial wins; an allowed open takes the
// first redirect; post programs cannot change anything.
func TestDenyAndRedirect(t *testing.T) {
	rt, x := host(t)
	// Redirect every open to "/new" (the bytes stored on the stack).
	redir := loadAsm(t, rt, "file/pre/open,create", `
		stw [%r10-8], 0x77656e2f
		mov %r2, %r10
		add %r2, -8
		mov %r3, 4
		call 65538
		mov %r0, 0
		exit`)
	attach(t, redir.Programs["prog"], nil)
	deny := loadAsm(t, rt, "file/pre", counter(-int(syscall.EACCES)), counterMap)
	attach(t, deny.Programs["prog"], &file.AttachOptions{Prefix: "/secret/"})

	if v := x.Handle(&source.Event{Op: source.Open, Path: "/etc/passwd"}); v.Redirect != "/new" || v.Errno != 0 {
		t.Errorf("open: %+v, want a redirect to /new", v)
	}
	if v := x.Handle(&source.Event{Op: source.Open, Path: "/secret/key"}); v.Errno != int32(syscall.EACCES) || v.Redirect != "" {
		t.Errorf("open of /secret/key: %+v, want EACCES and no redirect", v)
	}
	if v := x.Handle(&source.Event{Op: source.Write, Path: "/secret/key"}); v.Errno != int32(syscall.EACCES) {
		t.Errorf("write of /secret/key: %+v, want EACCES", v)
	}
	if v := x.Handle(&source.Event{Op: source.Open, Path: "/secret/key", Post: true}); v != source.Allow {
		t.Errorf("post: %+v, want allow", v)
	}
	// bpf_file_redirect refuses anything but a pre open/create.
	bad := loadAsm(t, rt, "file/pre/read", `
		stw [%r10-8], 0x77656e2f
		mov %r2, %r10
		add %r2, -8
		mov %r3, 4
		call 65538
		exit`)
	attach(t, bad.Programs["prog"], nil)
	if v := x.Handle(&source.Event{Op: source.Read, Path: "/r"}); v.Errno != int32(syscall.EINVAL) {
		t.Errorf("redirect of a read: %+v, want the program's -EINVAL as the verdict", v)
	}
	if st := x.Stats(); st.Denials != 3 || st.Redirects != 1 || st.Failures != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestContext checks every field of file_md_t and the helpers.
func TestContext(t *testing.T) {
	rt, x := host(t)
	// Copy the context from offset 16 into a map value, then the target
	// path (helper 65536) after it; r0 of the helper at offset 88+64.
	var b strings.Builder
	b.WriteString("mov %r6, %r1\nmov %r1, 0\nstxw [%r10-4], %r1\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map_idx:0\ncall 1\njeq %r0, 0, out\nmov %r7, %r0\n")
	for off := 16; off < file.ContextSize; off += 8 {
		fmt.Fprintf(&b, "ldxdw %%r1, [%%r6+%d]\nstxdw [%%r7+%d], %%r1\n", off, off-16)
	}
	b.WriteString("ldxdw %r2, [%r6+0]\nldxdw %r3, [%r6+8]\nsub %r3, %r2\nstxdw [%r7+88], %r3\n")
	b.WriteString("mov %r1, %r6\nmov %r2, %r7\nadd %r2, 104\nmov %r3, 32\ncall 65536\nstxdw [%r7+96], %r0\n")
	b.WriteString("out:\nmov %r0, 0\nexit\n")
	c := loadAsm(t, rt, "file/post", b.String(), maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 136, MaxEntries: 1})
	attach(t, c.Programs["prog"], nil)
	ev := source.Event{Op: source.Rename, Post: true, ID: 77, Time: 123456789, Path: "/a/old", Target: "/a/new",
		Flags: 1, Mode: 0o644, PID: 10, TID: 11, UID: 1000, GID: 100, Ino: 5, Dev: 6, Offset: -1, Length: 9, Result: -2}
	x.Handle(&ev)
	got := make([]byte, 136)
	if err := c.Maps["m0"].Lookup([]byte{0, 0, 0, 0}, got); err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	u64 := func(off int) uint64 { return le.Uint64(got[off-16:]) }
	u32 := func(off int) uint64 { return uint64(le.Uint32(got[off-16:])) }
	for _, f := range []struct {
		name      string
		got, want uint64
	}{
		{"correlation_id", u64(16), 77}, {"timestamp_ns", u64(24), 123456789}, {"operation", u32(32), uint64(source.Rename)},
		{"hook", u32(36), 1}, {"flags", u32(40), 1}, {"mode", u32(44), 0o644}, {"pid", u32(48), 10}, {"tid", u32(52), 11},
		{"uid", u32(56), 1000}, {"gid", u32(60), 100}, {"inode", u64(64), 5}, {"device", u64(72), 6},
		{"offset", u64(80), ^uint64(0)}, {"length", u64(88), 9}, {"result", u64(96), uint64(1<<64 - 2)},
		{"path length", le.Uint64(got[88:]), 6}, {"target path helper", le.Uint64(got[96:]), 6},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	if s := string(got[104:110]); s != "/a/new" {
		t.Errorf("target path %q", s)
	}
	if st := x.Stats(); st.Failures != 0 {
		t.Fatalf("%d runs failed", st.Failures)
	}
}

// TestTestRun: ctx_in gives the fields, data_in the path, data_out the
// redirect.
func TestTestRun(t *testing.T) {
	rt, _ := host(t)
	c := loadAsm(t, rt, "file/pre/open", `
		ldxdw %r2, [%r1+0]
		ldxdw %r3, [%r1+8]
		sub %r3, %r2
		ldxw %r0, [%r1+48]
		add %r0, %r3
		stw [%r10-8], 0x77656e2f
		mov %r2, %r10
		add %r2, -8
		mov %r3, 4
		mov %r6, %r0
		call 65538
		mov %r0, %r6
		exit`)
	ctx := make([]byte, file.ContextSize)
	binary.LittleEndian.PutUint32(ctx[32:], uint32(source.Open))
	binary.LittleEndian.PutUint32(ctx[48:], 1000)
	res, err := c.Programs["prog"].TestRun(&core.TestRunOptions{Context: ctx, Data: []byte("/etc/hosts")})
	if err != nil {
		t.Fatal(err)
	}
	if res.R0 != 1010 || string(res.Data) != "/new" {
		t.Fatalf("r0 %d data_out %q, want 1010 and /new", res.R0, res.Data)
	}
}
