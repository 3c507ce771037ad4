package fanotify

import (
	"golang.org/x/sys/unix"
)

// readProc reads a whole /proc file with plain system calls: os.ReadFile
// would also stat it, probe it for the Go poller and change its flags,
// three calls more for each of the several files read per exec.
func readProc(path string) ([]byte, error) {
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

// readlink reads a symbolic link, /proc's magic ones included.
func readlink(path string) (string, error) {
	var b [unix.PathMax]byte
	n, err := unix.Readlink(path, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}
