package file

import "golang.org/x/sys/unix"

// monotonic is CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns and of kernel
// tracepoints, so kernel and user-space timestamps compare.
func monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return monotonicGo()
	}
	return ts.Nano()
}
