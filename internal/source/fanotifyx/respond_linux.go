package fanotifyx

import (
	"errors"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ProbeErrnos finds the error numbers the kernel takes in a refusal
// (FAN_DENY_ERRNO, Linux 6.14, pre-content groups only) on the group fd.
// The kernel checks a response before it looks for the event it answers,
// so a response for a descriptor with no pending event fails with ENOENT
// when its errno is acceptable and with EINVAL when it is not. It must run
// before any mark is placed, when no event can be pending. It returns nil
// when the premise does not hold: refusals then carry EPERM only.
func ProbeErrnos(fd int) []int32 {
	try := func(response uint32) error {
		resp := unix.FanotifyResponse{Fd: 0, Response: response}
		_, err := unix.Write(fd, unsafe.Slice((*byte)(unsafe.Pointer(&resp)), unsafe.Sizeof(resp)))
		return err
	}
	if !errors.Is(try(unix.FAN_DENY), unix.ENOENT) {
		return nil
	}
	var ok []int32
	for e := uint32(1); e <= unix.FAN_ERRNO_MASK; e++ {
		if errors.Is(try(unix.FAN_DENY|e<<unix.FAN_ERRNO_SHIFT), unix.ENOENT) {
			ok = append(ok, int32(e))
		}
	}
	return ok
}

// Responder answers the permission events of one group, shared by the
// goroutines that decide them. It refuses with the handler's errno where
// the kernel takes it (FAN_DENY_ERRNO) and with plain FAN_DENY (EPERM)
// otherwise, remembering errnos the kernel turned down so that each costs
// one failed write, not one per event. It does not log: Respond says what
// happened and the source words it.
type Responder struct {
	group   *os.File
	custom  [unix.FAN_ERRNO_MASK + 1]bool
	refused [unix.FAN_ERRNO_MASK + 1]atomic.Bool
}

// NewResponder answers on group, with the errnos ProbeErrnos found.
func NewResponder(group *os.File, errnos []int32) *Responder {
	r := &Responder{group: group}
	for _, e := range errnos {
		if e > 0 && e <= unix.FAN_ERRNO_MASK {
			r.custom[e] = true
		}
	}
	return r
}

// Fallback says why a refusal with an errno went out as plain EPERM; it is
// reported once per errno.
type Fallback int

const (
	NoFallback  Fallback = iota
	NotTaken             // the kernel answered EINVAL to an errno it was probed to take
	Unsupported          // the kernel does not take this errno at all (ProbeErrnos)
)

// Respond writes the response for the event on fd: allow for errno 0,
// else deny, with errno itself where the kernel takes it. fb is set the
// first time an errno falls back to EPERM; err is the final write's
// error, except os.ErrClosed (the group closed while stopping).
func (r *Responder) Respond(fd int, errno int32) (fb Fallback, err error) {
	resp := uint32(unix.FAN_ALLOW)
	if errno != 0 {
		resp = unix.FAN_DENY
		if errno > 0 && errno <= unix.FAN_ERRNO_MASK && errno != int32(unix.EPERM) {
			if r.custom[errno] && !r.refused[errno].Load() {
				err := r.write(fd, unix.FAN_DENY|uint32(errno)<<unix.FAN_ERRNO_SHIFT)
				if err == nil {
					return NoFallback, nil
				}
				if errors.Is(err, unix.EINVAL) && !r.refused[errno].Swap(true) {
					fb = NotTaken
				}
			} else if !r.custom[errno] && !r.refused[errno].Swap(true) {
				fb = Unsupported
			}
		}
	}
	if err := r.write(fd, resp); err != nil && !errors.Is(err, os.ErrClosed) {
		return fb, err
	}
	return fb, nil
}

func (r *Responder) write(fd int, response uint32) error {
	resp := unix.FanotifyResponse{Fd: int32(fd), Response: response}
	_, err := r.group.Write(unsafe.Slice((*byte)(unsafe.Pointer(&resp)), unsafe.Sizeof(resp)))
	return err
}
