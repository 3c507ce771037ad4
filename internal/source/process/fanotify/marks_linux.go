package fanotify

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// marker places FAN_OPEN_EXEC_PERM marks on every mount and remembers
// what it covered, so that rescans after mount changes only add marks.
type marker struct {
	fd   int
	logf func(string, ...any)

	mu        sync.Mutex
	fsMarked  map[uint64]bool // superblocks (device numbers) with a filesystem mark
	mntMarked map[int]bool    // mount ids with a mount mark
	noted     map[int]bool    // mount ids already reported as skipped
	missing   map[int]string  // mounts that may hold programs but could not be marked
}

const markMask = unix.FAN_OPEN_EXEC_PERM

// scan marks the mounts in /proc/self/mountinfo not yet covered. On the
// first scan a failure to mark the root filesystem means permission
// events for exec do not work here, and is returned as unavailability.
func (m *marker) scan(first bool) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		if first {
			return unavailable("reading /proc/self/mountinfo", err, "mount procfs on /proc")
		}
		m.logf("fanotify: rescanning mounts: %v", err)
		return nil
	}
	mounts := fanotifyx.ParseMountinfo(data)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fsMarked == nil {
		m.fsMarked, m.mntMarked = map[uint64]bool{}, map[int]bool{}
		m.noted, m.missing = map[int]bool{}, map[int]string{}
	}
	present := map[int]bool{}
	for _, mt := range mounts {
		present[mt.ID] = true
	}
	for id := range m.missing {
		if !present[id] {
			delete(m.missing, id) // unmounted: nothing left to miss
		}
	}

	rootMarked := false
	for _, mt := range mounts {
		dev := unix.Mkdev(mt.Major, mt.Minor)
		if m.mntMarked[mt.ID] || m.fsMarked[dev] {
			rootMarked = rootMarked || mt.Point == "/"
			continue
		}
		if m.noted[mt.ID] {
			continue
		}
		if mt.FSType == "autofs" {
			// Looking its mount point up to mark it would trigger the
			// automount; what gets mounted there appears as its own mount.
			m.noted[mt.ID] = true
			continue
		}
		// A mount hidden under a later mount on the same point cannot be
		// reached by path; marking the path would mark the top one.
		var stx unix.Statx_t
		if unix.Statx(unix.AT_FDCWD, mt.Point, unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID, &stx) == nil &&
			stx.Mask&unix.STATX_MNT_ID != 0 && int(stx.Mnt_id) != mt.ID {
			m.noted[mt.ID] = true
			m.logf("fanotify: mount %d (%s on %s) is hidden under another mount; not marked", mt.ID, mt.FSType, mt.Point)
			continue
		}
		errFS := unix.FanotifyMark(m.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, markMask, unix.AT_FDCWD, mt.Point)
		if errFS == nil {
			m.fsMarked[dev] = true
			rootMarked = rootMarked || mt.Point == "/"
			continue
		}
		errMnt := unix.FanotifyMark(m.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, markMask, unix.AT_FDCWD, mt.Point)
		if errMnt == nil {
			m.mntMarked[mt.ID] = true
			rootMarked = rootMarked || mt.Point == "/"
			continue
		}
		if first && mt.Point == "/" {
			fix := "needs Linux 5.0 or later with CONFIG_FANOTIFY_ACCESS_PERMISSIONS"
			if errors.Is(errMnt, unix.EPERM) {
				fix = "run as root"
			}
			return unavailable("marking / for FAN_OPEN_EXEC_PERM", errMnt, fix)
		}
		m.noted[mt.ID] = true
		// Pseudo filesystems hold no programs: a mount of one that cannot
		// be marked is not a missed source of execs.
		if fanotifyx.IsPseudoFS(mt.FSType) {
			m.logf("fanotify: skipped %s on %s, which takes no exec marks (%v) and holds no programs", mt.FSType, mt.Point, errMnt)
			continue
		}
		m.missing[mt.ID] = mt.Point
		m.logf("fanotify: cannot mark %s on %s (filesystem: %v; mount: %v); execs from it are not seen", mt.FSType, mt.Point, errFS, errMnt)
	}
	if first && !rootMarked {
		return unavailable("marking / for FAN_OPEN_EXEC_PERM", errors.New("no mount on / in /proc/self/mountinfo"), "")
	}
	return nil
}

// unmarked lists the mount points that may hold programs but are not
// marked.
func (m *marker) unmarked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, p := range m.missing {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// openMountWatch opens /proc/self/mountinfo for watch. It is a plain
// descriptor, deliberately not an *os.File: the kernel raises the file's
// POLLPRI once per change, for the first poll that asks after it, and the
// Go runtime's epoll registration of an *os.File would take it first.
func openMountWatch() (int, error) {
	return unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

// watch rescans when the mount table changes, until ctx is done. The
// kernel flags an open mountinfo descriptor (fd, from openMountWatch)
// with POLLPRI|POLLERR after any change in the mount namespace since it
// was opened or last polled; the caller opens it before the first scan,
// so that no change falls between the two.
func (m *marker) watch(ctx context.Context, fd int, report func([]string)) {
	// A pipe that becomes readable on cancellation ends the poll.
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		m.logf("fanotify: cannot watch for new mounts: %v", err)
		return
	}
	defer unix.Close(wake[0])
	stop := context.AfterFunc(ctx, func() { unix.Close(wake[1]) })
	defer func() {
		if stop() {
			unix.Close(wake[1])
		}
	}()
	for ctx.Err() == nil {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}, {Fd: int32(wake[0]), Events: unix.POLLIN}}
		_, err := unix.Poll(fds, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			m.logf("fanotify: watching for new mounts stopped: %v", err)
			return
		}
		if fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0 && ctx.Err() == nil {
			m.scan(false)
			report(m.unmarked())
		}
	}
}
