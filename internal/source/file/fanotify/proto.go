package fanotify

import (
	"bufio"
	"encoding/binary"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// Messages between Run's process and the permission helper travel on a
// stream socket as frames: a 4-byte little-endian length, then that many
// bytes, the first of which says what the message is. Both ends are the
// same binary, so the encoding need not be stable across versions.
const (
	msgConfig   = 'C'                  // Run → helper: JSON config, the first message
	msgMask     = 'K'                  // Run → helper: the permission events wanted now (8 bytes)
	msgVerdict  = fanotifyx.MsgVerdict // Run → helper: the decision on an event (fanotifyx.EncodeVerdict)
	msgHello    = 'H'                  // helper → Run: JSON hello, once the marks are placed (or failed)
	msgNote     = 'N'                  // helper → Run: a line for Options.Logf
	msgEvent    = 'E'                  // helper → Run: an operation to decide (encodeEvent)
	msgLate     = 'L'                  // helper → Run: an event was allowed without a verdict
	msgOverflow = 'O'                  // helper → Run: the kernel's queue overflowed
	msgMounts   = 'M'                  // helper → Run: JSON list of mounts not watched, after a change
)

// maxFrame bounds a message: an event with the longest path, and room.
const maxFrame = 64 << 10

// config is what Run tells the helper.
type config struct {
	MainPID int
	Timeout int64 // nanoseconds
	Paths   []string
	Mask    uint64
}

// hello is the helper's report after setting up; Tried is set when it
// could not, with Err and Fix as in file.UnavailableError.
type hello struct {
	Errnos    []int32 // accepted in FAN_DENY_ERRNO responses, besides EPERM
	Unwatched []string
	Tried     string `json:",omitempty"`
	Err       string `json:",omitempty"`
	Fix       string `json:",omitempty"`
}

// readFrame reads one message, up to maxFrame, into buf.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	return fanotifyx.ReadFrame(r, buf, maxFrame)
}

// Event messages: kind, helper id, then the fields the helper fills, then
// the path.
const eventHeader = 1 + 8 + 1 + 8 + 4*6 + 8*4

func encodeEvent(id uint64, ev *file.Event) []byte {
	b := make([]byte, eventHeader, eventHeader+len(ev.Path))
	le := binary.LittleEndian
	b[0] = msgEvent
	le.PutUint64(b[1:], id)
	b[9] = byte(ev.Op)
	le.PutUint64(b[10:], ev.Time)
	le.PutUint32(b[18:], ev.PID)
	le.PutUint32(b[22:], ev.TID)
	le.PutUint32(b[26:], ev.UID)
	le.PutUint32(b[30:], ev.GID)
	le.PutUint32(b[34:], ev.Flags)
	le.PutUint32(b[38:], ev.Mode)
	le.PutUint64(b[42:], ev.Ino)
	le.PutUint64(b[50:], ev.Dev)
	le.PutUint64(b[58:], uint64(ev.Offset))
	le.PutUint64(b[66:], ev.Length)
	return append(b, ev.Path...)
}

func decodeEvent(b []byte, ev *file.Event) (id uint64, err error) {
	if len(b) < eventHeader || b[0] != msgEvent {
		return 0, fanotifyx.ErrFrame
	}
	le := binary.LittleEndian
	*ev = file.Event{
		Op:     file.Op(b[9]),
		Time:   le.Uint64(b[10:]),
		PID:    le.Uint32(b[18:]),
		TID:    le.Uint32(b[22:]),
		UID:    le.Uint32(b[26:]),
		GID:    le.Uint32(b[30:]),
		Flags:  le.Uint32(b[34:]),
		Mode:   le.Uint32(b[38:]),
		Ino:    le.Uint64(b[42:]),
		Dev:    le.Uint64(b[50:]),
		Offset: int64(le.Uint64(b[58:])),
		Length: le.Uint64(b[66:]),
		Path:   string(b[eventHeader:]),
	}
	return le.Uint64(b[1:]), nil
}

func encodeMask(mask uint64) []byte {
	b := make([]byte, 9)
	b[0] = msgMask
	binary.LittleEndian.PutUint64(b[1:], mask)
	return b
}
