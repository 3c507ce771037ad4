package tracepoint

import (
	"encoding/binary"
	"path"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// The record the kernel program sends (struct record in bpf/file.c).
// TestRecordLayout checks these offsets against the object's BTF.
const (
	offID        = 0
	offTime      = 8
	offResult    = 16
	offOffset    = 24
	offLength    = 32
	offIno       = 40
	offDev       = 48
	offPID       = 52
	offTID       = 56
	offUID       = 60
	offGID       = 64
	offFlags     = 68
	offMode      = 72
	offPathLen   = 76
	offTargetLen = 78
	offOp        = 80
	offRFlags    = 81
	offKind      = 82
	offData      = 84

	pathMax = 4096 // PATH_MAX in file.c: a path in a record is shorter
)

// rflags (F_* in file.c).
const (
	fPost        = 1 << 0
	fPathTrunc   = 1 << 1
	fPathFault   = 1 << 2
	fInode       = 1 << 3
	fPostFollows = 1 << 4
)

// Kinds of system call (enum kind in file.c): how each passes what the
// record needs.
const (
	kOpen = iota + 1
	kOpenat
	kOpenat2
	kCreat
	kIO
	kPIO
	kIOV
	kPIOV
	kClose
	kRename
	kRenameat
	kRenameat2
	kUnlink
	kUnlinkat
	kRmdir
	kMkdir
	kMkdirat
	kTruncate
	kFtruncate
	kLink
	kLinkat
	kSymlink
	kSymlinkat
	kMax
)

// Bits of struct call's want.
const (
	wantPre  = 1
	wantPost = 2
)

// kindOps are the operations a kind of call can be; the program decides
// among several (open or create by O_CREAT, unlink or rmdir by
// AT_REMOVEDIR), the table's op names the rest.
func kindOps(kind uint8, op file.Op) file.OpSet {
	switch kind {
	case kOpen, kOpenat, kOpenat2:
		return file.OpSet(0).With(file.Open).With(file.Create)
	case kUnlinkat:
		return file.OpSet(0).With(file.Unlink).With(file.Rmdir)
	}
	return file.OpSet(0).With(op)
}

// decoder turns records into events. It belongs to one Run, on the
// goroutine reading the ring buffer.
type decoder struct {
	// pending holds each pre event whose post record will follow, for
	// the post event to repeat its paths and arguments.
	pending map[uint64]*file.Event
	// lost counts post records whose pre record was not seen (or was
	// cleared away).
	lost uint64
}

// maxPending bounds pending: posts lost in the kernel (a full ring
// buffer) would otherwise leave their pre events behind forever.
const maxPending = 1 << 16

func newDecoder() *decoder { return &decoder{pending: map[uint64]*file.Event{}} }

// decode fills ev from one record and reports whether it was one.
func (d *decoder) decode(raw []byte, ev *file.Event) bool {
	if len(raw) < offData {
		return false
	}
	le := binary.LittleEndian
	plen, tlen := int(le.Uint16(raw[offPathLen:])), int(le.Uint16(raw[offTargetLen:]))
	if len(raw) < offData+plen+tlen {
		return false
	}
	rflags := raw[offRFlags]
	id := le.Uint64(raw[offID:])
	if rflags&fPost != 0 {
		pre, ok := d.pending[id]
		if ok {
			delete(d.pending, id)
			*ev = *pre
		} else {
			d.lost++
			*ev = file.Event{Op: file.Op(raw[offOp]), ID: id}
		}
		ev.Post = true
		ev.Time = le.Uint64(raw[offTime:])
		ev.Result = int64(le.Uint64(raw[offResult:]))
		ev.PID, ev.TID = le.Uint32(raw[offPID:]), le.Uint32(raw[offTID:])
		ev.UID, ev.GID = le.Uint32(raw[offUID:]), le.Uint32(raw[offGID:])
		if rflags&fInode != 0 {
			ev.Ino, ev.Dev, ev.Mode = le.Uint64(raw[offIno:]), kernelDev(le.Uint32(raw[offDev:])), le.Uint32(raw[offMode:])
		}
		return true
	}
	op := file.Op(raw[offOp])
	data := raw[offData:]
	*ev = file.Event{
		Op:     op,
		ID:     id,
		Time:   le.Uint64(raw[offTime:]),
		Path:   cleanPath(string(data[:plen])),
		Flags:  le.Uint32(raw[offFlags:]),
		Mode:   le.Uint32(raw[offMode:]),
		PID:    le.Uint32(raw[offPID:]),
		TID:    le.Uint32(raw[offTID:]),
		UID:    le.Uint32(raw[offUID:]),
		GID:    le.Uint32(raw[offGID:]),
		Offset: int64(le.Uint64(raw[offOffset:])),
		Length: le.Uint64(raw[offLength:]),
	}
	if tlen > 0 {
		t := string(data[plen : plen+tlen])
		if op != file.Symlink {
			t = cleanPath(t) // a symbolic link's contents are kept as given
		}
		ev.Target = t
	}
	if rflags&fInode != 0 {
		ev.Ino, ev.Dev = le.Uint64(raw[offIno:]), kernelDev(le.Uint32(raw[offDev:]))
	} else if ev.Mode != 0 {
		// The mode a create or mkdir asks for, with the type it makes.
		switch op {
		case file.Create:
			ev.Mode |= 0o100000
		case file.Mkdir:
			ev.Mode |= 0o040000
		}
	}
	if rflags&fPostFollows != 0 {
		if len(d.pending) >= maxPending {
			clear(d.pending)
		}
		c := *ev
		d.pending[id] = &c
	}
	return true
}

// cleanPath makes a path lexically clean ("/a/./b/../c" is "/a/c"); a
// path that could not be read stays empty.
func cleanPath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// kernelDev converts the kernel's dev_t (major << 20 | minor) to the
// encoding of stat(2)'s st_dev.
func kernelDev(d uint32) uint64 {
	major, minor := uint64(d>>20), uint64(d&0xfffff)
	return major&0xfff<<8 | major&^0xfff<<32 | minor&0xff | minor&^0xff<<12
}
