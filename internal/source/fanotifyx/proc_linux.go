package fanotifyx

import "golang.org/x/sys/unix"

// ReadProc reads a whole /proc file with plain system calls: os.ReadFile
// would also stat it, probe it for the Go poller and change its flags,
// three calls more for each of the several files read per event.
func ReadProc(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 2048)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// Readlink reads a symbolic link, /proc's magic ones included
// (/proc/self/fd/N names the file an event opened).
func Readlink(path string) (string, error) {
	var b [unix.PathMax]byte
	n, err := unix.Readlink(path, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// kcmpVM is KCMP_VM (linux/kcmp.h): do two tasks share their memory?
const kcmpVM = 1

// SharesMemory asks kcmp(2) whether tasks a and b share their memory:
// one is a thread of the other's process, or a child made with vfork (as
// Go's os/exec does) that has not yet exec'd, whose parent thread stays
// blocked, holding its share of the Go runtime, until the child's exec is
// answered. Both sources must not ask their own process about such an
// event. err is the errno when kcmp fails (ENOSYS without
// CONFIG_KCMP, EPERM or EACCES when refused, ESRCH for a task gone); what
// that means is the caller's policy.
func SharesMemory(a, b int) (bool, error) {
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(a), uintptr(b), kcmpVM, 0, 0, 0)
	if e != 0 {
		return false, e
	}
	return r == 0, nil
}
