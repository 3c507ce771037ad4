//go:build !linux

package file

func monotonic() int64 { return monotonicGo() }
