package fusefs

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// node is a file or directory of the mount. It holds no descriptor: every
// operation names the file by its path relative to the directory
// underneath (the root descriptor), resolved with openat2's
// RESOLVE_BENEATH so that a symbolic link swapped into the directory
// cannot lead this (root) process outside it.
type node struct {
	fs.Inode
	m        *mount
	dev, ino uint64 // the underlying file

	// phantom is set on the node a redirected create returns: the file
	// that was opened instead (an absolute path), which has no name in
	// the mount.
	phantom string

	mu         sync.Mutex
	ptOpen     int // open handles using kernel passthrough
	servedOpen int // open handles whose I/O comes to this process
}

var (
	_ fs.NodeLookuper      = (*node)(nil)
	_ fs.NodeGetattrer     = (*node)(nil)
	_ fs.NodeSetattrer     = (*node)(nil)
	_ fs.NodeOpener        = (*node)(nil)
	_ fs.NodeCreater       = (*node)(nil)
	_ fs.NodeMknoder       = (*node)(nil)
	_ fs.NodeMkdirer       = (*node)(nil)
	_ fs.NodeRmdirer       = (*node)(nil)
	_ fs.NodeUnlinker      = (*node)(nil)
	_ fs.NodeRenamer       = (*node)(nil)
	_ fs.NodeSymlinker     = (*node)(nil)
	_ fs.NodeLinker        = (*node)(nil)
	_ fs.NodeReadlinker    = (*node)(nil)
	_ fs.NodeReaddirer     = (*node)(nil)
	_ fs.NodeStatfser      = (*node)(nil)
	_ fs.NodeGetxattrer    = (*node)(nil)
	_ fs.NodeSetxattrer    = (*node)(nil)
	_ fs.NodeListxattrer   = (*node)(nil)
	_ fs.NodeRemovexattrer = (*node)(nil)
)

// rel returns the node's path relative to the root ("" for the root), and
// false when the node is in no directory any more (unlinked, or a
// phantom).
func (n *node) rel() (string, bool) {
	if n.phantom != "" {
		return "", false
	}
	var names []string
	in := &n.Inode
	for !in.IsRoot() {
		name, p := in.Parent()
		if p == nil {
			return "", false
		}
		names = append(names, name)
		in = p
	}
	slices.Reverse(names)
	return strings.Join(names, "/"), true
}

// dirRel is rel for a directory about to be operated in.
func (n *node) dirRel() (string, syscall.Errno) {
	rel, ok := n.rel()
	if !ok {
		return "", syscall.ENOENT
	}
	return rel, 0
}

// openBeneath opens rel under dirfd, refusing to leave it.
func openBeneath(dirfd int, rel string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode)
	}
	for {
		fd, err := unix.Openat2(dirfd, rel, &how)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openDir returns a descriptor of the directory rel, for *at calls: the
// root descriptor itself for "", else a new O_PATH one for closeDir.
func (m *mount) openDir(rel string) (int, error) {
	if rel == "" {
		return m.rootfd, nil
	}
	return openBeneath(m.rootfd, rel, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
}

func (m *mount) closeDir(fd int) {
	if fd != m.rootfd && fd >= 0 {
		unix.Close(fd)
	}
}

// loc names a node for *at system calls: a directory descriptor and a name
// (not followed if a symbolic link), or for the root, the root descriptor
// through /proc.
type loc struct {
	dirfd int
	name  string
	root  bool
}

func (m *mount) locate(rel string) (loc, syscall.Errno) {
	if rel == "" {
		return loc{dirfd: unix.AT_FDCWD, name: procFD(m.rootfd), root: true}, 0
	}
	d, name := splitRel(rel)
	fd, err := m.openDir(d)
	if err != nil {
		return loc{dirfd: -1}, toErrno(err)
	}
	return loc{dirfd: fd, name: name}, 0
}

func (m *mount) unlocate(l loc) {
	if !l.root {
		m.closeDir(l.dirfd)
	}
}

// nofollow is the AT_ flag for l.
func (l loc) nofollow() int {
	if l.root {
		return 0
	}
	return unix.AT_SYMLINK_NOFOLLOW
}

// path is a path naming l's file for calls without an *at form: through
// /proc/self/fd of the directory, so that only its last name is looked up.
func (l loc) path() string {
	if l.root {
		return l.name
	}
	return procFD(l.dirfd) + "/" + l.name
}

func procFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// stat fills a with the file's attributes (a.Ino is the mount's inode
// number) and returns the underlying device, inode and generation.
func (m *mount) stat(dirfd int, name string, flags int, a *fuse.Attr) (dev, ino, gen uint64, err error) {
	var x unix.Statx_t
	for {
		err = unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, 0, 0, err
	}
	dev = unix.Mkdev(x.Dev_major, x.Dev_minor)
	*a = fuse.Attr{
		Ino:       m.inoOf(dev, x.Ino),
		Size:      x.Size,
		Blocks:    x.Blocks,
		Atime:     uint64(x.Atime.Sec),
		Atimensec: x.Atime.Nsec,
		Mtime:     uint64(x.Mtime.Sec),
		Mtimensec: x.Mtime.Nsec,
		Ctime:     uint64(x.Ctime.Sec),
		Ctimensec: x.Ctime.Nsec,
		Mode:      uint32(x.Mode),
		Nlink:     x.Nlink,
		Owner:     fuse.Owner{Uid: x.Uid, Gid: x.Gid},
		Rdev:      uint32(unix.Mkdev(x.Rdev_major, x.Rdev_minor)),
		Blksize:   x.Blksize,
	}
	gen = 1
	if x.Mask&unix.STATX_BTIME != 0 && (x.Btime.Sec != 0 || x.Btime.Nsec != 0) {
		gen = uint64(x.Btime.Sec)*1e9 + uint64(x.Btime.Nsec)
	}
	return dev, x.Ino, gen, nil
}

// fstat is stat of a descriptor.
func (m *mount) fstat(fd int, a *fuse.Attr) (dev, ino, gen uint64, err error) {
	return m.stat(fd, "", unix.AT_EMPTY_PATH, a)
}

// inoOf is the mount's inode number for an underlying file: its own
// number on the root's device, mixed with the device elsewhere (as
// go-fuse's loopback does).
func (m *mount) inoOf(dev, ino uint64) uint64 {
	swap := func(x uint64) uint64 { return x<<32 | x>>32 }
	return swap(dev) ^ swap(m.rootDev) ^ ino
}

// newChild makes the node for a file just looked up or created; the
// returned Inode may be an existing one for the same file.
func (n *node) newChild(ctx context.Context, a *fuse.Attr, dev, ino, gen uint64) *fs.Inode {
	ch := &node{m: n.m, dev: dev, ino: ino}
	return n.NewInode(ctx, ch, fs.StableAttr{Mode: a.Mode & syscall.S_IFMT, Ino: a.Ino, Gen: gen})
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, errno
	}
	dirfd, err := n.m.openDir(rel)
	if err != nil {
		return nil, toErrno(err)
	}
	defer n.m.closeDir(dirfd)
	dev, ino, gen, err := n.m.stat(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, &out.Attr)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.newChild(ctx, &out.Attr, dev, ino, gen), 0
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok && !h.redirected {
		_, _, _, err := n.m.fstat(h.fd, &out.Attr)
		return toErrno(err)
	}
	if n.phantom != "" {
		errno := n.m.statRedirect(n.phantom, &out.Attr)
		out.Ino = n.StableAttr().Ino
		return errno
	}
	rel, ok := n.rel()
	if !ok {
		return syscall.ENOENT
	}
	l, errno := n.m.locate(rel)
	if errno != 0 {
		return errno
	}
	defer n.m.unlocate(l)
	_, _, _, err := n.m.stat(l.dirfd, l.name, l.nofollow(), &out.Attr)
	return toErrno(err)
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	h, _ := f.(*handle)
	rel, ok := n.rel()
	if !ok && h == nil {
		return syscall.ENOENT
	}
	hk := n.m.hook(ctx, file.Setattr)
	if hk.on() {
		switch {
		case h != nil:
			hk.ev.Path = h.path
		default:
			hk.ev.Path = n.m.userPath(rel)
		}
		hk.ev.Ino, hk.ev.Dev = n.ino, n.dev
		if mode, ok := in.GetMode(); ok {
			hk.ev.Mode = mode
		}
		if size, ok := in.GetSize(); ok {
			hk.ev.Offset = int64(size)
		}
	}
	if errno, _ := hk.before(); errno != 0 {
		return hk.refuse(errno)
	}
	err := n.setattr(h, rel, in)
	if errno := hk.afterErr(err); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, f, out)
}

func (n *node) setattr(h *handle, rel string, in *fuse.SetAttrIn) error {
	// Without a handle the file is named by a descriptor opened with
	// O_PATH and not following a final symbolic link, through /proc.
	target := ""
	if h != nil {
		target = procFD(h.fd)
	} else {
		l, errno := n.m.locate(rel)
		if errno != 0 {
			return errno
		}
		if l.root {
			target = l.name
		} else {
			fd, err := unix.Openat(l.dirfd, l.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			n.m.unlocate(l)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			target = procFD(fd)
		}
	}
	if mode, ok := in.GetMode(); ok {
		if err := unix.Chmod(target, mode); err != nil {
			return err
		}
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := unix.Chown(target, u, g); err != nil {
			return err
		}
	}
	// Truncate before setting times, so that an explicit mtime stays.
	if size, ok := in.GetSize(); ok {
		var err error
		if h != nil {
			err = unix.Ftruncate(h.fd, int64(size))
		} else {
			err = unix.Truncate(target, int64(size))
		}
		if err != nil {
			return err
		}
		if in.Valid&fuse.FATTR_KILL_SUIDGID != 0 {
			// An unprivileged truncate: clear the set-ID bits.
			if fd, err := unix.Open(target, unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
				killSetID(fd)
				unix.Close(fd)
			}
		}
	}
	if in.Valid&(fuse.FATTR_ATIME|fuse.FATTR_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if in.Valid&fuse.FATTR_ATIME != 0 {
			ts[0] = unix.Timespec{Sec: int64(in.Atime), Nsec: int64(in.Atimensec)}
			if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
				ts[0] = unix.Timespec{Nsec: unix.UTIME_NOW}
			}
		}
		if in.Valid&fuse.FATTR_MTIME != 0 {
			ts[1] = unix.Timespec{Sec: int64(in.Mtime), Nsec: int64(in.Mtimensec)}
			if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
				ts[1] = unix.Timespec{Nsec: unix.UTIME_NOW}
			}
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, 0); err != nil {
			return err
		}
	}
	return nil
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	rel, ok := n.rel()
	if !ok {
		return nil, 0, syscall.ENOENT
	}
	path := n.m.userPath(rel)
	hk := n.m.hook(ctx, file.Open)
	if hk.on() {
		hk.ev.Path = path
		hk.ev.Flags = flags &^ fuse.FMODE_EXEC
		hk.ev.Ino, hk.ev.Dev = n.ino, n.dev
	}
	errno, redirect := hk.before()
	if errno != 0 {
		return nil, 0, hk.refuse(errno)
	}
	oflags := openFlags(flags)
	var fd int
	var err error
	if redirect != "" {
		fd, _, err = n.m.openRedirect(ctx, redirect, oflags, 0, false)
	} else {
		fd, err = openBeneath(n.m.rootfd, rel, oflags|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return nil, 0, hk.afterErr(err)
	}
	h, errno := n.newHandle(ctx, fd, path, redirect != "", oflags)
	if errno != 0 {
		return nil, 0, hk.refuse(errno)
	}
	if hk.on() {
		hk.ev.Ino, hk.ev.Dev = h.ino, h.dev
	}
	hk.after(0)
	return h, h.fuseFlags(), 0
}

// openFlags are the flags to open the underlying file with: the caller's,
// without O_APPEND (the kernel gives every write its offset) and the
// kernel's FMODE_EXEC marker.
func openFlags(flags uint32) int {
	return int(flags&^fuse.FMODE_EXEC) &^ unix.O_APPEND
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	path := n.m.userPath(joinRel(rel, name))
	hk := n.m.hook(ctx, file.Create)
	if hk.on() {
		hk.ev.Path = path
		hk.ev.Flags = flags &^ fuse.FMODE_EXEC
		hk.ev.Mode = mode
	}
	errno, redirect := hk.before()
	if errno != 0 {
		return nil, nil, 0, hk.refuse(errno)
	}
	oflags := openFlags(flags)
	if redirect != "" {
		ch, h, errno := n.createRedirect(ctx, redirect, path, oflags, mode, out)
		if errno != 0 {
			return nil, nil, 0, hk.afterErr(errno)
		}
		if hk.on() {
			hk.ev.Ino, hk.ev.Dev = h.ino, h.dev
		}
		hk.after(0)
		return ch, h, h.fuseFlags(), 0
	}
	dirfd, err := n.m.openDir(rel)
	if err != nil {
		return nil, nil, 0, hk.afterErr(err)
	}
	defer n.m.closeDir(dirfd)
	fd, created, err := createAt(dirfd, name, oflags|unix.O_NOFOLLOW, mode&07777)
	if err != nil {
		return nil, nil, 0, hk.afterErr(err)
	}
	if created {
		n.m.giveToCaller(ctx, fd, dirfd, mode, false)
	}
	dev, ino, gen, err := n.m.fstat(fd, &out.Attr)
	if err != nil {
		unix.Close(fd)
		return nil, nil, 0, hk.afterErr(err)
	}
	ch := &node{m: n.m, dev: dev, ino: ino}
	child := n.NewInode(ctx, ch, fs.StableAttr{Mode: out.Attr.Mode & syscall.S_IFMT, Ino: out.Attr.Ino, Gen: gen})
	ch = child.Operations().(*node)
	h, errno := ch.newHandle(ctx, fd, path, false, oflags)
	if errno != 0 {
		return nil, nil, 0, hk.refuse(errno)
	}
	if hk.on() {
		hk.ev.Ino, hk.ev.Dev = dev, ino
	}
	hk.after(0)
	return child, h, h.fuseFlags(), 0
}

// createAt opens name in dirfd with O_CREAT and reports whether this call
// created it: it first tries O_EXCL, and falls back to opening an
// existing file when the caller did not ask for O_EXCL.
func createAt(dirfd int, name string, flags int, mode uint32) (int, bool, error) {
	fd, err := unix.Openat(dirfd, name, flags|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, mode)
	if err == nil {
		return fd, true, nil
	}
	if err != unix.EEXIST || flags&unix.O_EXCL != 0 {
		return -1, false, err
	}
	fd, err = unix.Openat(dirfd, name, flags&^unix.O_CREAT|unix.O_CLOEXEC, 0)
	return fd, false, err
}

// dirInfo returns what a directory gives the files made in it: its group
// when it is set-group-ID, and their permissions when it has a default
// ACL.
func dirInfo(dirfd int) (sgid, defaultACL bool) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, "", &st, unix.AT_EMPTY_PATH); err == nil {
		sgid = st.Mode&unix.S_ISGID != 0
	}
	_, err := unix.Getxattr(procFD(dirfd), "system.posix_acl_default", nil)
	return sgid, err == nil
}

// giveToCaller makes a file this (root) process just created in dirfd
// look as if the caller had: its owner (and group, unless the directory
// is set-group-ID), and the mode the caller asked for (mode, which the
// kernel has masked with the caller's umask), which this process's umask
// and chown's clearing of set-ID bits may have changed. Where the
// directory has a default ACL, the filesystem derived the permissions
// from it (ignoring this process's umask), and only set-ID bits are
// restored. fd may be an O_PATH descriptor.
func (m *mount) giveToCaller(ctx context.Context, fd, dirfd int, mode uint32, isLink bool) {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return
	}
	sgid, defaultACL := dirInfo(dirfd)
	gid := int(c.Gid)
	if sgid {
		gid = -1
	}
	if c.Uid != 0 || gid > 0 {
		unix.Fchownat(fd, "", int(c.Uid), gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	}
	if isLink {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return
	}
	want := mode & 07777
	if defaultACL {
		want = st.Mode&0o777 | mode&07000
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		want |= st.Mode & unix.S_ISGID // inherited from a set-group-ID parent
	}
	if st.Mode&07777 != want {
		unix.Chmod(procFD(fd), want)
	}
}

// createRedirect serves a create whose verdict named another file: that
// file is opened (created if need be) instead, and the kernel is given a
// node of its own for it, which it forgets at once, so the name the
// process used stays absent.
func (n *node) createRedirect(ctx context.Context, redirect, path string, oflags int, mode uint32, out *fuse.EntryOut) (*fs.Inode, *handle, syscall.Errno) {
	fd, _, err := n.m.openRedirect(ctx, redirect, oflags, mode&07777, true)
	if err != nil {
		return nil, nil, toErrno(err)
	}
	dev, ino, _, err := n.m.fstat(fd, &out.Attr)
	if err != nil {
		unix.Close(fd)
		return nil, nil, toErrno(err)
	}
	ph := &node{m: n.m, dev: dev, ino: ino, phantom: filepath.Clean(redirect)}
	child := n.NewInode(ctx, ph, fs.StableAttr{Mode: out.Attr.Mode & syscall.S_IFMT, Gen: 1})
	out.SetEntryTimeout(time.Nanosecond)
	out.SetAttrTimeout(time.Nanosecond)
	h, errno := ph.newHandle(ctx, fd, path, true, oflags)
	if errno != 0 {
		return nil, nil, errno
	}
	return child, h, 0
}

// inMount returns the path relative to the mount's root of an absolute
// path under the mount point.
func (m *mount) inMount(p string) (string, bool) {
	if p == m.mp {
		return "", true
	}
	prefix := m.mp + "/"
	if m.mp == "/" {
		prefix = "/"
	}
	if strings.HasPrefix(p, prefix) {
		return p[len(prefix):], true
	}
	return "", false
}

// openRedirect opens the file a verdict redirected to. A path under the
// mount point is opened through the directory underneath (opening it
// through the mount from inside a request could wait for a lock the
// kernel holds for that very request); any other absolute path is opened
// as it is. With create, the file is created when missing, and then given
// to the caller.
func (m *mount) openRedirect(ctx context.Context, target string, oflags int, mode uint32, create bool) (int, bool, error) {
	if !filepath.IsAbs(target) {
		m.s.logf("fuse: redirect to %q refused: not an absolute path", target)
		return -1, false, syscall.EINVAL
	}
	target = filepath.Clean(target)
	m.s.redirects.Add(1)
	dirfd, name := unix.AT_FDCWD, target
	dir, base := filepath.Dir(target), filepath.Base(target)
	if rel, ok := m.inMount(target); ok {
		if rel == "" {
			return -1, false, syscall.EISDIR
		}
		d, b := splitRel(rel)
		fd, err := m.openDir(d)
		if err != nil {
			return -1, false, err
		}
		defer m.closeDir(fd)
		dirfd, name = fd, b
	} else if create {
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, false, err
		}
		defer unix.Close(fd)
		dirfd, name = fd, base
	}
	if !create {
		fd, err := unix.Openat(dirfd, name, oflags|unix.O_CLOEXEC, 0)
		return fd, false, err
	}
	fd, created, err := createAt(dirfd, name, oflags, mode)
	if err == nil && created {
		m.giveToCaller(ctx, fd, dirfd, mode, false)
	}
	return fd, created, err
}

// statRedirect stats a phantom node's file.
func (m *mount) statRedirect(target string, a *fuse.Attr) syscall.Errno {
	var err error
	if rel, ok := m.inMount(target); ok {
		var fd int
		fd, err = openBeneath(m.rootfd, rel, unix.O_PATH, 0)
		if err == nil {
			_, _, _, err = m.fstat(fd, a)
			unix.Close(fd)
		}
	} else {
		_, _, _, err = m.stat(unix.AT_FDCWD, target, 0, a)
	}
	return toErrno(err)
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, errno
	}
	hk := n.m.hook(ctx, file.Create)
	if hk.on() {
		hk.ev.Path = n.m.userPath(joinRel(rel, name))
		hk.ev.Mode = mode
	}
	if errno, _ := hk.before(); errno != 0 {
		return nil, hk.refuse(errno)
	}
	return n.made(ctx, &hk, rel, name, mode, out, func(dirfd int) error {
		return unix.Mknodat(dirfd, name, mode, int(rdev))
	})
}

// made finishes an operation that makes a directory entry (mknod, mkdir,
// symlink): it runs mk in the parent directory, gives the new file to the
// caller (mode is what the caller asked for, with its type), and returns
// its node.
func (n *node) made(ctx context.Context, hk *hook, rel, name string, mode uint32, out *fuse.EntryOut, mk func(dirfd int) error) (*fs.Inode, syscall.Errno) {
	dirfd, err := n.m.openDir(rel)
	if err != nil {
		return nil, hk.afterErr(err)
	}
	defer n.m.closeDir(dirfd)
	if err := mk(dirfd); err != nil {
		return nil, hk.afterErr(err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, hk.afterErr(err)
	}
	defer unix.Close(fd)
	n.m.giveToCaller(ctx, fd, dirfd, mode, mode&syscall.S_IFMT == syscall.S_IFLNK)
	dev, ino, gen, err := n.m.fstat(fd, &out.Attr)
	if err != nil {
		return nil, hk.afterErr(err)
	}
	if hk.on() {
		hk.ev.Ino, hk.ev.Dev = ino, dev
	}
	hk.after(0)
	return n.newChild(ctx, &out.Attr, dev, ino, gen), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, errno
	}
	hk := n.m.hook(ctx, file.Mkdir)
	if hk.on() {
		hk.ev.Path = n.m.userPath(joinRel(rel, name))
		hk.ev.Mode = mode | syscall.S_IFDIR
	}
	if errno, _ := hk.before(); errno != 0 {
		return nil, hk.refuse(errno)
	}
	return n.made(ctx, &hk, rel, name, mode|syscall.S_IFDIR, out, func(dirfd int) error {
		return unix.Mkdirat(dirfd, name, mode&07777)
	})
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, errno
	}
	hk := n.m.hook(ctx, file.Symlink)
	if hk.on() {
		hk.ev.Path = n.m.userPath(joinRel(rel, name))
		hk.ev.Target = target
	}
	if errno, _ := hk.before(); errno != 0 {
		return nil, hk.refuse(errno)
	}
	return n.made(ctx, &hk, rel, name, syscall.S_IFLNK|0777, out, func(dirfd int) error {
		return unix.Symlinkat(target, dirfd, name)
	})
}

// remove is unlink and rmdir.
func (n *node) remove(ctx context.Context, op file.Op, name string, flags int) syscall.Errno {
	rel, errno := n.dirRel()
	if errno != 0 {
		return errno
	}
	hk := n.m.hook(ctx, op)
	if hk.on() {
		hk.ev.Path = n.m.userPath(joinRel(rel, name))
		if ch, ok := childNode(n.GetChild(name)); ok {
			hk.ev.Ino, hk.ev.Dev = ch.ino, ch.dev
		}
	}
	if errno, _ := hk.before(); errno != 0 {
		return hk.refuse(errno)
	}
	dirfd, err := n.m.openDir(rel)
	if err != nil {
		return hk.afterErr(err)
	}
	defer n.m.closeDir(dirfd)
	return hk.afterErr(unix.Unlinkat(dirfd, name, flags))
}

func childNode(in *fs.Inode) (*node, bool) {
	if in == nil {
		return nil, false
	}
	ch, ok := in.Operations().(*node)
	return ch, ok
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(ctx, file.Unlink, name, 0)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(ctx, file.Rmdir, name, unix.AT_REMOVEDIR)
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok || np.m != n.m {
		return syscall.EXDEV
	}
	rel, errno := n.dirRel()
	if errno != 0 {
		return errno
	}
	nrel, errno := np.dirRel()
	if errno != 0 {
		return errno
	}
	hk := n.m.hook(ctx, file.Rename)
	if hk.on() {
		hk.ev.Path = n.m.userPath(joinRel(rel, name))
		hk.ev.Target = n.m.userPath(joinRel(nrel, newName))
		hk.ev.Flags = flags
		if ch, ok := childNode(n.GetChild(name)); ok {
			hk.ev.Ino, hk.ev.Dev = ch.ino, ch.dev
		}
	}
	if errno, _ := hk.before(); errno != 0 {
		return hk.refuse(errno)
	}
	olddir, err := n.m.openDir(rel)
	if err != nil {
		return hk.afterErr(err)
	}
	defer n.m.closeDir(olddir)
	newdir, err := n.m.openDir(nrel)
	if err != nil {
		return hk.afterErr(err)
	}
	defer n.m.closeDir(newdir)
	return hk.afterErr(unix.Renameat2(olddir, name, newdir, newName, uint(flags)))
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	tn, ok := target.(*node)
	if !ok || tn.m != n.m {
		return nil, syscall.EXDEV
	}
	trel, ok := tn.rel()
	if !ok || trel == "" {
		return nil, syscall.ENOENT
	}
	rel, errno := n.dirRel()
	if errno != 0 {
		return nil, errno
	}
	hk := n.m.hook(ctx, file.Link)
	if hk.on() {
		hk.ev.Path = n.m.userPath(trel)
		hk.ev.Target = n.m.userPath(joinRel(rel, name))
		hk.ev.Ino, hk.ev.Dev = tn.ino, tn.dev
	}
	if errno, _ := hk.before(); errno != 0 {
		return nil, hk.refuse(errno)
	}
	l, errno := n.m.locate(trel)
	if errno != 0 {
		return nil, hk.refuse(errno)
	}
	defer n.m.unlocate(l)
	dirfd, err := n.m.openDir(rel)
	if err != nil {
		return nil, hk.afterErr(err)
	}
	defer n.m.closeDir(dirfd)
	if err := unix.Linkat(l.dirfd, l.name, dirfd, name, 0); err != nil {
		return nil, hk.afterErr(err)
	}
	dev, ino, gen, err := n.m.stat(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, &out.Attr)
	if err != nil {
		return nil, hk.afterErr(err)
	}
	hk.after(0)
	return n.newChild(ctx, &out.Attr, dev, ino, gen), 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	rel, ok := n.rel()
	if !ok {
		return nil, syscall.ENOENT
	}
	l, errno := n.m.locate(rel)
	if errno != 0 {
		return nil, errno
	}
	defer n.m.unlocate(l)
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		k, err := unix.Readlinkat(l.dirfd, l.name, buf)
		if err != nil {
			return nil, toErrno(err)
		}
		if k < size {
			return buf[:k], 0
		}
	}
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	rel, ok := n.rel()
	if !ok {
		return nil, syscall.ENOENT
	}
	if rel == "" {
		rel = "."
	}
	fd, err := openBeneath(n.m.rootfd, rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, toErrno(err)
	}
	return fs.NewLoopbackDirStreamFd(fd)
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(n.m.rootfd, &st); err != nil {
		return toErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

// xattr runs f with a path naming the node's file that is not followed
// when it is a symbolic link (follow false), or that is (the root).
func (n *node) xattr(f func(path string, follow bool) error) syscall.Errno {
	rel, ok := n.rel()
	if !ok {
		return syscall.ENOENT
	}
	l, errno := n.m.locate(rel)
	if errno != 0 {
		return errno
	}
	defer n.m.unlocate(l)
	return toErrno(f(l.path(), l.root))
}

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	var sz int
	errno := n.xattr(func(p string, follow bool) (err error) {
		if follow {
			sz, err = unix.Getxattr(p, attr, dest)
		} else {
			sz, err = unix.Lgetxattr(p, attr, dest)
		}
		return err
	})
	return uint32(max(sz, 0)), errno
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return n.xattr(func(p string, follow bool) error {
		if follow {
			return unix.Setxattr(p, attr, data, int(flags))
		}
		return unix.Lsetxattr(p, attr, data, int(flags))
	})
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var sz int
	errno := n.xattr(func(p string, follow bool) (err error) {
		if follow {
			sz, err = unix.Listxattr(p, dest)
		} else {
			sz, err = unix.Llistxattr(p, dest)
		}
		return err
	})
	return uint32(max(sz, 0)), errno
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return n.xattr(func(p string, follow bool) error {
		if follow {
			return unix.Removexattr(p, attr)
		}
		return unix.Lremovexattr(p, attr)
	})
}
