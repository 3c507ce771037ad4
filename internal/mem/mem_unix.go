//go:build unix

package mem

import "golang.org/x/sys/unix"

func alloc(n int) ([]byte, error) {
	page := unix.Getpagesize()
	size := (n + page - 1) / page * page
	return unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

func free(b []byte) error { return unix.Munmap(b) }
