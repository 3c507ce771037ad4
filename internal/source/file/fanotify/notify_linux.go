package fanotify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// notifier is the notification group. It lives in Run's process: nothing
// waits for it, so it needs no helper.
type notifier struct {
	s      *Source
	f      *os.File // the group; owns its descriptor
	fd     int
	marker *marker
	rename bool // FAN_RENAME reports both names of a rename in one event

	self   int32
	helper atomic.Int32 // the permission helper's pid, once started
	post   atomic.Uint32

	mounts mountTable
	dirs   dirCache
	creds  credCache
	// moves holds half of a rename per process, when the kernel reports
	// the two names as FAN_MOVED_FROM and FAN_MOVED_TO (before 5.17).
	moves map[int32]move
}

// move is the half of a rename seen first.
type move struct {
	ev   *file.Event
	from bool // Path is set (the old name); else Target (the new one)
	at   time.Time
}

// moveWait is how long a half rename waits for its other half.
const moveWait = 100 * time.Millisecond

// initNotify creates the group, reporting the directory and name of
// entries and, where the kernel can (5.17), the object's own identifier
// and both names of a rename in one event.
func initNotify() (fd int, target bool, err error) {
	const flags = unix.FAN_CLASS_NOTIF | unix.FAN_CLOEXEC | unix.FAN_NONBLOCK | unix.FAN_UNLIMITED_QUEUE
	const fileFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_LARGEFILE
	for _, try := range []uint{
		unix.FAN_REPORT_DFID_NAME_TARGET,
		unix.FAN_REPORT_DFID_NAME | unix.FAN_REPORT_FID,
		unix.FAN_REPORT_DFID_NAME,
	} {
		fd, err = unix.FanotifyInit(flags|try, fileFlags)
		if err == nil {
			return fd, try&unix.FAN_REPORT_TARGET_FID != 0, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.EPERM):
		return -1, false, unavailable("creating a fanotify group (fanotify_init)", err,
			"run as root: watching filesystems needs CAP_SYS_ADMIN")
	case errors.Is(err, unix.ENOSYS):
		return -1, false, unavailable("creating a fanotify group (fanotify_init)", err,
			"the kernel is built without fanotify (CONFIG_FANOTIFY)")
	case errors.Is(err, unix.EINVAL):
		return -1, false, unavailable("creating a fanotify group that reports names (FAN_REPORT_DFID_NAME)", err,
			"needs Linux 5.9 or later")
	case errors.Is(err, unix.EMFILE):
		return -1, false, unavailable("creating a fanotify group", err,
			"too many fanotify groups or open files: raise /proc/sys/fs/fanotify/max_user_groups or the file limit")
	}
	return -1, false, unavailable("creating a fanotify group", err, "")
}

func newNotifier(s *Source) (*notifier, error) {
	fd, target, err := initNotify()
	if err != nil {
		return nil, err
	}
	n := &notifier{
		s: s, fd: fd, f: os.NewFile(uintptr(fd), "fanotify"),
		rename: target && !s.opts.noRename,
		self:   int32(os.Getpid()),
		moves:  map[int32]move{},
	}
	n.marker = newMarker(fd, s.paths, s.logf)
	n.marker.mountMask = notifyMountMask
	n.marker.onMark = n.mounts.add
	return n, nil
}

// setInterest changes the events asked for.
func (n *notifier) setInterest(post file.OpSet, first bool) error {
	n.post.Store(uint32(post))
	err := n.marker.setMask(notifyMask(post, n.rename), first)
	n.s.setUnwatched(0, n.marker.unwatched())
	return err
}

func (n *notifier) close() { n.f.Close() }

// read delivers events to h until ctx is done.
func (n *notifier) read(ctx context.Context, h file.Handler) error {
	// The read deadline is "now" once ctx is done, else moveWait ahead
	// while half a rename waits, else none; mu keeps cancellation's
	// deadline from being overwritten.
	var mu sync.Mutex
	cancelled := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		cancelled = true
		n.f.SetReadDeadline(time.Now())
		mu.Unlock()
	})
	defer stop()
	buf := make([]byte, 256<<10)
	for {
		mu.Lock()
		if cancelled {
			mu.Unlock()
			n.flushMoves(h, true)
			return nil
		}
		var dl time.Time
		if len(n.moves) > 0 {
			dl = time.Now().Add(moveWait)
		}
		n.f.SetReadDeadline(dl)
		mu.Unlock()
		k, err := n.f.Read(buf)
		if k > 0 {
			b := newBatch(n)
			perr := parseEvents(buf[:k], func(ev *rawEvent) { n.event(b, ev, h) })
			b.close()
			if perr != nil {
				return perr
			}
		}
		n.flushMoves(h, ctx.Err() != nil)
		switch {
		case err == nil, errors.Is(err, io.EOF):
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
		default:
			return fmt.Errorf("fanotify: reading events: %w", err)
		}
	}
}

// batch holds what the events of one read share: descriptors of the
// mounts used to open handles (not kept longer, so that the source never
// keeps a filesystem from being unmounted) and process credentials.
type batch struct {
	n      *notifier
	mounts map[[8]byte]int
	creds  map[int32]fanotifyx.Status
	// The directories named and the objects looked at in this batch, by
	// handle: a burst of events is mostly about few directories and files.
	dirs  map[string]string
	stats map[string]*unix.Stat_t
}

func newBatch(n *notifier) *batch {
	return &batch{n: n, mounts: map[[8]byte]int{}, creds: map[int32]fanotifyx.Status{},
		dirs: map[string]string{}, stats: map[string]*unix.Stat_t{}}
}

func (b *batch) close() {
	for _, fd := range b.mounts {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// mountFD returns a descriptor on the filesystem fsid names, or -1.
func (b *batch) mountFD(fsid [8]byte) int {
	if fd, ok := b.mounts[fsid]; ok {
		return fd
	}
	fd := b.n.mounts.open(fsid)
	b.mounts[fsid] = fd
	return fd
}

// cred returns the ids of process pid (zero when it is gone), as read at
// most credTTL ago.
func (b *batch) cred(pid int32) fanotifyx.Status {
	if st, ok := b.creds[pid]; ok {
		return st
	}
	st := b.n.creds.get(pid, func() fanotifyx.Status {
		var st fanotifyx.Status
		if data, err := fanotifyx.ReadProc("/proc/" + strconv.Itoa(int(pid)) + "/status"); err == nil {
			st, _ = fanotifyx.ParseStatus(data, statusFields)
		}
		return st
	})
	b.creds[pid] = st
	return st
}

// credTTL is how long the ids read for a process are used again: reading
// /proc/<pid>/status for every event would be most of the source's work
// when one process makes many changes.
const credTTL = 250 * time.Millisecond

// credCache remembers processes' ids for credTTL.
type credCache struct {
	m map[int32]cred
}

type cred struct {
	st fanotifyx.Status
	at time.Time
}

func (c *credCache) get(pid int32, read func() fanotifyx.Status) fanotifyx.Status {
	now := time.Now()
	if e, ok := c.m[pid]; ok && now.Sub(e.at) < credTTL {
		return e.st
	}
	if c.m == nil || len(c.m) >= 4096 {
		c.m = map[int32]cred{}
	}
	st := read()
	c.m[pid] = cred{st: st, at: now}
	return st
}

// dirPath names the directory f identifies, or returns "" when it cannot
// be opened any more and was never seen before.
func (b *batch) dirPath(f fid) string {
	k := f.key()
	if p, ok := b.dirs[k]; ok {
		return p
	}
	p := b.resolve(f, k)
	b.dirs[k] = p
	return p
}

func (b *batch) resolve(f fid, k string) string {
	fd := b.mountFD(f.FSID)
	if fd >= 0 {
		if dfd, err := unix.OpenByHandleAt(fd, unix.NewFileHandle(f.HandleType, f.Handle), unix.O_PATH|unix.O_CLOEXEC); err == nil {
			p, err := fanotifyx.Readlink("/proc/self/fd/" + strconv.Itoa(dfd))
			unix.Close(dfd)
			if err == nil && len(p) > 0 && p[0] == '/' {
				// A directory removed since, still in memory.
				p = strings.TrimSuffix(p, " (deleted)")
				b.n.dirs.put(k, p)
				return p
			}
		}
	}
	return b.n.dirs.get(k)
}

// stat looks at the object f identifies, if it still exists (nil if not).
func (b *batch) stat(f fid) *unix.Stat_t {
	k := f.key()
	if st, ok := b.stats[k]; ok {
		return st
	}
	var st *unix.Stat_t
	if fd := b.mountFD(f.FSID); fd >= 0 {
		ofd, err := unix.OpenByHandleAt(fd, unix.NewFileHandle(f.HandleType, f.Handle), unix.O_PATH|unix.O_CLOEXEC)
		if err == nil {
			st = new(unix.Stat_t)
			if unix.Fstat(ofd, st) != nil {
				st = nil
			}
			unix.Close(ofd)
		}
	}
	b.stats[k] = st
	return st
}

// join names an entry of a directory; a directory that could not be
// named leaves the entry's name alone (a relative path).
func join(dir, name string) string {
	switch {
	case dir == "":
		return name
	case name == "" || name == ".":
		return dir
	case dir == "/":
		return "/" + name
	}
	return dir + "/" + name
}

// event turns one record into Events for h.
func (n *notifier) event(b *batch, raw *rawEvent, h file.Handler) {
	if raw.Mask&fanQOverflow != 0 {
		n.s.dropped.Add(1)
		n.s.logf("fanotify: the kernel's event queue overflowed; some file events were lost")
		return
	}
	if raw.PID == n.self || raw.PID == n.helper.Load() && raw.PID != 0 {
		return // the source's own work, or a handler's: never report it to itself
	}
	post := file.OpSet(n.post.Load())
	dir := raw.Mask&fanOnDir != 0
	ss := steps(raw.Mask)
	if len(ss) == 0 {
		return
	}
	// Only what someone wants (the interest may have narrowed since the
	// mask was set), then only what is under the watched paths.
	want := false
	for _, s := range ss {
		op := stepOp(s, dir)
		want = want || post.Has(op) || op == file.Create && post.Has(file.Symlink)
	}
	if !want {
		return
	}
	base := file.Event{Post: true, PID: uint32(raw.PID), TID: uint32(raw.PID), Time: file.Monotonic()}
	if raw.PID > 0 {
		st := b.cred(raw.PID)
		base.UID, base.GID = st.UID, st.GID
	}
	if ss[0] == stepRename {
		ev := base
		ev.Op = file.Rename
		ev.Path = join(b.dirPath(raw.OldDir), raw.OldName)
		ev.Target = join(b.dirPath(raw.NewDir), raw.NewName)
		if dir && raw.HasObj && ev.Target != "" && ev.Target[0] == '/' {
			n.dirs.put(raw.Obj.key(), ev.Target)
		}
		if n.inScope(&ev) {
			n.fill(b, raw, &ev)
			n.emit(h, &ev, post)
		}
		return
	}
	var p string
	switch {
	case raw.HasDir:
		p = join(b.dirPath(raw.Dir), raw.Name)
		if dir && raw.HasObj && p != "" && p[0] == '/' {
			// The directory's own name, for its entries' events should
			// it be gone by the time they are read (mkdir -p a/b; rm -r a).
			n.dirs.put(raw.Obj.key(), p)
		}
	case raw.HasObj:
		// No parent (a link count change, an event on the root): name
		// the object itself.
		p = b.dirPath(raw.Obj)
	}
	// A relative path (the directory is gone) cannot be placed under the
	// watched paths, and is reported only when the whole system is watched.
	// Half a rename is kept whatever its scope: the other half decides.
	base.Path = p
	if p == "" || !n.inScope(&base) && raw.Mask&(fanMovedFrom|fanMovedTo) == 0 {
		return
	}
	n.fill(b, raw, &base)
	for _, s := range ss {
		ev := base
		ev.Op = stepOp(s, dir)
		switch s {
		case stepCreate:
			if ev.Mode&unix.S_IFMT == unix.S_IFLNK {
				ev.Op = file.Symlink
				ev.Target, _ = fanotifyx.Readlink(ev.Path)
			}
		case stepClose:
			if raw.Mask&fanCloseWrite != 0 {
				ev.Flags = unix.O_WRONLY
			}
		case stepMovedFrom, stepMovedTo:
			n.half(h, &ev, s == stepMovedFrom, post)
			continue
		}
		n.emit(h, &ev, post)
	}
}

// fill adds the object's inode, type and device, when it still exists.
func (n *notifier) fill(b *batch, raw *rawEvent, ev *file.Event) {
	if !raw.HasObj || raw.Mask&fanDelete != 0 && raw.Mask&(fanCreate|fanMovedTo) == 0 {
		return
	}
	if st := b.stat(raw.Obj); st != nil {
		ev.Ino, ev.Dev, ev.Mode = st.Ino, st.Dev, st.Mode
	}
}

// inScope reports whether ev is under the watched paths: its Path, or
// for a Rename either name.
func (n *notifier) inScope(ev *file.Event) bool {
	return underAny(ev.Path, n.s.paths) || ev.Op == file.Rename && underAny(ev.Target, n.s.paths)
}

func (n *notifier) emit(h file.Handler, ev *file.Event, post file.OpSet) {
	if !post.Has(ev.Op) || !n.inScope(ev) {
		return
	}
	ev.ID = n.s.nextID.Add(1)
	call(n.s, h, ev)
}

// half pairs FAN_MOVED_FROM and FAN_MOVED_TO of one process into a
// Rename: the kernel queues them one after the other, but a merge with an
// earlier event of the same name can put the second first.
func (n *notifier) half(h file.Handler, ev *file.Event, from bool, post file.OpSet) {
	ev.Op = file.Rename
	pid := int32(ev.PID)
	if m, ok := n.moves[pid]; ok && m.from != from {
		delete(n.moves, pid)
		if from {
			ev.Target = m.ev.Path
		} else {
			ev.Target, ev.Path = ev.Path, m.ev.Path
		}
		n.emit(h, ev, post)
		return
	}
	if m, ok := n.moves[pid]; ok {
		n.emitHalf(h, m, post)
	}
	c := *ev
	n.moves[pid] = move{ev: &c, from: from, at: time.Now()}
}

// flushMoves reports the halves that waited long enough (all of them on
// the way out) as Renames with one name.
func (n *notifier) flushMoves(h file.Handler, all bool) {
	post := file.OpSet(n.post.Load())
	for pid, m := range n.moves {
		if all || time.Since(m.at) >= moveWait {
			delete(n.moves, pid)
			n.emitHalf(h, m, post)
		}
	}
}

func (n *notifier) emitHalf(h file.Handler, m move, post file.OpSet) {
	ev := m.ev
	if !m.from {
		ev.Target, ev.Path = ev.Path, ""
	}
	n.emit(h, ev, post)
}

// call runs the Handler; a panic is logged, not fatal.
func call(s *Source, h file.Handler, ev *file.Event) (v file.Verdict) {
	defer func() {
		if p := recover(); p != nil {
			s.logf("fanotify: handler panicked on %v of %s by pid %d: %v", ev.Op, ev.Path, ev.PID, p)
			v = file.Allow
		}
	}()
	return h(ev)
}

// mountTable remembers a mount point for each marked filesystem, by
// fsid, to open handles through. Mounts of the whole filesystem come
// first (the marker marks them first), so every directory can be named.
type mountTable struct {
	mu     sync.Mutex
	points map[[8]byte]string
}

func (t *mountTable) add(m mount) {
	var sfs unix.Statfs_t
	if unix.Statfs(m.Point, &sfs) != nil {
		return
	}
	var fsid [8]byte
	binary.NativeEndian.PutUint32(fsid[0:], uint32(sfs.Fsid.Val[0]))
	binary.NativeEndian.PutUint32(fsid[4:], uint32(sfs.Fsid.Val[1]))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.points == nil {
		t.points = map[[8]byte]string{}
	}
	if _, ok := t.points[fsid]; !ok {
		t.points[fsid] = m.Point
	}
}

// open returns a new descriptor of fsid's mount point, or -1. It is
// opened for reading: open_by_handle_at refuses O_PATH descriptors
// (EBADF) on some kernels.
func (t *mountTable) open(fsid [8]byte) int {
	t.mu.Lock()
	p, ok := t.points[fsid]
	t.mu.Unlock()
	if !ok {
		return -1
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return -1
	}
	return fd
}

// dirCache remembers the last path of directories by handle, to name the
// entries of a directory deleted before its events were read (rm -r).
type dirCache struct {
	m map[string]string
}

const maxDirs = 4096

func (c *dirCache) put(k, p string) {
	if c.m == nil {
		c.m = map[string]string{}
	}
	if len(c.m) >= maxDirs {
		clear(c.m)
	}
	c.m[k] = p
}

func (c *dirCache) get(k string) string { return c.m[k] }

func errnoName(e int32) string { return unix.ErrnoName(unix.Errno(e)) }
