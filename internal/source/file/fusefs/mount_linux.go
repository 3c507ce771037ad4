package fusefs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// fsType is the mount's type as /proc/self/mountinfo shows it.
const fsType = "fuse.ebpfhost"

// maxIO is the largest read or write request: nearly the kernel's 1 MiB,
// but small enough for go-fuse to splice a reply of that size through a
// pipe of the default maximum pipe size (1 MiB, with room for the header
// and the page go-fuse adds).
const maxIO = 1<<20 - 8<<10

// cacheTimeout is how long the kernel may keep names and attributes
// without asking again.
const cacheTimeout = time.Second

func (s *Source) run(ctx context.Context, h file.Handler) error {
	if s.opts.Dir == "" {
		return errors.New("fuse: Options.Dir is empty")
	}
	dir, err := filepath.Abs(s.opts.Dir)
	if err != nil {
		return err
	}
	mp := dir
	if s.opts.MountPoint != "" {
		if mp, err = filepath.Abs(s.opts.MountPoint); err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return unavailable("mounting FUSE at "+mp, syscall.EPERM, "run as root: the source mounts with mount(2) directly")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return unavailable("opening /dev/fuse", err, "load the fuse module (modprobe fuse) or give the container /dev/fuse")
	}
	if err := s.clearDeadMounts(mp); err != nil {
		return err
	}

	// The directory underneath, opened before anything is mounted over it.
	rootfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fuse: opening %s: %w", dir, err)
	}
	closeRoot := true
	defer func() {
		if closeRoot {
			unix.Close(rootfd)
		}
	}()
	m := &mount{s: s, h: h, rootfd: rootfd, dir: dir, mp: mp, pids: newPidCache()}
	defer m.pids.close()
	var rootAttr fuse.Attr
	rootDev, rootIno, _, err := m.fstat(rootfd, &rootAttr)
	if err != nil {
		return fmt.Errorf("fuse: %s: %w", dir, err)
	}
	m.rootDev = rootDev
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(rootfd, &sfs); err != nil {
		return fmt.Errorf("fuse: %s: %w", dir, err)
	}
	m.maxStack = 1
	if uint32(sfs.Type) == unix.OVERLAYFS_SUPER_MAGIC {
		m.maxStack = 2
	}
	root := &node{m: m, dev: rootDev, ino: rootIno}

	logger := log.New(logWriter{s}, "fuse: go-fuse: ", 0)
	timeout := cacheTimeout
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:        true,
			Name:              "ebpfhost",
			FsName:            dir,
			DirectMountStrict: true,
			DirectMountFlags:  mountFlags(&sfs),
			// The kernel checks permissions against the caller
			// (this process opens everything as root).
			Options:  []string{"default_permissions"},
			MaxWrite: maxIO,
			// HANDLE_KILLPRIV_V2: this process clears set-ID bits
			// itself (killSetID), so the kernel need not ask for
			// security.capability before every write (a GETXATTR
			// round trip per write(2), even with passthrough).
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_DIRECT_IO_ALLOW_MMAP |
				fuse.CAP_PARALLEL_DIROPS | fuse.CAP_HANDLE_KILLPRIV_V2,
			MaxStackDepth: m.maxStack,
			// The kernel enforces the files' POSIX ACLs too (with
			// mode bits alone, an ACL entry that refuses a user would
			// be ignored).
			EnableAcl: true,
			Logger:    logger,
		},
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NullPermissions: true,
		RootStableAttr:  &fs.StableAttr{Ino: rootIno, Gen: 1},
		Logger:          logger,
	}
	srv, err := fs.Mount(mp, root, opts)
	if err != nil {
		// A mount whose INIT failed is left dead: take it away.
		s.clearDeadMounts(mp)
		return unavailable("mounting FUSE at "+mp, err, mountFix(err))
	}
	m.srv = srv
	closeRoot = false
	served := make(chan struct{})
	go func() {
		srv.Wait()
		close(served)
	}()
	var st unix.Stat_t
	mountDev := uint64(0)
	if err := unix.Stat(mp, &st); err == nil {
		mountDev = st.Dev
	}

	m.passthrough.Store(probePassthrough(srv))
	s.passthrough.Store(m.passthrough.Load())
	s.setCaps(true, m.passthrough.Load())
	if s.opts.Ready != nil {
		s.opts.Ready()
	}

	select {
	case <-ctx.Done():
	case <-served:
		m.closed.Store(true)
		unix.Close(rootfd)
		return fmt.Errorf("fuse: the mount at %s was unmounted from outside", mp)
	}
	m.closed.Store(true)
	if !s.unmount(m, mountDev, served) {
		// Still mounted, under another mount: it keeps serving, without
		// events, until this process exits.
		return nil
	}
	<-served
	unix.Close(rootfd)
	return nil
}

// unmount takes the mount away: a plain unmount, retried briefly (the
// kernel releases files asynchronously after their last close); if files
// are still open, or a process has its working directory in the mount, the
// connection is aborted (MNT_FORCE; their further accesses fail with
// ENOTCONN) and the mount detached (MNT_DETACH), so the path is the plain
// directory again at once.
//
// It returns false when it could not unmount because another mount now
// covers the mount point (unmounting by path would take that one).
func (s *Source) unmount(m *mount, mountDev uint64, served <-chan struct{}) bool {
	mp := m.mp
	var st unix.Stat_t
	if mountDev != 0 && unix.Stat(mp, &st) == nil && st.Dev != mountDev {
		s.logf("fuse: another mount covers %s: leaving this one under it, serving without events until the process exits", mp)
		return false
	}
	delay := 5 * time.Millisecond
	var err error
	for try := 0; try < 6; try++ {
		if err = unix.Unmount(mp, 0); err == nil || err != unix.EBUSY {
			break
		}
		select {
		case <-served:
			return true
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err == nil {
		return true
	}
	if err == unix.EBUSY {
		s.logf("fuse: %s is busy (open files or working directories in it): aborting the connection and detaching it", mp)
	} else {
		s.logf("fuse: unmounting %s: %v; aborting the connection and detaching it", mp, err)
	}
	unix.Unmount(mp, unix.MNT_FORCE)
	if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
		s.logf("fuse: detaching %s: %v", mp, err)
	}
	return true
}

// clearDeadMounts removes FUSE mounts at mp whose server has gone (a
// crashed earlier run leaves one: every access fails with ENOTCONN,
// "Transport endpoint is not connected").
func (s *Source) clearDeadMounts(mp string) error {
	for i := 0; i < 16; i++ {
		fstype, found := topMountAt(mp)
		errno := statfsTimeout(mp, 2*time.Second)
		switch {
		case errno == 0:
			if found && fstype == fsType {
				s.logf("fuse: %s is already interposed on by a running ebpfhost (%s); mounting over it", mp, fsType)
			}
			return nil
		case errno == unix.ETIMEDOUT:
			return unavailable("checking "+mp, errors.New("the filesystem mounted there does not answer"),
				"a FUSE server there is stopped or hung; unmount it with umount -l "+mp)
		case errno == unix.ENOTCONN || errno == unix.ECONNABORTED:
			if !found || !strings.HasPrefix(fstype, "fuse") {
				return unavailable("checking "+mp, errno,
					"a dead FUSE mount above it must be unmounted first (umount -l on the mount point)")
			}
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
				return unavailable("removing the dead "+fstype+" mount at "+mp, err, "unmount it with umount -l "+mp)
			}
			s.logf("fuse: removed a dead %s mount at %s (left by a process that ended without unmounting)", fstype, mp)
		default:
			return fmt.Errorf("fuse: %s: %w", mp, errno)
		}
	}
	return unavailable("removing dead mounts at "+mp, errors.New("too many"), "unmount them with umount -l "+mp)
}

// statfsTimeout asks p's filesystem for its statistics, giving up after d
// (a stopped FUSE server makes the call wait forever; the goroutine is
// then left waiting). Unlike stat, which the kernel may answer from its
// attribute cache for a while, statfs always reaches a FUSE server, so a
// dead one fails with ENOTCONN at once.
func statfsTimeout(p string, d time.Duration) syscall.Errno {
	done := make(chan syscall.Errno, 1)
	go func() {
		var st unix.Statfs_t
		done <- toErrno(unix.Statfs(p, &st))
	}()
	select {
	case errno := <-done:
		return errno
	case <-time.After(d):
		return unix.ETIMEDOUT
	}
}

// topMountAt returns the type of the last mount at mp listed in
// /proc/self/mountinfo (the topmost one).
func topMountAt(mp string) (string, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	var fstype string
	found := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		point, typ, ok := parseMountinfo(sc.Text())
		if ok && point == mp {
			fstype, found = typ, true
		}
	}
	return fstype, found
}

// parseMountinfo returns a mountinfo line's mount point and filesystem
// type.
func parseMountinfo(line string) (point, fstype string, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 7 {
		return "", "", false
	}
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+1 >= len(fields) {
		return "", "", false
	}
	return unescapeMountinfo(fields[4]), fields[sep+1], true
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountFlags mirrors the underlying mount's nosuid, nodev, noexec and
// read-only flags, so the mount does not change what the directory allows.
func mountFlags(st *unix.Statfs_t) uintptr {
	var f uintptr
	for _, p := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_RDONLY, unix.MS_RDONLY},
	} {
		if uintptr(st.Flags)&p.st != 0 {
			f |= p.ms
		}
	}
	if f == 0 {
		f = unix.MS_MGC_VAL // go-fuse's way of asking for no flags
	}
	return f
}

func mountFix(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "mounting needs CAP_SYS_ADMIN in the initial user namespace (run as root, or a privileged container)"
	case errors.Is(err, unix.ENODEV):
		return "the kernel has no FUSE support: load the fuse module (modprobe fuse)"
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return "the mount point must be an existing directory"
	}
	return "check dmesg for the kernel's reason"
}

// probePassthrough asks the kernel to accept a backing file on this
// mount, as passthrough opens will: it needs CONFIG_FUSE_PASSTHROUGH,
// the kernel's and go-fuse's agreement at INIT, and CAP_SYS_ADMIN. A
// memfd stands in for a file.
func probePassthrough(srv *fuse.Server) bool {
	if srv.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		return false
	}
	fd, err := unix.MemfdCreate("ebpfhost-passthrough-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	id, errno := srv.RegisterBackingFd(&fuse.BackingMap{Fd: int32(fd)})
	if errno != 0 {
		return false
	}
	srv.UnregisterBackingFd(id)
	return true
}

// logWriter sends go-fuse's log lines to Options.Logf.
type logWriter struct{ s *Source }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
