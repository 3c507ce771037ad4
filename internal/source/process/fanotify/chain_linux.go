package fanotify

import (
	"errors"
	"path"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// expectWindow bounds how long an allowed exec's interpreter is expected.
// The kernel opens it right after the answer, within microseconds unless
// the disk is slow; the bound only keeps failed execs from leaving
// expectations behind for long.
const expectWindow = 5 * time.Second

// maxExpectations bounds the table; past it, stale entries are swept.
const maxExpectations = 4096

type expectation struct {
	name     string // the interpreter as the previous image names it
	deadline time.Time
}

// chains remembers, per pid, which file an allowed exec will open next
// (see the package documentation, "One Create per execve").
type chains struct {
	mu sync.Mutex
	m  map[int32]expectation
}

// expect records that pid's exec continues by opening name.
func (c *chains) expect(pid int32, name string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxExpectations {
		for p, e := range c.m {
			if now.After(e.deadline) {
				delete(c.m, p)
			}
		}
		if len(c.m) >= maxExpectations {
			return // better a second Create than an unbounded table
		}
	}
	c.m[pid] = expectation{name: name, deadline: now.Add(expectWindow)}
}

// has reports whether pid has an expectation, possibly stale.
func (c *chains) has(pid int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[pid]
	return ok
}

// continues reports whether the exec-open of fd (whose path is image) by
// pid is the continuation of pid's previous exec. Either way pid's
// expectation is used up: the next event is the continuation or a new
// exec.
func (c *chains) continues(pid int32, fd int, image string) bool {
	c.mu.Lock()
	e, ok := c.m[pid]
	delete(c.m, pid)
	c.mu.Unlock()
	if !ok || time.Now().After(e.deadline) {
		return false
	}
	if image == e.name {
		return true
	}
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil {
		return false
	}
	if err := statIn(pid, e.name, &want); err != nil {
		return false
	}
	return want.Dev == got.Dev && want.Ino == got.Ino
}

// statIn stats name as process pid's exec would open it: an absolute name
// from the process's root (a container's or chroot's, with its absolute
// symbolic links kept inside it), a relative one from its working
// directory.
func statIn(pid int32, name string, st *unix.Stat_t) error {
	base := "/proc/" + strconv.Itoa(int(pid))
	if !path.IsAbs(name) {
		return unix.Stat(base+"/cwd/"+name, st)
	}
	dir, err := unix.Open(base+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, name, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) { // before Linux 5.6
		return unix.Stat(base+"/root"+name, st)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fstat(fd, st)
}

// ownExecs remembers which vfork children of Run's process were reported
// (see helper.handle), by thread and start time, so that a recycled
// thread id is a new child.
type ownExecs struct {
	mu   sync.Mutex
	seen map[ownKey]time.Time
}

type ownKey struct {
	tid   int32
	start string // field 22 of /proc/<tid>/stat
}

// first reports whether this is the first event of thread tid's exec.
func (o *ownExecs) first(tid int32) bool {
	b, err := fanotifyx.ReadProc("/proc/" + strconv.Itoa(int(tid)) + "/stat")
	if err != nil {
		return true
	}
	k := ownKey{tid: tid, start: statField(b, 22)}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[ownKey]time.Time{}
	}
	if _, ok := o.seen[k]; ok {
		return false
	}
	if len(o.seen) >= maxExpectations {
		for k, t := range o.seen {
			if now.Sub(t) > expectWindow {
				delete(o.seen, k)
			}
		}
	}
	o.seen[k] = now
	return true
}
