package fanotify

import "golang.org/x/sys/unix"

// How the system call a thread is blocked in describes the open or read
// that raised a permission event (see decodeCall).
type callKind uint8

const (
	callOpenAt   callKind = iota + 1 // openat(dirfd, name, flags, mode)
	callOpen                         // open(name, flags, mode)
	callCreat                        // creat(name, mode): O_CREAT|O_WRONLY|O_TRUNC
	callOpenat2                      // openat2(dirfd, name, how, size): flags in *how
	callByHandle                     // open_by_handle_at(mountfd, handle, flags)
	callExec                         // execve, execveat: the program is opened read-only
	callRead                         // read(fd, buf, count), readv(fd, iov, n)
	callPread                        // pread64(fd, buf, count, pos)
	callPreadv                       // preadv(fd, iov, n, pos...), preadv2
)

// calls maps this architecture's system call numbers to their kinds; the
// old open and creat exist only on some (syscalls_amd64.go).
var calls = map[int64]callKind{
	unix.SYS_OPENAT:            callOpenAt,
	unix.SYS_OPENAT2:           callOpenat2,
	unix.SYS_OPEN_BY_HANDLE_AT: callByHandle,
	unix.SYS_EXECVE:            callExec,
	unix.SYS_EXECVEAT:          callExec,
	unix.SYS_READ:              callRead,
	unix.SYS_READV:             callRead,
	unix.SYS_PREAD64:           callPread,
	unix.SYS_PREADV:            callPreadv,
	unix.SYS_PREADV2:           callPreadv,
}
