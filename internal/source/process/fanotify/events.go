package fanotify

import (
	"encoding/binary"
	"fmt"
)

// Layout of struct fanotify_event_metadata (linux/fanotify.h), version 3,
// the only version Linux has shipped since 2.6.37.
const (
	metadataVersion = 3
	metadataLen     = 24
)

// rawEvent is one fanotify_event_metadata record.
type rawEvent struct {
	Mask uint64
	FD   int32 // FAN_NOFD (-1) for queue overflow
	PID  int32
}

// parseEvents splits what one read(2) of a fanotify descriptor returned
// into its records. It stops with an error at the first record it cannot
// trust (wrong version, impossible length); the records before it have
// already been passed to fn, and the caller must still answer them.
func parseEvents(b []byte, fn func(rawEvent)) error {
	for len(b) > 0 {
		if len(b) < metadataLen {
			return fmt.Errorf("fanotify: %d trailing bytes, shorter than an event", len(b))
		}
		evLen := binary.NativeEndian.Uint32(b[0:])
		vers := b[4]
		metaLen := binary.NativeEndian.Uint16(b[6:])
		if vers != metadataVersion {
			return fmt.Errorf("fanotify: event metadata version %d, want %d", vers, metadataVersion)
		}
		if metaLen < metadataLen || evLen < uint32(metaLen) || uint64(evLen) > uint64(len(b)) {
			return fmt.Errorf("fanotify: event length %d (metadata %d) in %d bytes", evLen, metaLen, len(b))
		}
		fn(rawEvent{
			Mask: binary.NativeEndian.Uint64(b[8:]),
			FD:   int32(binary.NativeEndian.Uint32(b[16:])),
			PID:  int32(binary.NativeEndian.Uint32(b[20:])),
		})
		b = b[evLen:]
	}
	return nil
}
