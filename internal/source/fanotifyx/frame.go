package fanotifyx

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Both sources answer permission events in a helper process (their own
// binary started again) and talk to it over a stream socket in frames: a
// 4-byte little-endian length, then that many bytes, the first of which
// says what the message is. The message kinds and their encodings are
// each source's own, but for the verdict, which is the same in both; both
// ends are the same binary, so none of it need be stable across versions.

// ErrFrame is returned for a frame or message that cannot be decoded.
var ErrFrame = errors.New("fanotify: malformed message between Run and its helper")

// Frame prefixes a message with its length.
func Frame(msg []byte) []byte {
	b := make([]byte, 4, 4+len(msg))
	binary.LittleEndian.PutUint32(b, uint32(len(msg)))
	return append(b, msg...)
}

// ReadFrame reads one message of at most max bytes into buf, growing it
// as needed. An empty or longer message is an ErrFrame: the stream cannot
// be trusted past it.
func ReadFrame(r *bufio.Reader, buf []byte, max uint32) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(h[:])
	if n == 0 || n > max {
		return nil, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// MsgVerdict is the kind of a verdict message (Run → helper): the
// decision on the event the helper numbered id, 0 to allow or an errno.
const MsgVerdict = 'V'

// EncodeVerdict packs a verdict message.
func EncodeVerdict(id uint64, errno int32) []byte {
	b := make([]byte, 13)
	b[0] = MsgVerdict
	binary.LittleEndian.PutUint64(b[1:], id)
	binary.LittleEndian.PutUint32(b[9:], uint32(errno))
	return b
}

// DecodeVerdict unpacks a verdict message.
func DecodeVerdict(b []byte) (id uint64, errno int32, err error) {
	if len(b) < 13 || b[0] != MsgVerdict {
		return 0, 0, ErrFrame
	}
	return binary.LittleEndian.Uint64(b[1:]), int32(binary.LittleEndian.Uint32(b[9:])), nil
}
