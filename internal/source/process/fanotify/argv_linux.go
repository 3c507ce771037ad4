package fanotify

import (
	"errors"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

var errNotExec = errors.New("fanotify: the thread is not in execve or execveat")

// execArgv reads the arguments thread tid passed to the execve or
// execveat it is blocked in (see argv.go).
func execArgv(tid int32, limit int) (argv []string, truncated bool, err error) {
	dir := "/proc/" + strconv.Itoa(int(tid))
	b, err := fanotifyx.ReadProc(dir + "/syscall")
	if err != nil {
		return nil, false, err
	}
	sc, ok := fanotifyx.ParseSyscall(b)
	if !ok {
		return nil, false, errNotExec
	}
	ptr, size, ok := argvPointer(runtime.GOARCH, sc.NR, sc.Args)
	if !ok {
		return nil, false, errNotExec
	}
	fd, err := unix.Open(dir+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	defer unix.Close(fd)
	return readArgv(func(p []byte, off int64) (int, error) {
		for {
			n, err := unix.Pread(fd, p, off)
			if err != unix.EINTR {
				return n, err
			}
		}
	}, ptr, size, limit)
}
