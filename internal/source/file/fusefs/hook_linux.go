package fusefs

import (
	"context"
	"path"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// mount is the state of one Run: the underlying directory, the handler,
// and what the kernel granted.
type mount struct {
	s       *Source
	h       file.Handler
	rootfd  int    // the directory underneath, opened before mounting
	dir     string // Options.Dir, absolute and clean
	mp      string // the mount point, absolute and clean; events' paths are under it
	rootDev uint64 // device of rootfd, for inode numbers
	srv     *fuse.Server

	passthrough atomic.Bool // the kernel accepts backing files on this mount
	maxStack    int         // the mount's max_stack_depth
	ptFS        sync.Map    // device → bool: may its files be passthrough backing files
	pids        *pidCache
	nextID      atomic.Uint64
	closed      atomic.Bool // Run is returning: handler no longer called
}

// interest returns the operations someone handles.
func (m *mount) interest() (pre, post file.OpSet) {
	if m.s.opts.Interest == nil {
		return file.AllOps, file.AllOps
	}
	return m.s.opts.Interest()
}

// dataWatched reports whether anyone handles reads or writes.
func (m *mount) dataWatched() bool {
	pre, post := m.interest()
	const data = file.OpSet(1<<file.Read | 1<<file.Write)
	return (pre|post)&data != 0
}

// userPath is the absolute path a process names for rel (relative to the
// mount's root).
func (m *mount) userPath(rel string) string {
	if rel == "" {
		return m.mp
	}
	if m.mp == "/" {
		return "/" + rel
	}
	return m.mp + "/" + rel
}

// hook is one operation's pair of events.
type hook struct {
	m         *mount
	ev        *file.Event // nil when nobody handles the operation
	pre, post bool
}

// hook starts an operation: when someone handles op, the returned hook's
// ev is filled with the id and the caller, for the operation to add the
// rest before calling before.
func (m *mount) hook(ctx context.Context, op file.Op) hook {
	if m.closed.Load() {
		return hook{m: m}
	}
	pre, post := m.interest()
	h := hook{m: m, pre: pre.Has(op), post: post.Has(op)}
	if !h.pre && !h.post {
		return h
	}
	ev := &file.Event{Op: op, ID: m.nextID.Add(1)}
	if c, ok := fuse.FromContext(ctx); ok {
		m.fillCaller(ev, c)
	}
	h.ev = ev
	return h
}

// fillCaller sets PID, TID, UID and GID from a request's caller. The FUSE
// header carries the calling thread's id.
func (m *mount) fillCaller(ev *file.Event, c *fuse.Caller) {
	ev.TID = c.Pid
	ev.PID = m.pids.tgid(c.Pid)
	if ev.PID == 0 {
		ev.PID = c.Pid
	}
	ev.UID, ev.GID = c.Uid, c.Gid
}

// on reports whether anyone handles the operation.
func (h *hook) on() bool { return h.ev != nil }

// before delivers the pre event and returns the errno to refuse the
// operation with (0 to go ahead) and, for opens, the redirection.
func (h *hook) before() (syscall.Errno, string) {
	if h.ev == nil || !h.pre || h.m.closed.Load() {
		return 0, ""
	}
	h.ev.Time = file.Monotonic()
	v := h.m.call(h.ev)
	if v.Errno == 0 {
		return 0, v.Redirect
	}
	h.m.s.denied.Add(1)
	e := v.Errno
	if e < 0 {
		e = -e
	}
	if e > 4095 {
		e = int32(syscall.EPERM)
	}
	return syscall.Errno(e), ""
}

// refuse finishes an operation the pre verdict refused: its post event
// (when handled) carries the refusal as its result.
func (h *hook) refuse(errno syscall.Errno) syscall.Errno {
	h.after(-int64(errno))
	return errno
}

// after delivers the post event with the operation's result.
func (h *hook) after(result int64) {
	if h.ev == nil || !h.post || h.m.closed.Load() {
		return
	}
	ev := *h.ev
	ev.Post = true
	ev.Time = file.Monotonic()
	ev.Result = result
	h.m.call(&ev)
}

// afterErr is after for operations that return only an error.
func (h *hook) afterErr(err error) syscall.Errno {
	errno := toErrno(err)
	h.after(-int64(errno))
	return errno
}

// call runs the handler; a panic allows the operation.
func (m *mount) call(ev *file.Event) (v file.Verdict) {
	defer func() {
		if r := recover(); r != nil {
			m.s.panics.Add(1)
			m.s.logf("fuse: handler panicked on %s %s (operation allowed): %v\n%s", ev.Op, ev.Path, r, debug.Stack())
			v = file.Allow
		}
	}()
	return m.h(ev)
}

func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

// joinRel joins a relative directory and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// splitRel splits a relative path into its directory and last name.
func splitRel(rel string) (string, string) {
	d, n := path.Split(rel)
	if len(d) > 0 {
		d = d[:len(d)-1]
	}
	return d, n
}
