package examples_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	source "github.com/ebpfhost/ebpfhost/internal/source/file"
)

// accessRecord is file_access.c's struct file_event, decoded.
type accessRecord struct {
	Time, ID            uint64
	Result, Offset      int64
	Length, Inode       uint64
	Op, PID, TID, UID   uint32
	Flags, Mode         uint32
	Image, Path, Target string
	Truncated           bool
}

const accessHeader = 88

func decodeAccess(t *testing.T, b []byte) accessRecord {
	t.Helper()
	if len(b) < accessHeader {
		t.Fatalf("record of %d bytes, shorter than its header", len(b))
	}
	le := binary.LittleEndian
	il, pl, tl := int(le.Uint32(b[72:])), int(le.Uint32(b[76:])), int(le.Uint32(b[80:]))
	if accessHeader+il+pl+tl != len(b) {
		t.Fatalf("record of %d bytes, header says %d+%d+%d+%d", len(b), accessHeader, il, pl, tl)
	}
	text := b[accessHeader:]
	return accessRecord{
		Time: le.Uint64(b[0:]), ID: le.Uint64(b[8:]), Result: int64(le.Uint64(b[16:])), Offset: int64(le.Uint64(b[24:])),
		Length: le.Uint64(b[32:]), Inode: le.Uint64(b[40:]), Op: le.Uint32(b[48:]), PID: le.Uint32(b[52:]),
		TID: le.Uint32(b[56:]), UID: le.Uint32(b[60:]), Flags: le.Uint32(b[64:]), Mode: le.Uint32(b[68:]),
		Image: string(text[:il]), Path: string(text[il : il+pl]), Target: string(text[il+pl:]),
		Truncated: le.Uint32(b[84:]) != 0,
	}
}

// accessConfig is struct access_config.
func accessConfig(exe string, exact, withImage bool) []byte {
	v := make([]byte, 16+256)
	le := binary.LittleEndian
	le.PutUint32(v[0:], uint32(len(exe)))
	if exact {
		le.PutUint32(v[4:], 1)
	}
	if withImage {
		le.PutUint32(v[8:], 1)
	}
	copy(v[16:], exe)
	return v
}

// Counters of file_access.c.
const (
	statRuns = iota
	statRecords
	statLost
	statFiltered
)

func TestFileAccess(t *testing.T) {
	inFileModes(t, func(t *testing.T, checked bool) {
		h := loadFileExample(t, "file_access", checked, 0)
		h.put(t, "access_config", 0, accessConfig("", false, true))
		rd := h.ringReader(t, "file_events")
		h.attach(t, "file_access", nil)

		long := "/" + strings.Repeat("d/", 2047) + "x" // 4096 bytes, the most a path has
		events := []source.Event{
			{Op: source.Open, Post: true, ID: 1, Time: 1000, Path: "/etc/hosts", Flags: oRDONLY, PID: 42, TID: 43, UID: 1000, Ino: 77, Image: "/usr/bin/cat"},
			{Op: source.Read, Post: true, ID: 2, Time: 2000, Path: "/etc/hosts", PID: 42, UID: 1000, Offset: 4096, Length: 65536, Result: 17, Image: "/usr/bin/cat"},
			{Op: source.Write, Post: true, ID: 3, Time: 3000, Path: "/tmp/out", PID: 42, UID: 1000, Length: 10, Result: -28, Image: "/usr/bin/cat"},
			{Op: source.Rename, Post: true, ID: 4, Time: 4000, Path: "/tmp/a", Target: "/tmp/b", PID: 7, UID: 0, Image: "/usr/bin/mv"},
			{Op: source.Link, Post: true, ID: 5, Time: 5000, Path: long, Target: long, PID: 7, Image: "/usr/bin/ln"},
			{Op: source.Create, Post: true, ID: 6, Time: 6000, Path: "/tmp/new", Flags: oWRONLY | oCREAT, Mode: 0o100644, PID: 8},
		}
		for _, ev := range events {
			h.handle(ev)
		}
		// A pre event runs nothing: the program is a post program.
		h.handle(source.Event{Op: source.Open, ID: 9, Path: "/etc/passwd", PID: 42, Image: "/usr/bin/cat"})

		for i, ev := range events {
			r := decodeAccess(t, next(t, rd))
			want := accessRecord{Time: ev.Time, ID: ev.ID, Result: ev.Result, Offset: ev.Offset, Length: ev.Length,
				Inode: ev.Ino, Op: uint32(ev.Op), PID: ev.PID, TID: ev.PID, UID: ev.UID, Flags: ev.Flags, Mode: ev.Mode,
				Image: ev.Image, Path: ev.Path, Target: ev.Target}
			if ev.TID != 0 {
				want.TID = ev.TID
			}
			if r != want {
				t.Errorf("record %d:\n got %s\nwant %s", i, short(r), short(want))
			}
		}
		noMore(t, rd)
		if runs, recs := h.u64(t, "access_stats", statRuns), h.u64(t, "access_stats", statRecords); runs != 6 || recs != 6 {
			t.Errorf("runs %d, records %d; want 6 and 6", runs, recs)
		}
	})
}

func short(r accessRecord) string {
	if len(r.Path) > 40 {
		r.Path = r.Path[:20] + fmt.Sprintf("...(%d bytes)", len(r.Path))
	}
	if len(r.Target) > 40 {
		r.Target = r.Target[:20] + fmt.Sprintf("...(%d bytes)", len(r.Target))
	}
	return fmt.Sprintf("%+v", r)
}

// TestFileAccessExe checks the executable filter: an exact image, a
// directory of images, and records without the image.
func TestFileAccessExe(t *testing.T) {
	images := []string{"/usr/bin/cat", "/usr/bin/catalog", "/bin/ls", ""}
	for _, tc := range []struct {
		exe       string
		exact     bool
		withImage bool
		want      []string // images recorded
	}{
		{"/usr/bin/cat", true, true, []string{"/usr/bin/cat"}},
		{"/usr/bin/", false, true, []string{"/usr/bin/cat", "/usr/bin/catalog"}},
		{"/usr/bin/cat", false, false, []string{"", ""}}, // a prefix: catalog too; images left out
		{"", false, false, []string{"", "", "", ""}},
	} {
		t.Run(fmt.Sprintf("%s,exact=%v,image=%v", tc.exe, tc.exact, tc.withImage), func(t *testing.T) {
			inFileModes(t, func(t *testing.T, checked bool) {
				h := loadFileExample(t, "file_access", checked, 0)
				h.put(t, "access_config", 0, accessConfig(tc.exe, tc.exact, tc.withImage))
				rd := h.ringReader(t, "file_events")
				h.attach(t, "file_access", nil)
				for i, img := range images {
					// PID 0 and no image: the extension has no image to give.
					h.handle(source.Event{Op: source.Open, Post: true, ID: uint64(i), Path: "/etc/hosts", Image: img})
				}
				for i, want := range tc.want {
					if r := decodeAccess(t, next(t, rd)); r.Image != want || r.Path != "/etc/hosts" {
						t.Errorf("record %d: image %q path %q, want image %q", i, r.Image, r.Path, want)
					}
				}
				noMore(t, rd)
				if f := h.u64(t, "access_stats", statFiltered); f != uint64(len(images)-len(tc.want)) {
					t.Errorf("%d filtered, want %d", f, len(images)-len(tc.want))
				}
			})
		})
	}
}

// TestFileAccessAttachFilter attaches the monitor only to writes under a
// prefix and checks that it never runs for anything else: the attach
// options are checked before any program runs.
func TestFileAccessAttachFilter(t *testing.T) {
	inFileModes(t, func(t *testing.T, checked bool) {
		h := loadFileExample(t, "file_access", checked, 0)
		rd := h.ringReader(t, "file_events")
		h.attach(t, "file_access", &fileext.AttachOptions{Ops: source.OpSet(0).With(source.Write), Prefix: "/data/"})
		writes := 0
		for op := source.Open; op <= source.MaxOp; op++ {
			for _, path := range []string{"/data/x", "/data/sub/y", "/datax/z", "/other", "/data"} {
				for _, post := range []bool{false, true} {
					h.handle(source.Event{Op: op, Post: post, Path: path, Target: "/data/t", PID: 1})
					if op == source.Write && post && strings.HasPrefix(path, "/data/") {
						writes++
					}
				}
			}
		}
		for i := 0; i < writes; i++ {
			if r := decodeAccess(t, next(t, rd)); r.Op != uint32(source.Write) || !strings.HasPrefix(r.Path, "/data/") {
				t.Errorf("record %d: %s", i, short(r))
			}
		}
		noMore(t, rd)
		if runs := h.u64(t, "access_stats", statRuns); runs != 2 || writes != 2 {
			t.Errorf("the program ran %d times for %d writes under /data/, want 2", runs, writes)
		}
		if st := h.x.Stats(); st.Invocations != 2 {
			t.Errorf("hook stats %+v, want 2 invocations", st)
		}
	})
}
