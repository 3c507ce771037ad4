package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// ioMode is how an open file's reads and writes are done.
type ioMode uint8

const (
	// ioCached: through the kernel's page cache, which asks this process
	// for what it lacks; used when no one watches data I/O and
	// passthrough is not possible.
	ioCached ioMode = iota
	// ioDirect: FOPEN_DIRECT_IO, every read(2) and write(2) is a request
	// to this process, so each is reported.
	ioDirect
	// ioPassthrough: the kernel reads and writes the underlying file
	// itself (FUSE passthrough); nothing comes to this process.
	ioPassthrough
)

// handle is an open file: a descriptor of the underlying file (or of the
// file a verdict redirected to).
type handle struct {
	n          *node
	fd         int
	mode       ioMode
	redirected bool
	path       string // the path the process opened, for events
	dev, ino   uint64 // of the file actually open
	pid, tid   uint32 // who opened it
	uid, gid   uint32
}

var (
	_ fs.FilePassthroughFder = (*handle)(nil)
	_ fs.FileReader          = (*handle)(nil)
	_ fs.FileWriter          = (*handle)(nil)
	_ fs.FileReleaser        = (*handle)(nil)
	_ fs.FileFlusher         = (*handle)(nil)
	_ fs.FileFsyncer         = (*handle)(nil)
	_ fs.FileLseeker         = (*handle)(nil)
	_ fs.FileAllocater       = (*handle)(nil)
)

// newHandle decides how an open file's data I/O is done, once, at open:
//
//   - while the node has a passthrough open, every open of it must be
//     passthrough too (the kernel allows one backing file per inode, and
//     go-fuse gives later opens the same one), so such opens are not
//     watched even if a Read or Write program attached since; a redirected
//     open then fails with EBUSY, as it cannot share that backing file;
//   - a redirected open is direct I/O, never passthrough: a backing file
//     would become the inode's for every later open;
//   - passthrough when no one handles Read or Write, the kernel supports
//     it, the file is a regular file on a filesystem that can back one, and
//     the node has no open served by this process (the kernel refuses a
//     passthrough open of an inode with cached opens);
//   - otherwise direct I/O when someone handles Read or Write, else the
//     page cache.
//
// A set-ID file opened for writing by a caller other than root is not
// passed through either: its writes must clear the set-ID bits (see
// killSetID), and passthrough writes never reach this process.
//
// It takes ownership of fd.
func (n *node) newHandle(ctx context.Context, fd int, path string, redirected bool, flags int) (*handle, syscall.Errno) {
	m := n.m
	h := &handle{n: n, fd: fd, redirected: redirected, path: path}
	if c, ok := fuse.FromContext(ctx); ok {
		h.tid, h.uid, h.gid = c.Pid, c.Uid, c.Gid
		h.pid = m.pids.tgid(c.Pid)
	}
	writing := flags&unix.O_ACCMODE != unix.O_RDONLY
	if writing && h.uid != 0 && flags&unix.O_TRUNC != 0 {
		killSetID(fd)
	}
	var a fuse.Attr
	var err error
	if h.dev, h.ino, _, err = m.fstat(fd, &a); err != nil {
		unix.Close(fd)
		return nil, toErrno(err)
	}
	dev := h.dev
	setID := writing && h.uid != 0 && setIDMode(a.Mode)
	data := m.dataWatched()
	n.mu.Lock()
	switch {
	case n.ptOpen > 0:
		if redirected {
			n.mu.Unlock()
			unix.Close(fd)
			m.s.logf("fuse: redirect of %s refused with EBUSY: the file is open with kernel passthrough", path)
			return nil, syscall.EBUSY
		}
		h.mode = ioPassthrough
	case !redirected && !data && !setID && n.servedOpen == 0 && a.IsRegular() && m.passthrough.Load() && m.backable(fd, dev):
		h.mode = ioPassthrough
	case data || redirected:
		h.mode = ioDirect
	default:
		h.mode = ioCached
	}
	if h.mode == ioPassthrough {
		n.ptOpen++
	} else {
		n.servedOpen++
	}
	n.mu.Unlock()
	switch h.mode {
	case ioPassthrough:
		m.s.ptOpens.Add(1)
	case ioDirect:
		m.s.servedOpens.Add(1)
		m.s.directOpens.Add(1)
	default:
		m.s.servedOpens.Add(1)
	}
	return h, 0
}

// backable reports whether files of fd's filesystem can be passthrough
// backing files: the kernel refuses (and go-fuse then stops trying for the
// whole mount) a backing file on a stacked filesystem as deep as this
// mount's max_stack_depth.
func (m *mount) backable(fd int, dev uint64) bool {
	if v, ok := m.ptFS.Load(dev); ok {
		return v.(bool)
	}
	var st unix.Statfs_t
	ok := false
	if unix.Fstatfs(fd, &st) == nil {
		switch uint32(st.Type) {
		case unix.OVERLAYFS_SUPER_MAGIC:
			ok = m.maxStack > 1
		case unix.FUSE_SUPER_MAGIC, unix.ECRYPTFS_SUPER_MAGIC:
			ok = false
		default:
			ok = true
		}
	}
	m.ptFS.Store(dev, ok)
	return ok
}

// fuseFlags are the open's reply flags. FOPEN_NOFLUSH spares every
// close(2) a FLUSH request (a round trip to this process, a fifth of an
// open-read-close of a small file): the underlying file is local to this
// process, and its descriptor is closed at release anyway. go-fuse adds
// FOPEN_PASSTHROUGH for passthrough opens.
func (h *handle) fuseFlags() uint32 {
	if h.mode == ioDirect {
		return fuse.FOPEN_DIRECT_IO | fuse.FOPEN_PARALLEL_DIRECT_WRITES | fuse.FOPEN_NOFLUSH
	}
	return fuse.FOPEN_NOFLUSH
}

// PassthroughFd implements fs.FilePassthroughFder: go-fuse registers the
// descriptor as the node's backing file when this returns true.
func (h *handle) PassthroughFd() (int, bool) {
	return h.fd, h.mode == ioPassthrough
}

// event fills a data operation's event. A request the kernel makes on
// its own (writeback of a shared mapping's pages, the release of a file
// whose process has gone) carries no process: the file's opener is named
// instead.
func (h *handle) event(ev *file.Event) {
	ev.Path = h.path
	ev.Ino, ev.Dev = h.ino, h.dev
	if ev.TID == 0 {
		ev.PID, ev.TID, ev.UID, ev.GID = h.pid, h.tid, h.uid, h.gid
	}
}

// servedPassthrough notes a read or write request on a file opened for
// passthrough: the kernel did not take the backing file (go-fuse then
// stops offering passthrough for the whole mount), so Caps and Stats stop
// claiming it.
func (h *handle) servedPassthrough() {
	m := h.n.m
	if h.mode == ioPassthrough && m.passthrough.CompareAndSwap(true, false) {
		m.s.passthrough.Store(false)
		m.s.setCaps(true, false)
		m.s.logf("fuse: the kernel refused a passthrough backing file for %s; reads and writes now all pass through this process", h.path)
	}
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	m := h.n.m
	m.s.reads.Add(1)
	h.servedPassthrough()
	hk := m.hook(ctx, file.Read)
	if !hk.on() {
		return fuse.ReadResultFd(uintptr(h.fd), off, len(dest)), 0
	}
	h.event(hk.ev)
	hk.ev.Offset, hk.ev.Length = off, uint64(len(dest))
	if errno, _ := hk.before(); errno != 0 {
		return nil, hk.refuse(errno)
	}
	n, err := preadFull(h.fd, dest, off)
	if err != nil && n == 0 {
		return nil, hk.afterErr(err)
	}
	hk.after(int64(n))
	return fuse.ReadResultData(dest[:n]), 0
}

// preadFull reads until dest is full or the end of the file, as the
// kernel expects of a read request (a short read means end of file).
func preadFull(fd int, dest []byte, off int64) (int, error) {
	total := 0
	for total < len(dest) {
		n, err := unix.Pread(fd, dest[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	m := h.n.m
	m.s.writes.Add(1)
	h.servedPassthrough()
	hk := m.hook(ctx, file.Write)
	if hk.on() {
		h.event(hk.ev)
		hk.ev.Offset, hk.ev.Length = off, uint64(len(data))
	}
	if errno, _ := hk.before(); errno != 0 {
		return 0, hk.refuse(errno)
	}
	if c, ok := fuse.FromContext(ctx); ok && c.Uid != 0 {
		killSetID(h.fd)
	}
	total := 0
	for total < len(data) {
		n, err := unix.Pwrite(h.fd, data[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total == 0 {
				return 0, hk.afterErr(err)
			}
			break
		}
		total += n
	}
	hk.after(int64(total))
	return uint32(total), 0
}

// Release is the file's last close: a Close event. The process's close(2)
// has already returned, so a refusal changes nothing.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	m := h.n.m
	hk := m.hook(ctx, file.Close)
	if hk.on() {
		h.event(hk.ev)
	}
	hk.before()
	err := unix.Close(h.fd)
	h.fd = -1
	n := h.n
	n.mu.Lock()
	if h.mode == ioPassthrough {
		n.ptOpen--
	} else {
		n.servedOpen--
	}
	n.mu.Unlock()
	return hk.afterErr(err)
}

// Flush would be called on every close(2) of a descriptor of the file
// (but the opens ask for no flushes); closing a duplicate of the
// underlying descriptor gives its filesystem the same chance to report
// errors.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	fd, err := unix.Dup(h.fd)
	if err != nil {
		return toErrno(err)
	}
	return toErrno(unix.Close(fd))
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if flags&1 != 0 {
		return toErrno(unix.Fdatasync(h.fd))
	}
	return toErrno(unix.Fsync(h.fd))
}

func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	n, err := unix.Seek(h.fd, int64(off), int(whence))
	return uint64(n), toErrno(err)
}

func (h *handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	return toErrno(unix.Fallocate(h.fd, mode, int64(off), int64(size)))
}

// setIDMode reports whether a write by an unprivileged process clears
// bits of mode: set-user-ID, or set-group-ID with group execute.
func setIDMode(mode uint32) bool {
	return mode&unix.S_IFMT == unix.S_IFREG &&
		(mode&unix.S_ISUID != 0 || mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP)
}

// killSetID clears the set-user-ID bit, and the set-group-ID bit when
// group execute is set, of a regular file, as the kernel does when a
// process without CAP_FSETID writes or truncates it. The mount leaves
// that to this process (FUSE_HANDLE_KILLPRIV_V2), whose own writes, as
// root, would keep the bits; writers other than root stand for callers
// without CAP_FSETID. (security.capability needs no help: the kernel
// removes it on any write, root's included.)
func killSetID(fd int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || !setIDMode(st.Mode) {
		return
	}
	mode := st.Mode & 07777 &^ unix.S_ISUID
	if mode&unix.S_IXGRP != 0 {
		mode &^= unix.S_ISGID
	}
	if err := unix.Fchmod(fd, mode); err == unix.EBADF { // an O_PATH descriptor
		unix.Chmod(procFD(fd), mode)
	}
}
