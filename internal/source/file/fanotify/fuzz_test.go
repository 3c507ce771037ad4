package fanotify

import (
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// FuzzParse: no event buffer, mountinfo or /proc file, however malformed,
// makes the parsers panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte{24, 0, 0, 0, 3, 0, 24, 0, 1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 1, 0, 0, 0})
	f.Add([]byte("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte("Name:\tcat\nTgid:\t12\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"))
	f.Add([]byte("257 0xffffff9c 0x7ffd1234 0x241 0x1b6 0x0 0x0 0x7ffd 0x7f\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseEvents(b, func(*rawEvent) {})
		_ = fanotifyx.ParseMountinfo(b)
		fanotifyx.ParseStatus(b, statusFields)
		fanotifyx.ParseSyscall(b)
		parseFdinfoPos(b)
	})
}
