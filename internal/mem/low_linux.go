//go:build linux

package mem

import (
	"errors"
	"runtime"

	"golang.org/x/sys/unix"
)

// allocLow maps memory below 4 GiB. On amd64 MAP_32BIT asks the kernel for
// exactly that; elsewhere hint addresses in the low range are tried with
// MAP_FIXED_NOREPLACE, which fails instead of clobbering existing mappings.
func allocLow(n int) ([]byte, error) {
	page := unix.Getpagesize()
	size := (n + page - 1) / page * page
	prot := unix.PROT_READ | unix.PROT_WRITE
	if runtime.GOARCH == "amd64" {
		b, err := unix.Mmap(-1, 0, size, prot, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_32BIT)
		if err == nil && lowEnough(b) {
			return b, nil
		}
		if err == nil {
			unix.Munmap(b)
		}
	}
	for hint := uintptr(0x1000_0000); hint+uintptr(size) < 1<<32; hint += 0x1000_0000 {
		p, err := unix.MmapPtr(-1, 0, Pointer(uint64(hint)), uintptr(size), prot, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED_NOREPLACE)
		if err != nil {
			continue
		}
		b := unsafeBytes(p, size)
		if lowEnough(b) {
			return b, nil
		}
		unix.Munmap(b)
	}
	return nil, errors.New("no free address range below 4 GiB")
}
