package fanotify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// DefaultTimeout is how long an exec waits for the Handler when
// Options.Timeout is 0: long enough for a handler that runs eBPF programs
// and looks things up, short enough that a stuck handler does not look
// like a hung machine.
const DefaultTimeout = 5 * time.Second

// Options configure a Source.
type Options struct {
	// Timeout bounds how long an exec waits for the Handler's verdict;
	// after it the exec is allowed and the verdict, when it comes, is
	// ignored. 0 means DefaultTimeout.
	Timeout time.Duration
	// Logf receives notes a user may want to see: marks skipped, handler
	// panics and timeouts, refused errnos. nil discards them.
	Logf func(format string, args ...any)
	// Ready, when set, is called once Run has placed its marks, from then
	// on every exec is seen. Tests use it to start processes only then.
	Ready func()
}

// Source is the fanotify exec source. Create one with New; its Run may be
// called again after it returned, but not twice at once.
type Source struct {
	opts      Options
	dropped   atomic.Uint64
	late      atomic.Uint64
	truncated atomic.Uint64
	running   atomic.Bool

	mu       sync.Mutex
	caps     process.Caps
	errnos   []int32 // nil before Run: unknown
	probed   bool
	unmarked []string
}

// limitation is the first part of Caps.Limitation.
const limitation = "sees execs before they run and can refuse them, but not exits; " +
	"Image is the file execve named (the script, not its interpreter) and Argv the arguments " +
	"the caller passed; a script an interpreter reads as data (sh script.sh) is not an exec " +
	"and is not seen; children the hosting process itself starts with vfork (Go's os/exec) " +
	"are reported but cannot be refused; filesystems mounted only in other mount namespaces " +
	"are not seen"

// New returns a Source; nothing happens until Run.
func New(opts Options) *Source {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	s := &Source{
		opts: opts,
		caps: process.Caps{
			Deny:      true,
			Creates:   true,
			Argv:      true,
			Parent:    true,
			UID:       true,
			AllMounts: true, // until Run finds a mount it cannot mark
		},
	}
	s.updateLimitation()
	return s
}

// Name implements process.Source.
func (s *Source) Name() string { return "fanotify" }

// Caps implements process.Caps. Before Run it describes what the source
// aims for; once Run has marked the mounts, AllMounts and Limitation say
// what it got, and Limitation names the errnos a refusal can carry here.
func (s *Source) Caps() process.Caps {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

// Errnos returns the error numbers, besides EPERM, that a refusal makes
// execve fail with on this kernel (FAN_DENY_ERRNO, Linux 6.14+); a
// Verdict with any other errno makes it fail with EPERM. It is nil until
// Run has started.
func (s *Source) Errnos() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.errnos...)
}

// Dropped implements process.Source: execs allowed without the Handler's
// verdict (it did not answer within Options.Timeout, or Run's process
// did not answer at all, or too many events were waiting for it), plus
// queue overflows the kernel reported (the kernel says that events were
// lost, not how many, so each overflow counts one).
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Late counts the execs allowed because no verdict came in time; they are
// part of Dropped.
func (s *Source) Late() uint64 { return s.late.Load() }

// Truncated counts the Creates whose Argv was cut at MaxArgvBytes.
func (s *Source) Truncated() uint64 { return s.truncated.Load() }

// Run implements process.Source.
func (s *Source) Run(ctx context.Context, h process.Handler) error {
	if h == nil {
		return errors.New("fanotify: nil handler")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("fanotify: Run is already running")
	}
	defer s.running.Store(false)
	return s.run(ctx, h)
}

func (s *Source) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// setMounts records which mounts could not be marked.
func (s *Source) setMounts(unmarked []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unmarked = unmarked
	s.caps.AllMounts = len(unmarked) == 0
	s.updateLimitation()
}

// setErrnos records which errnos the kernel takes in a refusal.
func (s *Source) setErrnos(errnos []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errnos, s.probed = errnos, true
	if s.errnos == nil {
		s.errnos = []int32{}
	}
	s.updateLimitation()
}

// updateLimitation writes Caps.Limitation; s.mu is held.
func (s *Source) updateLimitation() {
	var b strings.Builder
	b.WriteString(limitation)
	switch {
	case !s.probed:
		b.WriteString("; a refusal makes execve fail with the Handler's errno where the kernel takes it " +
			"(Linux 6.14+: EIO, EAGAIN, EBUSY, ETXTBSY, ENOSPC, EDQUOT) and with EPERM otherwise")
	case len(s.errnos) == 0:
		b.WriteString("; a refusal always makes execve fail with EPERM (this kernel takes no other errno; " +
			"Linux 6.14 added a few)")
	default:
		b.WriteString("; a refusal makes execve fail with the Handler's errno if it is one of ")
		for i, e := range s.errnos {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(errnoName(e))
		}
		b.WriteString(" (what this kernel takes), and with EPERM for any other")
	}
	if len(s.unmarked) > 0 {
		b.WriteString("; execs from these mounts are not seen: ")
		b.WriteString(strings.Join(s.unmarked, ", "))
	}
	s.caps.Limitation = b.String()
}

// errnoName names an errno as C does (EIO), or by number.
func errnoName(e int32) string {
	if n := unixErrnoName(e); n != "" {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

func unavailable(tried string, err error, fix string) error {
	return &process.UnavailableError{Source: "fanotify", Tried: tried, Err: err, Fix: fix}
}
