package connector

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// Options configure a Source.
type Options struct {
	// AllowUnprivileged lets Run listen without root on kernels that
	// permit it (Linux 6.6 and later). Other users' executables then
	// cannot be resolved (Image is empty for their processes). By
	// default Run refuses with an *process.UnavailableError when not
	// root, as older kernels do.
	AllowUnprivileged bool
	// ReceiveBuffer is the socket's receive buffer in bytes: how many
	// events can wait while the Handler is busy before the kernel drops
	// them. 0 means DefaultReceiveBuffer.
	ReceiveBuffer int
	// Ready, when set, is called once Run listens: from then on every
	// event is seen. Tests use it to start processes only then.
	Ready func()
}

// DefaultReceiveBuffer holds about 10,000 events (the kernel charges
// about 800 bytes for each 76-byte message).
const DefaultReceiveBuffer = 8 << 20

// Source is the proc connector source. Create one with New; its Run may
// be called again after it returned, but not twice at once.
type Source struct {
	opts    Options
	dropped atomic.Uint64
	running atomic.Bool
}

// New returns a Source; nothing happens until Run.
func New(opts Options) *Source {
	if opts.ReceiveBuffer <= 0 {
		opts.ReceiveBuffer = DefaultReceiveBuffer
	}
	return &Source{opts: opts}
}

// Name implements process.Source.
func (s *Source) Name() string { return "connector" }

// Caps implements process.Source.
func (s *Source) Caps() process.Caps {
	return process.Caps{
		Argv:      true,
		ExitCode:  true,
		Parent:    true,
		UID:       true,
		Exits:     true,
		Creates:   true,
		AllMounts: true,
		Limitation: "notification only (cannot refuse an exec); the kernel says only which pid " +
			"exec'd or exited, so image, command line, parent and user are read from /proc " +
			"when the event is handled and are missing, or belong to a later exec, for processes " +
			"that ended or exec'd again by then; a process whose main thread ends before its " +
			"other threads is reported as exited then; events that do not fit the socket " +
			"buffer are lost (counted in Dropped, without their number)",
	}
}

// Dropped implements process.Source: each time the kernel reported that
// the socket's buffer overflowed (ENOBUFS) counts one; the kernel does
// not say how many events were lost.
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Run implements process.Source.
func (s *Source) Run(ctx context.Context, h process.Handler) error {
	if h == nil {
		return errors.New("connector: nil handler")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("connector: Run is already running")
	}
	defer s.running.Store(false)
	return s.run(ctx, h)
}

func unavailable(tried string, err error, fix string) error {
	return &process.UnavailableError{Source: "connector", Tried: tried, Err: err, Fix: fix}
}

// The proc connector's wire format (linux/netlink.h, linux/connector.h,
// linux/cn_proc.h), in the machine's byte order.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	cnMsgLen    = 20 // struct cn_msg, before its data
	cnIdxProc   = 1  // CN_IDX_PROC, also the multicast group
	cnValProc   = 1  // CN_VAL_PROC

	mcastListen = 1 // PROC_CN_MCAST_LISTEN
	mcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	// struct proc_event: what u32, cpu u32, timestamp_ns u64, then the
	// event's data.
	procEventHdrLen = 16

	evNone = 0x00000000 // PROC_EVENT_NONE: the acknowledgement of a request
	evFork = 0x00000001
	evExec = 0x00000002
	evExit = 0x80000000
)

// event is one decoded proc connector message; the fields used depend on
// What.
type event struct {
	What      uint32
	Timestamp uint64 // CLOCK_MONOTONIC nanoseconds
	// Fork: parent (the forking thread) and child.
	ParentPID, ParentTGID, ChildPID, ChildTGID uint32
	// Exec and exit: the thread and its process.
	PID, TGID uint32
	// Exit: the raw wait status, and the parent.
	ExitCode, ExitSignal uint32
	// Acknowledgement: its ack number and error.
	Ack, Err uint32
}

var errShort = errors.New("connector: truncated message")

// parseMessages decodes what one recv returned: netlink messages, each
// carrying a cn_msg with a proc_event. Messages from other connector
// users or of unknown kinds are skipped.
func parseMessages(b []byte, fn func(event)) error {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return errShort
		}
		l := ne.Uint32(b)
		if l < nlmsgHdrLen || uint64(l) > uint64(len(b)) {
			return errShort
		}
		msg := b[nlmsgHdrLen:l]
		next := (int(l) + 3) &^ 3 // NLMSG_ALIGN
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
		if len(msg) < cnMsgLen {
			continue
		}
		if ne.Uint32(msg) != cnIdxProc || ne.Uint32(msg[4:]) != cnValProc {
			continue
		}
		ack := ne.Uint32(msg[12:])
		dlen := int(ne.Uint16(msg[16:]))
		data := msg[cnMsgLen:]
		if dlen > len(data) {
			return errShort
		}
		data = data[:dlen]
		if len(data) < procEventHdrLen {
			continue
		}
		ev := event{What: ne.Uint32(data), Timestamp: ne.Uint64(data[8:]), Ack: ack}
		d := data[procEventHdrLen:]
		u32 := func(i int) uint32 {
			if 4*i+4 > len(d) {
				return 0
			}
			return ne.Uint32(d[4*i:])
		}
		switch ev.What {
		case evNone:
			ev.Err = u32(0)
		case evFork:
			if len(d) < 16 {
				continue
			}
			ev.ParentPID, ev.ParentTGID, ev.ChildPID, ev.ChildTGID = u32(0), u32(1), u32(2), u32(3)
		case evExec:
			if len(d) < 8 {
				continue
			}
			ev.PID, ev.TGID = u32(0), u32(1)
		case evExit:
			if len(d) < 16 {
				continue
			}
			ev.PID, ev.TGID, ev.ExitCode, ev.ExitSignal = u32(0), u32(1), u32(2), u32(3)
			// parent_pid and parent_tgid follow on Linux 4.18 and later.
			ev.ParentPID, ev.ParentTGID = u32(4), u32(5)
		default:
			continue
		}
		fn(ev)
	}
	return nil
}

// request builds the netlink message that subscribes (PROC_CN_MCAST_LISTEN)
// or unsubscribes to the process events.
func request(op uint32, seq, ack uint32) []byte {
	const n = nlmsgHdrLen + cnMsgLen + 4
	b := make([]byte, n)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], n)
	ne.PutUint16(b[4:], 3) // NLMSG_DONE: the whole request in one message
	ne.PutUint32(b[8:], seq)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[8:], seq)
	ne.PutUint32(c[12:], ack)
	ne.PutUint16(c[16:], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	return b
}

// exitStatus decodes a wait status as a shell shows it: the code given to
// exit, or 128+n and n when signal n ended the process.
func exitStatus(status uint32) (code, signal uint32) {
	if sig := status & 0x7f; sig != 0 && sig != 0x7f {
		return 128 + sig, sig
	}
	return (status >> 8) & 0xff, 0
}

// clocks converts kernel timestamps to wall-clock time: the offsets from
// CLOCK_MONOTONIC (proc connector timestamps) and CLOCK_BOOTTIME (process
// start times in /proc/<pid>/stat) to the wall clock, measured at one
// moment.
type clocks struct {
	monoToWall int64 // wall ns - monotonic ns
	bootToWall int64 // wall ns - boottime ns
}

func (c clocks) fromMono(ns uint64) time.Time { return time.Unix(0, int64(ns)+c.monoToWall) }
func (c clocks) fromBoot(ns uint64) time.Time { return time.Unix(0, int64(ns)+c.bootToWall) }
