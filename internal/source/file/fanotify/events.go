package fanotify

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// The layouts below are linux/fanotify.h's, the same on every
// architecture (native byte order). They are written out here rather than
// taken from golang.org/x/sys/unix so that the parser builds, and is
// tested, on any OS. The metadata before them is fanotifyx's.
const (
	infoHeaderLen = 4  // struct fanotify_event_info_header
	infoFidLen    = 12 // header + __kernel_fsid_t
	handleHdrLen  = 8  // struct file_handle without f_handle

	// Info record types (FAN_EVENT_INFO_TYPE_*).
	infoFID         = 1
	infoDFIDName    = 2
	infoDFID        = 3
	infoOldDFIDName = 10
	infoNewDFIDName = 12
)

// Event mask bits (FAN_*), the subset this package reads.
const (
	fanAccess       = 0x1
	fanModify       = 0x2
	fanAttrib       = 0x4
	fanCloseWrite   = 0x8
	fanCloseNoWrite = 0x10
	fanOpen         = 0x20
	fanMovedFrom    = 0x40
	fanMovedTo      = 0x80
	fanCreate       = 0x100
	fanDelete       = 0x200
	fanQOverflow    = 0x4000
	fanOpenPerm     = 0x10000
	fanAccessPerm   = 0x20000
	fanRename       = 0x10000000
	fanOnDir        = 0x40000000
)

// fid is a file identifier as fanotify reports it: the filesystem (fsid)
// and a handle that open_by_handle_at turns back into the object.
type fid struct {
	FSID       [8]byte
	HandleType int32
	Handle     []byte // aliases the read buffer until copied
}

// key is a fid as a map key.
func (f fid) key() string {
	var b []byte
	b = append(b, f.FSID[:]...)
	b = binary.NativeEndian.AppendUint32(b, uint32(f.HandleType))
	return string(append(b, f.Handle...))
}

// rawEvent is one fanotify_event_metadata record with its info records.
type rawEvent struct {
	Mask uint64
	FD   int32 // FAN_NOFD (-1) for events without a descriptor
	PID  int32

	// For groups that report file identifiers:
	HasDir  bool // Dir and Name hold the parent directory and entry name
	Dir     fid
	Name    string
	HasObj  bool // Obj is the object itself (FID record)
	Obj     fid
	HasOld  bool // FAN_RENAME: the old directory and name
	OldDir  fid
	OldName string
	HasNew  bool // FAN_RENAME: the new directory and name
	NewDir  fid
	NewName string
}

// parseEvents splits what one read(2) of a fanotify descriptor returned
// into its records (fanotifyx.ParseEvents) and reads their info records.
// It stops with an error at the first record it cannot trust (wrong
// version, impossible length); the records before it have already been
// passed to fn. Handles in the records alias b.
func parseEvents(b []byte, fn func(*rawEvent)) error {
	var ev rawEvent
	return fanotifyx.ParseEvents(b, func(m fanotifyx.Metadata, info []byte) error {
		ev = rawEvent{Mask: m.Mask, FD: m.FD, PID: m.PID}
		if err := parseInfo(info, &ev); err != nil {
			return err
		}
		fn(&ev)
		return nil
	})
}

// parseInfo reads the info records after an event's metadata. Records of
// types it does not know are skipped.
func parseInfo(b []byte, ev *rawEvent) error {
	for len(b) > 0 {
		if len(b) < infoHeaderLen {
			return fmt.Errorf("fanotify: %d trailing bytes in an event, shorter than an info record", len(b))
		}
		typ := b[0]
		n := int(binary.NativeEndian.Uint16(b[2:]))
		if n < infoHeaderLen || n > len(b) {
			return fmt.Errorf("fanotify: info record of type %d has length %d in %d bytes", typ, n, len(b))
		}
		rec := b[:n]
		b = b[n:]
		switch typ {
		case infoFID, infoDFID, infoDFIDName, infoOldDFIDName, infoNewDFIDName:
		default:
			continue
		}
		f, rest, err := parseFID(rec)
		if err != nil {
			return err
		}
		var name string
		if typ != infoFID && typ != infoDFID {
			// The name follows the handle, NUL-terminated and padded.
			if i := bytes.IndexByte(rest, 0); i >= 0 {
				rest = rest[:i]
			}
			name = string(rest)
		}
		switch typ {
		case infoFID:
			ev.HasObj, ev.Obj = true, f
		case infoDFID, infoDFIDName:
			ev.HasDir, ev.Dir, ev.Name = true, f, name
		case infoOldDFIDName:
			ev.HasOld, ev.OldDir, ev.OldName = true, f, name
		case infoNewDFIDName:
			ev.HasNew, ev.NewDir, ev.NewName = true, f, name
		}
	}
	return nil
}

// parseFID reads struct fanotify_event_info_fid: header, fsid, then a
// struct file_handle; it returns what follows the handle.
func parseFID(rec []byte) (fid, []byte, error) {
	var f fid
	if len(rec) < infoFidLen+handleHdrLen {
		return f, nil, fmt.Errorf("fanotify: file identifier record of %d bytes", len(rec))
	}
	copy(f.FSID[:], rec[4:12])
	size := binary.NativeEndian.Uint32(rec[12:])
	f.HandleType = int32(binary.NativeEndian.Uint32(rec[16:]))
	start := infoFidLen + handleHdrLen
	if uint64(size) > uint64(len(rec)-start) {
		return f, nil, fmt.Errorf("fanotify: file handle of %d bytes in a record of %d", size, len(rec))
	}
	f.Handle = rec[start : start+int(size)]
	return f, rec[start+int(size):], nil
}
