package maps

import (
	"errors"
	"fmt"
)

// Errno is a Linux error number. Map operations fail with these so that
// helpers can hand programs the negative errno Linux would, and user space
// can test for them with errors.Is.
type Errno int32

// The errors maps produce.
const (
	EPERM   Errno = 1
	ENOENT  Errno = 2
	E2BIG   Errno = 7
	EAGAIN  Errno = 11
	ENOMEM  Errno = 12
	EBUSY   Errno = 16
	EEXIST  Errno = 17
	EINVAL  Errno = 22
	ENOSPC  Errno = 28
	ENOTSUP Errno = 95
)

var errnoText = map[Errno]string{
	EPERM: "operation not permitted", ENOENT: "key does not exist", E2BIG: "map is full or index out of range",
	EAGAIN: "try again (ring buffer full)", ENOMEM: "out of memory", EBUSY: "busy", EEXIST: "key already exists",
	EINVAL: "invalid argument", ENOSPC: "no space left", ENOTSUP: "operation not supported by this map type",
}

func (e Errno) Error() string {
	if s, ok := errnoText[e]; ok {
		return s
	}
	return fmt.Sprintf("errno %d", int32(e))
}

// Common errors under the names cilium/ebpf uses.
var (
	ErrKeyNotExist = ENOENT
	ErrKeyExist    = EEXIST
	ErrFull        = E2BIG
	ErrNotSupp     = ENOTSUP
)

// HelperResult converts the outcome of a map operation into what a helper
// returns to a program: 0, or a negative errno.
func HelperResult(err error) uint64 {
	if err == nil {
		return 0
	}
	e := EINVAL
	errors.As(err, &e)
	return uint64(-int64(e))
}

// checkFlags validates update flags for keyed maps.
func checkFlags(flags uint64) error {
	if flags > UpdateExist {
		return EINVAL
	}
	return nil
}

// fmtErr formats an error; %w keeps an Errno reachable with errors.Is.
func fmtErr(format string, args ...any) error { return fmt.Errorf(format, args...) }
