package fusefs

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pidCache maps the thread ids FUSE requests carry to their processes.
//
// The kernel puts the calling thread's id in a request's header (the
// task's own pid, not its thread group id). Reading the group id from
// /proc/<tid>/status costs about 13 µs, more than the rest of a request,
// so the answer is cached together with a pidfd of the thread
// (pidfd_open with PIDFD_THREAD, Linux 6.9): while that thread lives its
// group cannot change, and a cheap signal-0 probe through the pidfd
// (about 0.5 µs) says whether it still lives; once it is gone its id may
// name another thread, and the entry is dropped. (A thread that execs
// takes over its group leader's id; the pidfd of its old id then refers to
// the dead leader, so that is caught too.)
type pidCache struct {
	mu      sync.Mutex
	m       map[uint32]*pidEntry
	noPidfd bool
}

type pidEntry struct {
	f    *os.File
	rc   syscall.RawConn
	tgid uint32
}

// maxPidEntries bounds the descriptors the cache holds.
const maxPidEntries = 512

func newPidCache() *pidCache { return &pidCache{m: make(map[uint32]*pidEntry)} }

// tgid returns the process of thread tid, or 0 when it cannot be found
// (the thread is gone, or is not in this pid namespace).
func (c *pidCache) tgid(tid uint32) uint32 {
	if tid == 0 {
		return 0
	}
	c.mu.Lock()
	e := c.m[tid]
	noPidfd := c.noPidfd
	c.mu.Unlock()
	if e != nil {
		alive := false
		e.rc.Control(func(fd uintptr) {
			alive = unix.PidfdSendSignal(int(fd), 0, nil, 0) == nil
		})
		if alive {
			return e.tgid
		}
		c.mu.Lock()
		if c.m[tid] == e {
			delete(c.m, tid)
		}
		c.mu.Unlock()
		e.f.Close()
	}
	if noPidfd {
		return statusTgid(tid)
	}
	fd, err := unix.PidfdOpen(int(tid), unix.PIDFD_THREAD)
	if err != nil {
		if err == unix.EINVAL || err == unix.ENOSYS {
			// No thread pidfds (before Linux 6.9): ask /proc every time.
			c.mu.Lock()
			c.noPidfd = true
			c.mu.Unlock()
		}
		return statusTgid(tid)
	}
	tgid := pidfdTgid(fd)
	if tgid == 0 {
		tgid = statusTgid(tid)
	}
	if tgid == 0 {
		unix.Close(fd)
		return 0
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return tgid
	}
	e = &pidEntry{f: f, rc: rc, tgid: tgid}
	var evicted *pidEntry
	c.mu.Lock()
	if old := c.m[tid]; old != nil {
		evicted = old
	} else if len(c.m) >= maxPidEntries {
		for k, v := range c.m {
			delete(c.m, k)
			evicted = v
			break
		}
	}
	c.m[tid] = e
	c.mu.Unlock()
	if evicted != nil {
		evicted.f.Close()
	}
	return tgid
}

func (c *pidCache) close() {
	c.mu.Lock()
	m := c.m
	c.m = make(map[uint32]*pidEntry)
	c.mu.Unlock()
	for _, e := range m {
		e.f.Close()
	}
}

// pidfdTgid asks the kernel for the thread group of a pidfd's task
// (PIDFD_GET_INFO, Linux 6.13); 0 when it cannot.
func pidfdTgid(fd int) uint32 {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_PID}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.PIDFD_GET_INFO, uintptr(unsafe.Pointer(&info)))
	if errno != 0 || info.Mask&unix.PIDFD_INFO_PID == 0 {
		return 0
	}
	return info.Tgid
}

// statusTgid reads the Tgid line of /proc/<tid>/status; 0 when it cannot.
func statusTgid(tid uint32) uint32 {
	fd, err := unix.Open("/proc/"+strconv.FormatUint(uint64(tid), 10)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return 0
	}
	b := buf[:n]
	i := bytes.Index(b, []byte("\nTgid:"))
	if i < 0 {
		return 0
	}
	b = bytes.TrimLeft(b[i+len("\nTgid:"):], " \t")
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	v, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}
