package fanotify

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// Messages between Run and its helper process travel on a stream socket as
// frames: a 4-byte little-endian length, then that many bytes, the first
// of which says what the message is. Both ends are the same binary, so the
// encoding need not be stable across versions.
const (
	msgConfig   = 'C'                  // Run → helper: JSON config, the first message
	msgHello    = 'H'                  // helper → Run: JSON hello, once the marks are placed (or failed)
	msgNote     = 'N'                  // helper → Run: a line for Options.Logf
	msgMounts   = 'M'                  // helper → Run: JSON list of unmarked mount points, after a change
	msgOverflow = 'O'                  // helper → Run: the kernel's queue overflowed
	msgLate     = 'L'                  // helper → Run: an exec was allowed without a verdict (timeout, no answer)
	msgEvent    = 'E'                  // helper → Run: an exec to decide (encodeEvent); id 0: already allowed, report only
	msgVerdict  = fanotifyx.MsgVerdict // Run → helper: the decision (fanotifyx.EncodeVerdict)
)

// maxFrame bounds a message: an event with the longest command line and
// image path, with room to spare.
const maxFrame = MaxArgvBytes + 64<<10

// config is what Run tells the helper.
type config struct {
	Timeout time.Duration
	MainPID int
}

// hello is the helper's report after setting up. Tried is set when it
// could not, with Err and Fix as in process.UnavailableError.
type hello struct {
	// Errnos lists the error numbers the kernel takes in a refusal
	// (FAN_DENY_ERRNO); empty when every refusal gives EPERM.
	Errnos   []int32
	Unmarked []string
	Tried    string `json:",omitempty"`
	Err      string `json:",omitempty"`
	Fix      string `json:",omitempty"`
}

// readFrame reads one message, up to maxFrame, into buf.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	return fanotifyx.ReadFrame(r, buf, maxFrame)
}

const (
	eventHeader   = 1 + 8 + 4*5 + 8 + 1 + 4
	flagArgv      = 1 // the event carries argv (maybe empty)
	flagTruncated = 2 // argv was cut at MaxArgvBytes
)

// encodeEvent packs an exec for Run: the fields the helper fills.
func encodeEvent(id uint64, ev *process.Event, truncated bool) []byte {
	size := eventHeader + len(ev.Image)
	for _, a := range ev.Argv {
		size += len(a) + 1
	}
	b := make([]byte, eventHeader, size)
	b[0] = msgEvent
	le := binary.LittleEndian
	le.PutUint64(b[1:], id)
	le.PutUint32(b[9:], ev.PID)
	le.PutUint32(b[13:], ev.PPID)
	le.PutUint32(b[17:], ev.UID)
	le.PutUint32(b[21:], ev.CreatorPID)
	le.PutUint32(b[25:], ev.CreatorTID)
	le.PutUint64(b[29:], uint64(ev.Created.UnixNano()))
	var flags byte
	if ev.Argv != nil {
		flags |= flagArgv
	}
	if truncated {
		flags |= flagTruncated
	}
	b[37] = flags
	le.PutUint32(b[38:], uint32(len(ev.Image)))
	b = append(b, ev.Image...)
	for _, a := range ev.Argv {
		b = append(append(b, a...), 0)
	}
	return b
}

func decodeEvent(b []byte) (id uint64, ev process.Event, truncated bool, err error) {
	if len(b) < eventHeader || b[0] != msgEvent {
		return 0, ev, false, fanotifyx.ErrFrame
	}
	le := binary.LittleEndian
	imageLen := le.Uint32(b[38:])
	if uint64(imageLen) > uint64(len(b)-eventHeader) {
		return 0, ev, false, fanotifyx.ErrFrame
	}
	flags := b[37]
	ev = process.Event{
		Op:         process.Create,
		PID:        le.Uint32(b[9:]),
		PPID:       le.Uint32(b[13:]),
		UID:        le.Uint32(b[17:]),
		CreatorPID: le.Uint32(b[21:]),
		CreatorTID: le.Uint32(b[25:]),
		Created:    time.Unix(0, int64(le.Uint64(b[29:]))),
		Image:      string(b[eventHeader : eventHeader+imageLen]),
	}
	rest := b[eventHeader+imageLen:]
	if flags&flagArgv != 0 {
		ev.Argv = make([]string, 0, bytes.Count(rest, []byte{0}))
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				return 0, ev, false, fanotifyx.ErrFrame
			}
			ev.Argv = append(ev.Argv, string(rest[:i]))
			rest = rest[i+1:]
		}
	}
	return le.Uint64(b[1:]), ev, flags&flagTruncated != 0, nil
}
