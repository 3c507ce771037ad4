package fanotify

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// record builds one event as the kernel lays it out.
func record(mask uint64, pid int32, infos ...[]byte) []byte {
	var body []byte
	for _, in := range infos {
		body = append(body, in...)
	}
	b := make([]byte, fanotifyx.MetadataLen)
	binary.NativeEndian.PutUint32(b[0:], uint32(fanotifyx.MetadataLen+len(body)))
	b[4] = fanotifyx.MetadataVersion
	binary.NativeEndian.PutUint16(b[6:], fanotifyx.MetadataLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], ^uint32(0)) // FAN_NOFD
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return append(b, body...)
}

// info builds a fid record, with a name for the DFID_NAME kinds, padded
// to 4 bytes as the kernel does.
func info(typ byte, fsid byte, handle []byte, name string) []byte {
	b := make([]byte, infoFidLen+handleHdrLen)
	b[0] = typ
	b[4] = fsid
	binary.NativeEndian.PutUint32(b[12:], uint32(len(handle)))
	binary.NativeEndian.PutUint32(b[16:], 1)
	b = append(b, handle...)
	if typ != infoFID && typ != infoDFID {
		b = append(append(b, name...), 0)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.NativeEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

func TestParseEvents(t *testing.T) {
	buf := append(
		record(fanCreate|fanModify, 42, info(infoDFIDName, 7, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "file"), info(infoFID, 7, []byte{9, 9, 9, 9}, "")),
		record(fanRename, 43, info(infoOldDFIDName, 7, []byte{1}, "a"), info(infoNewDFIDName, 7, []byte{2}, "bee"), info(99, 0, nil, ""))...)
	var got []rawEvent
	err := parseEvents(buf, func(ev *rawEvent) {
		c := *ev
		c.Dir.Handle = bytes.Clone(c.Dir.Handle)
		got = append(got, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	a, b := got[0], got[1]
	if a.Mask != fanCreate|fanModify || a.PID != 42 || a.FD != -1 || !a.HasDir || a.Name != "file" ||
		!bytes.Equal(a.Dir.Handle, []byte{1, 2, 3, 4, 5, 6, 7, 8}) || a.Dir.FSID[0] != 7 || a.Dir.HandleType != 1 ||
		!a.HasObj || !bytes.Equal(a.Obj.Handle, []byte{9, 9, 9, 9}) {
		t.Errorf("first event %+v", a)
	}
	if !b.HasOld || !b.HasNew || b.OldName != "a" || b.NewName != "bee" || b.HasDir {
		t.Errorf("rename event %+v", b)
	}
	if a.Dir.key() == b.OldDir.key() {
		t.Error("different handles, same key")
	}
}

func TestParseEventsBad(t *testing.T) {
	good := record(fanCreate, 1, info(infoDFIDName, 7, []byte{1}, "x"))
	for name, b := range map[string][]byte{
		"short":          good[:10],
		"version":        func() []byte { c := bytes.Clone(good); c[4] = 2; return c }(),
		"event too long": func() []byte { c := bytes.Clone(good); binary.NativeEndian.PutUint32(c, 1000); return c }(),
		"info too long": func() []byte {
			c := bytes.Clone(good)
			binary.NativeEndian.PutUint16(c[fanotifyx.MetadataLen+2:], 500)
			return c
		}(),
		"handle too long": func() []byte {
			c := bytes.Clone(good)
			binary.NativeEndian.PutUint32(c[fanotifyx.MetadataLen+12:], 500)
			return c
		}(),
	} {
		if err := parseEvents(b, func(*rawEvent) {}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSteps(t *testing.T) {
	for _, tc := range []struct {
		mask uint64
		want []file.Op
	}{
		{fanCreate | fanModify | fanCloseWrite | fanOpen, []file.Op{file.Create, file.Open, file.Write, file.Close}},
		{fanCreate | fanDelete | fanOnDir, []file.Op{file.Mkdir, file.Rmdir}},
		{fanDelete | fanMovedTo, []file.Op{file.Rename, file.Unlink}},
		{fanOpen | fanCloseNoWrite | fanOnDir, nil}, // listing a directory
		{fanRename | fanOnDir, []file.Op{file.Rename}},
		{fanAttrib, []file.Op{file.Setattr}},
	} {
		var got []file.Op
		for _, s := range steps(tc.mask) {
			got = append(got, stepOp(s, tc.mask&fanOnDir != 0))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("mask %#x: %v, want %v", tc.mask, got, tc.want)
		}
	}
}

func TestMasks(t *testing.T) {
	post := file.OpSet(0).With(file.Mkdir).With(file.Write)
	if m := notifyMask(post, true); m != fanCreate|fanModify|fanOnDir {
		t.Errorf("notifyMask = %#x", m)
	}
	if m := notifyMask(file.OpSet(0).With(file.Rename), false); m != fanMovedFrom|fanMovedTo|fanOnDir {
		t.Errorf("notifyMask without FAN_RENAME = %#x", m)
	}
	if m := notifyMask(postOps, true); m&(fanMovedFrom|fanMovedTo) != 0 || m&fanRename == 0 {
		t.Errorf("notifyMask(all) = %#x", m)
	}
	if m := permMask(file.OpSet(0).With(file.Open)); m != fanOpenPerm {
		t.Errorf("permMask = %#x", m)
	}
	if m := notifyMountMask(fanCreate | fanModify | fanRename); m != fanModify {
		t.Errorf("notifyMountMask = %#x", m)
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/x", "/", true}, {"rel", "/", false},
	} {
		if got := under(tc.p, tc.dir); got != tc.want {
			t.Errorf("under(%q, %q) = %v", tc.p, tc.dir, got)
		}
	}
	if !underAny("anything", nil) {
		t.Error("no paths should mean everywhere")
	}
	got, err := cleanPaths([]string{"/nonexistent-x/y", "/nonexistent-x", "/nonexistent-x-z/../nonexistent-w"})
	if err != nil || !slices.Equal(got, []string{"/nonexistent-w", "/nonexistent-x"}) {
		t.Errorf("cleanPaths = %q, %v", got, err)
	}
}

func TestParseProc(t *testing.T) {
	if pos, ok := parseFdinfoPos([]byte("pos:\t4096\nflags:\t02\n")); !ok || pos != 4096 {
		t.Errorf("parseFdinfoPos = %d, %v", pos, ok)
	}
}

func TestProto(t *testing.T) {
	ev := file.Event{Op: file.Read, Time: 5, PID: 6, TID: 7, UID: 8, GID: 9, Flags: 10, Mode: 11, Ino: 12, Dev: 13, Offset: -1, Length: 15, Path: "/p"}
	var got file.Event
	id, err := decodeEvent(encodeEvent(99, &ev), &got)
	if err != nil || id != 99 || got != ev {
		t.Errorf("decodeEvent = %d %+v %v", id, got, err)
	}
	id, errno, err := fanotifyx.DecodeVerdict(fanotifyx.EncodeVerdict(3, 5))
	if err != nil || id != 3 || errno != 5 {
		t.Errorf("decodeVerdict = %d %d %v", id, errno, err)
	}
}
