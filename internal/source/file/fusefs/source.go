package fusefs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// Options configure a Source.
type Options struct {
	// Dir is the directory whose files are interposed on.
	Dir string
	// MountPoint is where the mount appears. Empty mounts over Dir itself:
	// the source opens Dir before mounting and serves every operation
	// relative to that descriptor, so the files stay where they are and
	// every access by path goes through the source.
	MountPoint string
	// Interest says which operations have programs; nil means all. It is
	// called on every operation (keep it cheap and safe for concurrent
	// use): operations nobody handles are not reported, and files opened
	// while no one handles Read or Write use kernel passthrough.
	Interest file.Interest
	// Logf receives notes a user may want to see (a dead mount cleaned up,
	// a lazy unmount, a handler panic). nil discards them.
	Logf func(format string, args ...any)
	// Ready, when set, is called once the mount serves requests.
	Ready func()
}

// Stats are counters of a running (or finished) Source.
type Stats struct {
	// Passthrough is whether the kernel accepted a passthrough backing
	// file on this mount (probed when Run starts).
	Passthrough bool
	// PassthroughOpens counts opens whose data I/O the kernel did
	// directly on the underlying file.
	PassthroughOpens uint64
	// ServedOpens counts opens whose reads and writes come to this
	// process: DirectOpens of them with FOPEN_DIRECT_IO (every read(2) and
	// write(2) is a request), the rest through the kernel's page cache.
	ServedOpens, DirectOpens uint64
	// Reads and Writes count the FUSE read and write requests served.
	Reads, Writes uint64
	// Redirects counts opens redirected by a verdict; Denied operations
	// refused by one.
	Redirects, Denied uint64
	// Panics counts Handler panics (the operation was allowed).
	Panics uint64
}

// Source is the FUSE interposition source. Create one with New; Run may
// be called again after it returned, but not twice at once.
type Source struct {
	opts    Options
	running atomic.Bool

	passthrough                              atomic.Bool
	ptOpens, servedOpens, directOpens        atomic.Uint64
	reads, writes, redirects, denied, panics atomic.Uint64

	mu   sync.Mutex
	caps file.Caps
}

// New returns a Source; nothing happens until Run.
func New(opts Options) *Source {
	s := &Source{opts: opts}
	s.setCaps(false, false)
	return s
}

// Name implements file.Source.
func (s *Source) Name() string { return "fuse" }

// Caps implements file.Source. Before Run it describes what the source
// aims for; once Run has mounted, Limitation says whether kernel
// passthrough is active.
func (s *Source) Caps() file.Caps {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

// Dropped implements file.Source. Every event is delivered while the
// operation waits for it, so none is ever dropped.
func (s *Source) Dropped() uint64 { return 0 }

// Stats returns the source's counters.
func (s *Source) Stats() Stats {
	return Stats{
		Passthrough:      s.passthrough.Load(),
		PassthroughOpens: s.ptOpens.Load(),
		ServedOpens:      s.servedOpens.Load(),
		DirectOpens:      s.directOpens.Load(),
		Reads:            s.reads.Load(),
		Writes:           s.writes.Load(),
		Redirects:        s.redirects.Load(),
		Denied:           s.denied.Load(),
		Panics:           s.panics.Load(),
	}
}

// Run implements file.Source: it mounts, delivers events to h until ctx
// is done, then unmounts and returns nil.
func (s *Source) Run(ctx context.Context, h file.Handler) error {
	if h == nil {
		return errors.New("fuse: nil handler")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("fuse: Run is already running")
	}
	defer s.running.Store(false)
	return s.run(ctx, h)
}

func (s *Source) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// limitation is what every mount cannot see.
const limitation = "sees only access through the mount: descriptors and working directories opened before it was mounted, " +
	"and (with a separate mount point) access to the directory itself, bypass it; " +
	"a file's last close is reported after close(2) returned and cannot be refused; " +
	"opens, creations and redirections run as root after the kernel checked the caller's permission on the path it named; " +
	"file locks are local to the mount; O_TMPFILE is not supported"

func (s *Source) setCaps(mounted, passthrough bool) {
	c := file.Caps{
		Pre: file.AllOps, Post: file.AllOps,
		Deny: true, Redirect: true, Latency: true, PID: true,
		Scope: "the mount at " + s.mountPoint(),
	}
	lim := limitation
	switch {
	case !mounted:
		lim += "; kernel passthrough for files no Read or Write program watches is decided when Run mounts"
	case passthrough:
		lim += "; kernel passthrough is active: files opened while no program handles Read or Write " +
			"are read and written by the kernel directly (their reads, writes and shared-mapping writes are not seen, " +
			"even by programs attached later, until every open of that file is closed), and cannot be redirected meanwhile (EBUSY)"
	default:
		lim += "; kernel passthrough is not available, so every read and write of an open file passes through this process"
	}
	c.Limitation = lim
	s.mu.Lock()
	s.caps = c
	s.mu.Unlock()
}

func (s *Source) mountPoint() string {
	if s.opts.MountPoint != "" {
		return s.opts.MountPoint
	}
	return s.opts.Dir
}

func unavailable(tried string, err error, fix string) *file.UnavailableError {
	return &file.UnavailableError{Source: "fuse", Tried: tried, Err: err, Fix: fix}
}
