package fanotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// marker places the marks of one fanotify group and keeps them in line
// with the mount table and with the mask the source currently needs.
//
// With no paths it marks every filesystem in this process's mount table
// (FAN_MARK_FILESYSTEM, which also covers its other mounts, bind mounts
// made later and the same filesystem in other mount namespaces), falling
// back to FAN_MARK_MOUNT where the kernel refuses a filesystem mark. With
// paths it marks each path's filesystem and the filesystems mounted below
// a path; the source then keeps only events under the paths.
type marker struct {
	fd    int
	paths []string // clean absolute paths; nil: every filesystem
	logf  func(string, ...any)
	// mountMask returns what of a mask a mount mark can take (directory
	// entry events need filesystem or inode marks); 0 means no mount
	// marks at all.
	mountMask func(uint64) uint64
	// onMark, when set, is told of each filesystem or mount marked, for
	// resolving file handles later.
	onMark func(m mount)

	mu    sync.Mutex
	mask  uint64
	marks map[string]*placed // "fs:<dev>" or "mnt:<id>"
	noted map[string]bool    // mounts already reported as skipped
	skip  map[string]string  // mount point -> why it is not watched (for Caps)
}

// placed is one mark.
type placed struct {
	point string // path it was placed through
	flags uint   // FAN_MARK_FILESYSTEM or FAN_MARK_MOUNT
	mask  uint64
}

func newMarker(fd int, paths []string, logf func(string, ...any)) *marker {
	return &marker{fd: fd, paths: paths, logf: logf, marks: map[string]*placed{}, noted: map[string]bool{}, skip: map[string]string{}}
}

// setMask changes the events the marks ask for; with mask 0 every mark is
// removed. It then scans for filesystems not yet marked. first says this
// is the first placement: a failure to mark what the source was asked to
// watch is then returned, for the source to report as unavailable.
func (m *marker) setMask(mask uint64, first bool) error {
	m.mu.Lock()
	old := m.mask
	m.mask = mask
	if old != mask {
		for k, p := range m.marks {
			if err := m.apply(p, mask); err != nil {
				delete(m.marks, k) // unmounted since, most likely
			}
		}
	}
	m.mu.Unlock()
	if mask == 0 {
		return nil
	}
	return m.scan(first)
}

// apply changes one mark's mask; the caller holds mu.
func (m *marker) apply(p *placed, mask uint64) error {
	if p.flags == unix.FAN_MARK_MOUNT {
		mask = m.mountMask(mask)
	}
	add, remove := mask&^p.mask, p.mask&^mask
	if remove != 0 {
		if err := unix.FanotifyMark(m.fd, unix.FAN_MARK_REMOVE|p.flags, remove, unix.AT_FDCWD, p.point); err != nil &&
			!errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	if add != 0 {
		if err := unix.FanotifyMark(m.fd, unix.FAN_MARK_ADD|p.flags, add, unix.AT_FDCWD, p.point); err != nil {
			return err
		}
	}
	p.mask = mask
	return nil
}

// scan marks what the mount table has that is not yet marked.
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
	if m.mask == 0 {
		return nil
	}
	if m.paths == nil {
		return m.scanAll(mounts, first)
	}
	return m.scanPaths(mounts, first)
}

// scanAll marks every filesystem; the caller holds mu.
func (m *marker) scanAll(mounts []mount, first bool) error {
	rootDone := false
	// Whole-filesystem mounts first, so that handles resolve through a
	// mount that can name every directory of the filesystem.
	slices.SortStableFunc(mounts, func(a, b mount) int {
		return boolInt(a.Root != "/") - boolInt(b.Root != "/")
	})
	for _, mt := range mounts {
		err := m.markMount(mt)
		if mt.Point == "/" {
			rootDone = rootDone || err == nil
			if err != nil && first {
				return err
			}
		}
	}
	if first && !rootDone {
		return unavailable("marking /", errors.New("no mount on / in /proc/self/mountinfo"), "")
	}
	return nil
}

// scanPaths marks the filesystems of the paths and those mounted below
// them; the caller holds mu.
func (m *marker) scanPaths(mounts []mount, first bool) error {
	for _, p := range m.paths {
		var stx unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_MNT_ID, &stx); err != nil {
			if first {
				return unavailable("looking up "+p, err, "watch a path that exists")
			}
			continue
		}
		// The mount the path is on, for its device and type.
		mt := mount{ID: int(stx.Mnt_id), Major: stx.Dev_major, Minor: stx.Dev_minor, Root: "?", Point: p}
		for _, o := range mounts {
			if o.ID == mt.ID {
				mt.FSType = o.FSType
				if o.Root == "/" {
					mt.Root, mt.Point = "/", o.Point
				}
			}
		}
		if err := m.markMount(mt); err != nil && first {
			return err
		}
	}
	for _, mt := range mounts {
		if mt.Point != "/" && underAny(mt.Point, m.paths) && !slices.Contains(m.paths, mt.Point) {
			m.markMount(mt)
		}
	}
	return nil
}

// markMount marks the filesystem of mt (or the mount alone) unless done
// already, and returns why it could not. The caller holds mu.
func (m *marker) markMount(mt mount) error {
	fsKey := fmt.Sprintf("fs:%d", unix.Mkdev(mt.Major, mt.Minor))
	mntKey := fmt.Sprintf("mnt:%d", mt.ID)
	if m.marks[fsKey] != nil || m.marks[mntKey] != nil || m.noted[mntKey] {
		return nil
	}
	if m.paths == nil && pseudoFS(mt.FSType) {
		m.noted[mntKey] = true
		return nil
	}
	// A mount hidden under a later one on the same point cannot be
	// reached by its path: marking the path would mark the top one.
	var stx unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, mt.Point, unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID, &stx) == nil &&
		stx.Mask&unix.STATX_MNT_ID != 0 && int(stx.Mnt_id) != mt.ID {
		m.noted[mntKey] = true
		return nil
	}
	errFS := unix.FanotifyMark(m.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, m.mask, unix.AT_FDCWD, mt.Point)
	if errFS == nil {
		m.marks[fsKey] = &placed{point: mt.Point, flags: unix.FAN_MARK_FILESYSTEM, mask: m.mask}
		delete(m.skip, mt.Point)
		if m.onMark != nil {
			m.onMark(mt)
		}
		return nil
	}
	errMnt := errors.New("no mount marks for these events")
	if mm := m.mountMask(m.mask); mm != 0 {
		errMnt = unix.FanotifyMark(m.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, mm, unix.AT_FDCWD, mt.Point)
		if errMnt == nil {
			m.marks[mntKey] = &placed{point: mt.Point, flags: unix.FAN_MARK_MOUNT, mask: mm}
			m.skip[mt.Point] = "mount mark only: no create, delete or rename events"
			m.logf("fanotify: %s on %s takes no filesystem mark (%v); marked the mount only, so its creates, deletes and renames are not seen",
				mt.FSType, mt.Point, errFS)
			if m.onMark != nil {
				m.onMark(mt)
			}
			return nil
		}
	}
	m.noted[mntKey] = true
	m.skip[mt.Point] = errFS.Error()
	m.logf("fanotify: cannot watch %s on %s (filesystem mark: %v; mount mark: %v)", mt.FSType, mt.Point, errFS, errMnt)
	fix := ""
	switch {
	case errors.Is(errFS, unix.EPERM):
		fix = "run as root (CAP_SYS_ADMIN)"
	case errors.Is(errFS, unix.EOPNOTSUPP), errors.Is(errFS, unix.ENODEV), errors.Is(errFS, unix.EXDEV):
		fix = "this filesystem cannot report file handles to fanotify; use the FUSE source there"
	case errors.Is(errFS, unix.EINVAL):
		fix = "needs Linux 5.9 or later (5.17 for renames with both names)"
	}
	return unavailable(fmt.Sprintf("marking %s (%s on %s)", mt.Point, mt.FSType, mt.Point), errFS, fix)
}

// unwatched lists the mount points that are not (fully) watched, with why.
func (m *marker) unwatched() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p, why := range m.skip {
		out = append(out, p+" ("+why+")")
	}
	slices.Sort(out)
	return out
}

// watch rescans when the mount table changes, until ctx is done. fd is
// /proc/self/mountinfo opened before the first scan (openMountWatch), so
// no change falls between the scan and the watch: the kernel raises
// POLLPRI on it after each change since the last poll.
func (m *marker) watch(ctx context.Context, fd int, changed func()) {
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
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			m.logf("fanotify: watching for new mounts stopped: %v", err)
			return
		}
		if fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0 && ctx.Err() == nil {
			m.scan(false)
			if changed != nil {
				changed()
			}
		}
	}
}

// openMountWatch opens /proc/self/mountinfo as a plain descriptor (an
// *os.File's epoll registration would consume the POLLPRI).
func openMountWatch() (int, error) {
	return unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
