package fanotifyx

import (
	"encoding/binary"
	"fmt"
)

// Layout of struct fanotify_event_metadata (linux/fanotify.h), the same on
// every architecture (native byte order). It is written out here rather
// than taken from golang.org/x/sys/unix so that the parser builds, and is
// tested and fuzzed, on any OS.
const (
	MetadataVersion = 3  // FANOTIFY_METADATA_VERSION, unchanged since 2.6.37
	MetadataLen     = 24 // sizeof(struct fanotify_event_metadata)
)

// Metadata is the fixed part of one fanotify event record.
type Metadata struct {
	Mask uint64
	FD   int32 // FAN_NOFD (-1) for events without a descriptor (queue overflow)
	PID  int32 // a thread id with FAN_REPORT_TID
}

// ParseEvents splits what one read(2) of a fanotify descriptor returned
// into its records, calling fn with each one's metadata and the info
// records that follow it (empty for groups that report none; it aliases
// b). It stops with an error at the first record it cannot trust (wrong
// version, impossible length), or at fn's first error; the records before
// it have already been passed to fn, and a permission group must still
// answer them. The sources share this so that both check the kernel's
// lengths the same way before trusting a descriptor in a record.
func ParseEvents(b []byte, fn func(m Metadata, info []byte) error) error {
	for len(b) > 0 {
		if len(b) < MetadataLen {
			return fmt.Errorf("fanotify: %d trailing bytes, shorter than an event", len(b))
		}
		evLen := binary.NativeEndian.Uint32(b[0:])
		vers := b[4]
		metaLen := binary.NativeEndian.Uint16(b[6:])
		if vers != MetadataVersion {
			return fmt.Errorf("fanotify: event metadata version %d, want %d", vers, MetadataVersion)
		}
		if metaLen < MetadataLen || evLen < uint32(metaLen) || uint64(evLen) > uint64(len(b)) {
			return fmt.Errorf("fanotify: event length %d (metadata %d) in %d bytes", evLen, metaLen, len(b))
		}
		m := Metadata{
			Mask: binary.NativeEndian.Uint64(b[8:]),
			FD:   int32(binary.NativeEndian.Uint32(b[16:])),
			PID:  int32(binary.NativeEndian.Uint32(b[20:])),
		}
		if err := fn(m, b[metaLen:evLen]); err != nil {
			return err
		}
		b = b[evLen:]
	}
	return nil
}
