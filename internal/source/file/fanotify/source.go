package fanotify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// DefaultTimeout is how long an open or read waits for the Handler's
// verdict when Options.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// interestPoll is how often Run asks Options.Interest again.
const interestPoll = time.Second

// Options configure a Source.
type Options struct {
	// Paths limits the source to files under these directories (or these
	// files). Each path's filesystem, and each filesystem mounted below
	// it, is marked, and events elsewhere are dropped (notifications) or
	// allowed at once (permission events). Empty: every filesystem in this
	// process's mount namespace.
	Paths []string
	// Deny adds the permission events: the Handler is asked before each
	// open (and, when it wants pre Reads, each read) of a regular file, and
	// its verdict's Errno refuses it. Without Deny the source only
	// reports what already happened.
	Deny bool
	// Interest says which operations are wanted; the source asks the
	// kernel for those alone, and asks again every second. nil: every
	// post operation, and with Deny pre Opens; pre Reads (which hold every
	// read(2) of every watched file until the Handler answers) only when
	// an Interest asks for them.
	Interest file.Interest
	// Timeout bounds how long an open or read waits for the Handler; it
	// is then allowed and counted in Dropped and Late. 0: DefaultTimeout.
	Timeout time.Duration
	// Logf receives notes for users: filesystems not watched, handler
	// panics and timeouts, errnos the kernel will not return. nil discards
	// them.
	Logf func(format string, args ...any)
	// Ready, when set, is called once every mark is in place.
	Ready func()

	// noRename makes the source pair FAN_MOVED_FROM with FAN_MOVED_TO as
	// on kernels before 5.17, which lack FAN_RENAME (for tests).
	noRename bool
}

// Source is the fanotify file source. Create one with New; Run may be
// called again after it returned, but not twice at once.
type Source struct {
	opts  Options
	paths []string // opts.Paths made absolute and clean
	perr  error    // from cleaning the paths

	running atomic.Bool
	dropped atomic.Uint64
	late    atomic.Uint64
	nextID  atomic.Uint64

	mu        sync.Mutex
	errnos    []int32
	unwatched [2][]string // by the notification group, by the permission group
}

// New returns a Source; nothing happens until Run.
func New(opts Options) *Source {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	s := &Source{opts: opts}
	s.paths, s.perr = cleanPaths(opts.Paths)
	return s
}

// Name implements file.Source.
func (s *Source) Name() string { return "fanotify" }

// Post-operation events the source can report.
const postOps = file.OpSet(0) |
	1<<file.Create | 1<<file.Open | 1<<file.Read | 1<<file.Write | 1<<file.Close |
	1<<file.Rename | 1<<file.Unlink | 1<<file.Mkdir | 1<<file.Rmdir | 1<<file.Setattr | 1<<file.Symlink

// Pre-operation events, with Options.Deny.
const preOps = file.OpSet(0) | 1<<file.Open | 1<<file.Read

const limitation = "post events come after the fact, without sizes, offsets or results, several writes " +
	"to a file may come as one, and paths are resolved when the event is read, so a name may have " +
	"changed (or, for a directory already gone, be relative) and the process may have exited; " +
	"pre events are opens and reads of regular files only, with the opener's flags read from " +
	"/proc (0 when they cannot be), and a refusal's errno is EPERM unless the kernel takes it"

// Caps implements file.Source. Once Run has started, Limitation names the
// errnos a refusal can carry here and the mounts not watched.
func (s *Source) Caps() file.Caps {
	c := file.Caps{Post: postOps, PID: true, Limitation: limitation}
	if s.opts.Deny {
		c.Pre, c.Deny = preOps, true
	}
	if len(s.paths) == 0 {
		c.Scope = "every filesystem mounted in the source's mount namespace"
	} else {
		c.Scope = "files under " + strings.Join(s.paths, ", ")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Deny && s.errnos != nil {
		var names []string
		for _, e := range s.errnos {
			if n := errnoName(e); n != "" {
				names = append(names, n)
			}
		}
		c.Limitation += "; errnos a refusal can carry on this kernel: EPERM"
		if len(names) > 0 {
			c.Limitation += ", " + strings.Join(names, ", ")
		}
	}
	if u := append(slices.Clone(s.unwatched[0]), s.unwatched[1]...); len(u) > 0 {
		slices.Sort(u)
		c.Limitation += "; not watched: " + strings.Join(slices.Compact(u), ", ")
	}
	return c
}

// Errnos returns the error numbers, besides EPERM, that a refusal makes
// the open or read fail with on this kernel (FAN_DENY_ERRNO, Linux 6.14);
// a Verdict with another errno refuses with EPERM. nil until Run started
// with Deny.
func (s *Source) Errnos() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.errnos...)
}

// Dropped implements file.Source: permission events allowed without the
// Handler's verdict (timeout, or Run's process not answering), plus queue
// overflows the kernel reported (one each: it does not say how many).
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Late counts the permission events allowed because the Handler did not
// answer within Options.Timeout; they are part of Dropped.
func (s *Source) Late() uint64 { return s.late.Load() }

// Run implements file.Source: it marks the filesystems and calls h for
// each event until ctx is done, then removes everything and returns nil.
// Notifications are delivered in the kernel's order on one goroutine;
// permission events each on a goroutine of their own. When fanotify
// cannot be used here it returns an *file.UnavailableError at once.
func (s *Source) Run(ctx context.Context, h file.Handler) error {
	if s.perr != nil {
		return unavailable("resolving Options.Paths", s.perr, "")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("fanotify: Run is already running on this Source")
	}
	defer s.running.Store(false)
	return s.run(ctx, h)
}

// interest returns the operations wanted now.
func (s *Source) interest() (pre, post file.OpSet) {
	if s.opts.Interest == nil {
		pre, post = file.OpSet(0).With(file.Open), postOps
	} else {
		pre, post = s.opts.Interest()
	}
	if !s.opts.Deny {
		pre = 0
	}
	return pre & preOps, post & postOps
}

// notifyMask is the notification group's mask for the post operations
// wanted; rename says the kernel has FAN_RENAME (5.17).
func notifyMask(post file.OpSet, rename bool) uint64 {
	var m uint64
	if post.Has(file.Create) || post.Has(file.Mkdir) || post.Has(file.Symlink) {
		m |= fanCreate
	}
	if post.Has(file.Unlink) || post.Has(file.Rmdir) {
		m |= fanDelete
	}
	if post.Has(file.Rename) {
		if rename {
			m |= fanRename
		} else {
			m |= fanMovedFrom | fanMovedTo
		}
	}
	if post.Has(file.Write) {
		m |= fanModify
	}
	if post.Has(file.Close) {
		m |= fanCloseWrite | fanCloseNoWrite
	}
	if post.Has(file.Open) {
		m |= fanOpen
	}
	if post.Has(file.Read) {
		m |= fanAccess
	}
	if post.Has(file.Setattr) {
		m |= fanAttrib
	}
	if post.Has(file.Mkdir) || post.Has(file.Rmdir) || post.Has(file.Rename) || post.Has(file.Setattr) {
		m |= fanOnDir
	}
	return m
}

// permMask is the permission group's mask for the pre operations wanted.
func permMask(pre file.OpSet) uint64 {
	var m uint64
	if pre.Has(file.Open) {
		m |= fanOpenPerm
	}
	if pre.Has(file.Read) {
		m |= fanAccessPerm
	}
	return m
}

// notifyMountMask is what of a notification mask a mount mark takes:
// directory entry events need a filesystem mark.
func notifyMountMask(m uint64) uint64 {
	return m &^ (fanCreate | fanDelete | fanRename | fanMovedFrom | fanMovedTo | fanAttrib)
}

func unavailable(tried string, err error, fix string) *file.UnavailableError {
	return &file.UnavailableError{Source: "fanotify", Tried: tried, Err: err, Fix: fix}
}

func (s *Source) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// setUnwatched records the mounts a group does not watch (0: the
// notification group, 1: the permission group).
func (s *Source) setUnwatched(group int, u []string) {
	s.mu.Lock()
	s.unwatched[group] = u
	s.mu.Unlock()
}
