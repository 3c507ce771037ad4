// Package file defines how filesystem operations reach ebpfhost from
// Linux: each event source (a FUSE interposition mount, fanotify, kernel
// syscall tracepoints, a simulation) delivers Events to a Handler, once
// before an operation (pre) and, where it can, once after (post). Sources
// that hold the operation while the Handler runs (FUSE, fanotify
// permission events) obey the pre verdict: deny with an errno, or (FUSE,
// on open) redirect to another path.
package file

import (
	"context"
	"fmt"
	"time"
)

// Op is a filesystem operation, numbered as file_md_t's operation field
// (include/file.h).
type Op uint8

// Operations.
const (
	Open    Op = 1  // open of an existing file
	Create  Op = 2  // open that creates the file (O_CREAT on a missing file), mknod
	Read    Op = 3  // read
	Write   Op = 4  // write
	Close   Op = 5  // last close of an open file (release)
	Rename  Op = 6  // rename: Path is the source, Target the destination
	Unlink  Op = 7  // unlink of a file
	Mkdir   Op = 8  // mkdir
	Rmdir   Op = 9  // rmdir
	Setattr Op = 10 // truncate, chmod, chown, utimes (Offset is the new size for a truncate)
	Symlink Op = 11 // symlink: Path is the new link, Target what it points to
	Link    Op = 12 // hard link: Path is the existing file, Target the new name

	MaxOp = Link
)

var opNames = [...]string{Open: "open", Create: "create", Read: "read", Write: "write", Close: "close",
	Rename: "rename", Unlink: "unlink", Mkdir: "mkdir", Rmdir: "rmdir", Setattr: "setattr", Symlink: "symlink", Link: "link"}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op%d", uint8(o))
}

// MarshalText writes the operation's name.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an operation's name.
func (o *Op) UnmarshalText(b []byte) error {
	op, ok := ParseOp(string(b))
	if !ok {
		return fmt.Errorf("unknown file operation %q", b)
	}
	*o = op
	return nil
}

// ParseOp finds an operation by name.
func ParseOp(name string) (Op, bool) {
	for i, n := range opNames {
		if n != "" && n == name {
			return Op(i), true
		}
	}
	return 0, false
}

// OpSet is a set of operations: bit n is Op n.
type OpSet uint32

// AllOps is every operation.
const AllOps = OpSet(1<<(MaxOp+1) - 2)

// Has reports whether op is in the set.
func (s OpSet) Has(op Op) bool { return s&(1<<op) != 0 }

// With returns the set with op added.
func (s OpSet) With(op Op) OpSet { return s | 1<<op }

// Event is one filesystem operation, before (Post false) or after it. A
// source fills what it can see; Caps says what.
type Event struct {
	Op   Op   `json:"op"`
	Post bool `json:"post,omitempty"`
	// ID is shared by the pre and the post event of one operation (I/O
	// latency pairs them), unique among operations in flight.
	ID uint64 `json:"id"`
	// Time is when the hook ran, in nanoseconds of CLOCK_MONOTONIC (as
	// bpf_ktime_get_ns), so post - pre is the operation's latency.
	Time uint64 `json:"time_ns"`
	// Path is the absolute path operated on, as the acting process names
	// it (for a FUSE mount over a directory: the path under that
	// directory, as programs see it, not the mount's internal name).
	Path string `json:"path"`
	// Target is the second path of Rename, Link and Symlink.
	Target string `json:"target,omitempty"`
	Flags  uint32 `json:"flags,omitempty"` // open flags (O_*) of Open/Create; rename flags
	Mode   uint32 `json:"mode,omitempty"`  // permission bits and type of Create/Mkdir, mode of a chmod
	PID    uint32 `json:"pid"`             // the acting process (thread group id)
	TID    uint32 `json:"tid,omitempty"`   // the acting thread, or PID when unknown
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Ino    uint64 `json:"ino,omitempty"`
	Dev    uint64 `json:"dev,omitempty"`
	// Offset and Length are a Read's or Write's position and size; Offset
	// is the new size of a truncating Setattr.
	Offset int64  `json:"offset,omitempty"`
	Length uint64 `json:"length,omitempty"`
	// Result is, on a post event, what the operation returned: bytes for
	// Read and Write, 0 or a negative errno.
	Result int64 `json:"result,omitempty"`
	// Image is the acting process's executable, when the source knows it
	// without asking (else the extension reads /proc/PID/exe on demand).
	Image string `json:"image,omitempty"`
}

// Verdict is a Handler's answer to a pre event.
type Verdict struct {
	// Errno, when not 0, refuses the operation with this error number.
	Errno int32
	// Redirect, on a pre Open or Create, is the path to open instead.
	Redirect string
}

// Allow lets the operation proceed unchanged.
var Allow = Verdict{}

// Handler receives events. Sources with Caps.Deny wait for its verdict on
// pre events; post verdicts are ignored. Handlers may be called from many
// goroutines at once.
type Handler func(ev *Event) Verdict

// Interest tells a source which operations anyone handles, so that it can
// skip the rest (a FUSE mount then lets the kernel do reads and writes
// directly). Sources call it when they start and may call it again.
type Interest func() (pre, post OpSet)

// Caps says what a source can see and do.
type Caps struct {
	Pre, Post OpSet // operations it reports before and after they happen
	Deny      bool  // a pre verdict's Errno refuses the operation
	Redirect  bool  // a pre Open/Create verdict's Redirect is obeyed
	Latency   bool  // pre and post Times bracket the operation itself
	PID       bool  // events carry the acting process
	// Scope says what is watched: a mount, every filesystem, ...
	Scope      string
	Limitation string // what it cannot see or do, in a sentence for users
}

// Source is a running origin of events.
type Source interface {
	Name() string
	Caps() Caps
	// Run delivers events to h until ctx is done; it returns nil after
	// cancellation, cleaning up what it set up (mounts, marks). It
	// returns promptly with an *UnavailableError when it cannot start.
	Run(ctx context.Context, h Handler) error
	// Dropped counts events lost because the consumer was too slow.
	Dropped() uint64
}

// UnavailableError says a source cannot run here, what was tried and what
// to do, in one line.
type UnavailableError struct {
	Source string
	Tried  string
	Err    error
	Fix    string
}

func (e *UnavailableError) Error() string {
	s := e.Source + " source unavailable: " + e.Tried
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Monotonic returns CLOCK_MONOTONIC in nanoseconds, the clock of
// Event.Time.
func Monotonic() uint64 { return uint64(monotonic()) }

var start = time.Now()

// monotonic is time since an arbitrary start, from Go's monotonic clock.
// Sources on Linux use the same clock the kernel reports (see clock_linux.go).
func monotonicGo() int64 { return int64(time.Since(start)) }
