//go:build unix

package core

import (
	"time"

	"golang.org/x/sys/unix"
)

// Helpers report times on the system's clocks (so they compare with
// timestamps from the kernel and other tools) but read them through Go's
// monotonic clock, which avoids a system call per reading: the offsets are
// taken once.
var (
	clockStart = time.Now()
	monoBase   = clockAt(unix.CLOCK_MONOTONIC)
	// The boot clock is the monotonic clock plus the time spent
	// suspended, never less: without the max, the jitter of taking the
	// two offsets one after the other could put it a few nanoseconds
	// behind when the system never slept.
	bootBase = max(clockAt(clockBoottime), monoBase)
)

func clockAt(id int32) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return ts.Nano() - int64(time.Since(clockStart))
}

func ktimeNs() uint64    { return uint64(monoBase + int64(time.Since(clockStart))) }
func boottimeNs() uint64 { return uint64(bootBase + int64(time.Since(clockStart))) }
