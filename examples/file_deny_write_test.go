package examples_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	source "github.com/ebpfhost/ebpfhost/internal/source/file"
)

// denyRule is struct deny_rule of file_deny_write.c.
func denyRule(prefix string, errno int32) []byte {
	v := make([]byte, 16+256)
	binary.LittleEndian.PutUint32(v[0:], uint32(len(prefix)))
	binary.LittleEndian.PutUint32(v[4:], uint32(errno))
	copy(v[16:], prefix)
	return v
}

const (
	eACCES = 13
	eROFS  = 30
)

func TestFileDenyWrite(t *testing.T) {
	type tc struct {
		ev    source.Event
		errno int32
		runs  bool // the program runs (its section names the operation)
	}
	ev := func(op source.Op, path string, flags uint32) source.Event {
		return source.Event{Op: op, Path: path, Flags: flags, PID: 9}
	}
	rename := func(op source.Op, from, to string) source.Event {
		return source.Event{Op: op, Path: from, Target: to, PID: 9}
	}
	cases := []tc{
		{ev(source.Open, "/protected/f", oRDONLY), 0, true},
		{ev(source.Open, "/protected/f", oWRONLY), eACCES, true},
		{ev(source.Open, "/protected/f", oRDWR), eACCES, true},
		{ev(source.Open, "/protected/f", oRDONLY|oTRUNC), eACCES, true},
		{ev(source.Open, "/protected/f", oWRONLY|oAPPEND), eACCES, true},
		{ev(source.Open, "/protected/f", oRDONLY|oAPPEND), eACCES, true},
		{ev(source.Open, "/protected/f", oRDONLY|oCREAT), eACCES, true},
		{ev(source.Open, "/protected", oWRONLY), 0, true}, // the prefix is "/protected/"
		{ev(source.Open, "/protectedx/f", oWRONLY), 0, true},
		{ev(source.Open, "/tmp/f", oRDWR|oCREAT|oTRUNC), 0, true},
		{ev(source.Create, "/protected/new", oWRONLY|oCREAT), eACCES, true},
		{ev(source.Create, "/tmp/new", oWRONLY|oCREAT), 0, true},
		{ev(source.Write, "/protected/f", 0), eACCES, true},
		{ev(source.Write, "/tmp/f", 0), 0, true},
		{ev(source.Read, "/protected/f", 0), 0, false},
		{ev(source.Close, "/protected/f", 0), 0, false},
		{ev(source.Setattr, "/protected/f", 0), eACCES, true},
		{ev(source.Unlink, "/protected/f", 0), eACCES, true},
		{ev(source.Unlink, "/tmp/f", 0), 0, true},
		{ev(source.Mkdir, "/protected/d", 0), eACCES, true},
		{ev(source.Rmdir, "/protected/d", 0), eACCES, true},
		{rename(source.Symlink, "/protected/l", "/tmp/x"), eACCES, true},
		{rename(source.Symlink, "/tmp/l", "/protected/x"), 0, true}, // a link pointing in writes nothing there
		{rename(source.Rename, "/protected/a", "/tmp/b"), eACCES, true},
		{rename(source.Rename, "/tmp/a", "/protected/b"), eACCES, true},
		{rename(source.Rename, "/tmp/a", "/tmp/b"), 0, true},
		{rename(source.Link, "/tmp/a", "/protected/b"), eACCES, true},
		{rename(source.Link, "/protected/a", "/tmp/b"), eACCES, true},
		{rename(source.Link, "/tmp/a", "/tmp/b"), 0, true},
		{ev(source.Write, "/ro/file", 0), eROFS, true},
		{ev(source.Write, "/ro/file2", 0), eROFS, true}, // a plain string prefix
		{ev(source.Open, "/ro/file", oRDONLY), 0, true},
	}
	inFileModes(t, func(t *testing.T, checked bool) {
		h := loadFileExample(t, "file_deny_write", checked, 0)
		h.put(t, "deny_rules", 0, denyRule("/protected/", 0))
		h.put(t, "deny_rules", 2, denyRule("/ro/file", eROFS)) // after an empty slot
		h.attach(t, "deny_write", nil)
		var runs uint64
		perOp := map[source.Op]uint64{}
		hits := [3]uint64{}
		for _, c := range cases {
			v := h.handle(c.ev)
			if v.Errno != c.errno || v.Redirect != "" {
				t.Errorf("%v %s -> %q flags %#o: verdict %+v, want errno %d", c.ev.Op, c.ev.Path, c.ev.Target, c.ev.Flags, v, c.errno)
			}
			// Post events never run a pre program.
			c.ev.Post = true
			h.handle(c.ev)
			if c.runs {
				runs++
			}
			if c.errno != 0 {
				perOp[c.ev.Op]++
				if c.errno == eROFS {
					hits[2]++
				} else {
					hits[0]++
				}
			}
		}
		st := h.x.Stats()
		if st.Invocations != runs || st.Denials != hits[0]+hits[2] {
			t.Errorf("hook stats %+v, want %d runs and %d denials", st, runs, hits[0]+hits[2])
		}
		for op := source.Op(0); op <= source.MaxOp; op++ {
			if n := h.u64(t, "deny_counts", uint32(op)); n != perOp[op] {
				t.Errorf("deny_counts[%v] = %d, want %d", op, n, perOp[op])
			}
		}
		for r := uint32(0); r < 3; r++ {
			if n := binary.LittleEndian.Uint64(h.get(t, "deny_rules", r)[8:]); n != hits[r] {
				t.Errorf("rule %d: %d hits, want %d", r, n, hits[r])
			}
		}
	})
}

// TestFileDenyWriteOnlyWrites attaches the program only to writes under a
// prefix: it never runs for any other event, and refuses only those
// writes.
func TestFileDenyWriteOnlyWrites(t *testing.T) {
	inFileModes(t, func(t *testing.T, checked bool) {
		h := loadFileExample(t, "file_deny_write", checked, 0)
		h.put(t, "deny_rules", 0, denyRule("/", 0)) // the program would refuse everything
		h.attach(t, "deny_write", &fileext.AttachOptions{Ops: source.OpSet(0).With(source.Write), Prefix: "/data/"})
		want := uint64(0)
		for op := source.Open; op <= source.MaxOp; op++ {
			for _, path := range []string{"/data/x", "/data/sub/y", "/database", "/tmp/x"} {
				for _, flags := range []uint32{oRDONLY, oWRONLY | oCREAT | oTRUNC} {
					ev := source.Event{Op: op, Path: path, Target: "/data/z", Flags: flags, PID: 3}
					deny := op == source.Write && strings.HasPrefix(path, "/data/")
					if v := h.handle(ev); (v.Errno != 0) != deny {
						t.Errorf("%v %s flags %#o: verdict %+v, want denied %v", op, path, flags, v, deny)
					}
					if deny {
						want++
					}
				}
			}
		}
		if st := h.x.Stats(); st.Invocations != want || st.Denials != want || want != 4 {
			t.Errorf("hook stats %+v, want %d runs and denials (4 writes under /data/)", st, want)
		}
		if n := binary.LittleEndian.Uint64(h.get(t, "deny_rules", 0)[8:]); n != want {
			t.Errorf("%d hits, want %d", n, want)
		}
		if n := h.u64(t, "deny_counts", uint32(source.Write)); n != want {
			t.Errorf("%s denials %d, want %d", fmt.Sprint(source.Write), n, want)
		}
	})
}
