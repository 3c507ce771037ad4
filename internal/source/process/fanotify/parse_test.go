package fanotify

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

func TestScriptInterpreter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"#!/bin/sh\nexit 0\n", "/bin/sh", true},
		{"#! /usr/bin/env python3\n", "/usr/bin/env", true},
		{"#!\t/bin/bash -e\n", "/bin/bash", true},
		{"#!/bin/sh", "/bin/sh", true},
		{"#!interp\x00junk\n", "interp", true},
		{"#!\n", "", false},
		{"#!   \n/bin/sh\n", "", false},
		{"#", "", false},
		{"", "", false},
		{"\x7fELF", "", false},
		{"# !/bin/sh\n", "", false},
	} {
		got, ok := scriptInterpreter([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("scriptInterpreter(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// elfImage builds a minimal ELF file with the given program headers' types;
// a PT_INTERP header points at interp.
func elfImage(class64, bigEndian bool, interp string, types ...uint32) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	ehdr, phent := 52, 32
	if class64 {
		ehdr, phent = 64, 56
	}
	phoff := ehdr
	strOff := phoff + phent*len(types)
	b := make([]byte, strOff+len(interp)+1)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 1, 1, 1
	if class64 {
		b[4] = 2
	}
	if bigEndian {
		b[5] = 2
	}
	if class64 {
		bo.PutUint64(b[32:], uint64(phoff))
		bo.PutUint16(b[54:], uint16(phent))
		bo.PutUint16(b[56:], uint16(len(types)))
	} else {
		bo.PutUint32(b[28:], uint32(phoff))
		bo.PutUint16(b[42:], uint16(phent))
		bo.PutUint16(b[44:], uint16(len(types)))
	}
	for i, typ := range types {
		ph := b[phoff+i*phent:]
		bo.PutUint32(ph, typ)
		if typ != ptInterp {
			continue
		}
		if class64 {
			bo.PutUint64(ph[8:], uint64(strOff))
			bo.PutUint64(ph[32:], uint64(len(interp)+1))
		} else {
			bo.PutUint32(ph[4:], uint32(strOff))
			bo.PutUint32(ph[16:], uint32(len(interp)+1))
		}
	}
	copy(b[strOff:], interp)
	return b
}

func readerOf(b []byte) readAtFunc {
	return func(p []byte, off int64) (int, error) {
		if off < 0 || off >= int64(len(b)) {
			return 0, nil
		}
		return copy(p, b[off:]), nil
	}
}

func TestELFInterpreter(t *testing.T) {
	const ld = "/lib64/ld-linux-x86-64.so.2"
	for _, tc := range []struct {
		name string
		img  []byte
		want string
		ok   bool
	}{
		{"64 LE dynamic", elfImage(true, false, ld, 6, ptInterp, 1), ld, true},
		{"32 BE dynamic", elfImage(false, true, "/lib/ld.so.1", ptInterp), "/lib/ld.so.1", true},
		{"64 static", elfImage(true, false, "", 1, 1), "", false},
		{"no phdrs", elfImage(true, false, ""), "", false},
		{"truncated phdrs", elfImage(true, false, ld, 6, ptInterp)[:70], "", false},
		{"truncated interp", elfImage(true, false, ld, ptInterp)[:64+56+4], "", false},
		{"not elf", []byte("hello world, this is not an ELF file at all, nope, no....."), "", false},
		{"first interp wins", func() []byte {
			b := elfImage(true, false, ld, ptInterp, ptInterp)
			return b
		}(), ld, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := interpreter(readerOf(tc.img))
			if got != tc.want || ok != tc.ok {
				t.Errorf("interpreter = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestStatField(t *testing.T) {
	line := []byte("1234 (a) b) (c) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000\n")
	for n, want := range map[int]string{3: "S", 4: "77", 22: "98765", 23: "1000", 24: "", 2: "", 1: ""} {
		if got := statField(line, n); got != want {
			t.Errorf("statField(%d) = %q; want %q", n, got, want)
		}
	}
	if got := statField([]byte("no parens"), 3); got != "" {
		t.Errorf("statField without a command = %q", got)
	}
}

func TestArgvPointer(t *testing.T) {
	args := [6]uint64{1, 0xffffffff00001000, 3, 4, 5, 6}
	for _, tc := range []struct {
		arch    string
		nr      int64
		ptr     uint64
		size    int
		ok      bool
		comment string
	}{
		{"amd64", 59, 0xffffffff00001000, 8, true, "execve"},
		{"amd64", 322, 3, 8, true, "execveat"},
		{"amd64", 11, 0x1000, 4, true, "i386 execve"},
		{"amd64", 221, 0, 0, false, "arm64's number"},
		{"arm64", 221, 0xffffffff00001000, 8, true, "execve"},
		{"arm64", 281, 3, 8, true, "execveat"},
		{"mips", 59, 0, 0, false, "unknown arch"},
	} {
		ptr, size, ok := argvPointer(tc.arch, tc.nr, args)
		if ptr != tc.ptr || size != tc.size || ok != tc.ok {
			t.Errorf("%s %s: argvPointer = %#x, %d, %v; want %#x, %d, %v", tc.arch, tc.comment, ptr, size, ok, tc.ptr, tc.size, tc.ok)
		}
	}
}

// fakeMem is an address space of mapped pages for readArgv.
type fakeMem map[uint64][]byte // page address -> memPage bytes

func (m fakeMem) put(addr uint64, b []byte) {
	for len(b) > 0 {
		base := addr &^ (memPage - 1)
		pg := m[base]
		if pg == nil {
			pg = make([]byte, memPage)
			m[base] = pg
		}
		n := copy(pg[addr-base:], b)
		b, addr = b[n:], addr+uint64(n)
	}
}

func (m fakeMem) readAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		a := uint64(off) + uint64(n)
		pg := m[a&^(memPage-1)]
		if pg == nil {
			break
		}
		n += copy(p[n:], pg[a&(memPage-1):])
	}
	if n == 0 {
		return 0, errFault
	}
	return n, nil
}

// layout writes args as NUL-terminated strings from strAt and their
// pointer array (ptrSize bytes each, null-terminated) at ptrAt.
func (m fakeMem) layout(ptrAt, strAt uint64, ptrSize int, args ...string) {
	for i, a := range args {
		m.put(strAt, append([]byte(a), 0))
		p := make([]byte, 8)
		binary.NativeEndian.PutUint64(p, strAt)
		if ptrSize == 4 {
			binary.NativeEndian.PutUint32(p, uint32(strAt))
		}
		m.put(ptrAt+uint64(i*ptrSize), p[:ptrSize])
		strAt += uint64(len(a) + 1)
	}
	m.put(ptrAt+uint64(len(args)*ptrSize), make([]byte, ptrSize))
}

func TestReadArgv(t *testing.T) {
	long := strings.Repeat("x", 5001)
	huge := strings.Repeat("y", 3*memPage+17)
	for _, tc := range []struct {
		name      string
		mem       func() fakeMem
		ptr       uint64
		ptrSize   int
		limit     int
		want      []string
		truncated bool
		err       bool
	}{
		{"simple", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "/bin/true", "a", "", "b c")
			return m
		}, 0x10000, 8, 1 << 20, []string{"/bin/true", "a", "", "b c"}, false, false},
		{"strings across pages", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10ff8, 0x20ffe, 8, "prog", long, huge, "end")
			return m
		}, 0x10ff8, 8, 1 << 20, []string{"prog", long, huge, "end"}, false, false},
		{"32-bit pointers", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 4, "a", "bb")
			return m
		}, 0x10000, 4, 1 << 20, []string{"a", "bb"}, false, false},
		{"empty argv", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8)
			return m
		}, 0x10000, 8, 1 << 20, []string{}, false, false},
		{"null argv", func() fakeMem { return fakeMem{} }, 0, 8, 1 << 20, []string{}, false, false},
		{"limit cuts an argument", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "abc", "defgh", "ij")
			return m
		}, 0x10000, 8, 7, []string{"abc", "de"}, true, false},
		{"limit at an argument's end", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "abc", "def", "ij")
			return m
		}, 0x10000, 8, 8, []string{"abc", "def"}, true, false},
		{"limit not reached", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "abc", "def")
			return m
		}, 0x10000, 8, 8, []string{"abc", "def"}, false, false},
		{"unmapped string", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "abc")
			binary.NativeEndian.PutUint64(m[0x10000], 0x90000)
			return m
		}, 0x10000, 8, 1 << 20, nil, false, true},
		{"unmapped array", func() fakeMem { return fakeMem{} }, 0x10000, 8, 1 << 20, nil, false, true},
		{"unterminated string at the end of memory", func() fakeMem {
			m := fakeMem{}
			m.layout(0x10000, 0x20000, 8, "abc")
			m.put(0x20000, bytes.Repeat([]byte{'z'}, memPage))
			return m
		}, 0x10000, 8, 1 << 20, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated, err := readArgv(tc.mem().readAt, tc.ptr, tc.ptrSize, tc.limit)
			if (err != nil) != tc.err || truncated != tc.truncated || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("readArgv = %d args %.40q, truncated %v, %v; want %.40q, %v, error %v",
					len(got), got, truncated, err, tc.want, tc.truncated, tc.err)
			}
		})
	}
}

func TestEventRoundTrip(t *testing.T) {
	for _, ev := range []process.Event{
		{Op: process.Create, PID: 1, PPID: 2, UID: 3, CreatorPID: 4, CreatorTID: 5,
			Image: "/bin/true", Argv: []string{"true", "", strings.Repeat("a", 5001)}, Created: time.Unix(5, 6)},
		{Op: process.Create, PID: 7, Image: "", Argv: nil, Created: time.Unix(0, 1)},
		{Op: process.Create, PID: 7, Image: "/x", Argv: []string{}, Created: time.Unix(0, 1)},
	} {
		for _, trunc := range []bool{false, true} {
			b := encodeEvent(42, &ev, trunc)
			id, got, gotTrunc, err := decodeEvent(b)
			if err != nil || id != 42 || gotTrunc != trunc || !reflect.DeepEqual(got, ev) {
				t.Errorf("round trip of %+v: %d %+v %v %v", ev, id, got, gotTrunc, err)
			}
		}
	}
	if _, _, _, err := decodeEvent([]byte{msgEvent, 1, 2}); err == nil {
		t.Error("short event decoded")
	}
	b := encodeEvent(1, &process.Event{Image: "/x", Argv: []string{"a"}}, false)
	if _, _, _, err := decodeEvent(b[:len(b)-1]); err == nil {
		t.Error("event with an unterminated argument decoded")
	}
	var buf bytes.Buffer
	buf.Write(fanotifyx.Frame([]byte("hello")))
	buf.Write(fanotifyx.Frame(fanotifyx.EncodeVerdict(9, 26)))
	r := bufio.NewReader(&buf)
	if m, err := readFrame(r, nil); err != nil || string(m) != "hello" {
		t.Errorf("frame 1: %q %v", m, err)
	}
	m, err := readFrame(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, errno, err := fanotifyx.DecodeVerdict(m); id != 9 || errno != 26 || err != nil {
		t.Errorf("verdict %d %d %v", id, errno, err)
	}
	if _, err := readFrame(r, nil); err == nil {
		t.Error("read past the end")
	}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0x7f})), nil); err == nil {
		t.Error("oversized frame accepted")
	}
}

func metadata(evLen uint32, vers byte, metaLen uint16, mask uint64, fd, pid int32) []byte {
	b := make([]byte, fanotifyx.MetadataLen)
	binary.NativeEndian.PutUint32(b, evLen)
	b[4] = vers
	binary.NativeEndian.PutUint16(b[6:], metaLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func TestParseEvents(t *testing.T) {
	ok1 := metadata(24, 3, 24, 0x40000, 7, 100)
	ok2 := metadata(24, 3, 24, 0x4000, -1, 0)
	withInfo := append(metadata(32, 3, 24, 0x40000, 8, 101), make([]byte, 8)...)
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []rawEvent
		wantErr bool
	}{
		{"two", append(append([]byte{}, ok1...), ok2...), []rawEvent{{Mask: 0x40000, FD: 7, PID: 100}, {Mask: 0x4000, FD: -1, PID: 0}}, false},
		{"info record skipped", append(append([]byte{}, withInfo...), ok1...), []rawEvent{{Mask: 0x40000, FD: 8, PID: 101}, {Mask: 0x40000, FD: 7, PID: 100}}, false},
		{"empty", nil, nil, false},
		{"short tail", append(append([]byte{}, ok1...), 1, 2, 3), []rawEvent{{Mask: 0x40000, FD: 7, PID: 100}}, true},
		{"bad version", metadata(24, 2, 24, 1, 1, 1), nil, true},
		{"length past end", metadata(48, 3, 24, 1, 1, 1), nil, true},
		{"length below metadata", metadata(8, 3, 24, 1, 1, 1), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []rawEvent
			err := parseEvents(tc.in, func(e rawEvent) { got = append(got, e) })
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseEvents = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzParseEvents checks that no input makes the metadata or image parsers
// panic or loop.
func FuzzParseEvents(f *testing.F) {
	f.Add(metadata(24, 3, 24, 0x40000, 7, 100))
	f.Add(elfImage(true, false, "/lib64/ld-linux-x86-64.so.2", ptInterp))
	f.Add([]byte("#!/bin/sh\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		parseEvents(b, func(rawEvent) { n++ })
		if n > len(b)/fanotifyx.MetadataLen {
			t.Fatalf("%d events from %d bytes", n, len(b))
		}
		interpreter(readerOf(b))
		fanotifyx.ParseMountinfo(b)
		fanotifyx.ParseStatus(b, fanotifyx.StatusTgid|fanotifyx.StatusPPid|fanotifyx.StatusUID)
		fanotifyx.ParseSyscall(b)
		statField(b, 22)
		decodeEvent(b)
		if len(b) > 16 {
			m := fakeMem{}
			m.put(0x1000, b)
			readArgv(m.readAt, 0x1000, 8, 1<<16)
			readArgv(m.readAt, 0x1000, 4, 1<<16)
		}
		if bytes.HasPrefix(b, []byte("#!")) {
			scriptInterpreter(b)
		}
	})
}
