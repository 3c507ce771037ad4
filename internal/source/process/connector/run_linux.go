package connector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// ackTimeout bounds the wait for the kernel's acknowledgement of the
// subscription. Kernels that do not acknowledge still deliver events, so
// Run goes on without one.
const ackTimeout = time.Second

// maxTracked is how many processes are remembered between their fork or
// exec and their exit before the table is swept of processes that no
// longer exist (their exits were lost). The next sweep comes when the
// table has doubled, so sweeps cost little even with more live processes.
const maxTracked = 1 << 16

// tracked is what the source remembers about a live process.
type tracked struct {
	creatorPID, creatorTID uint32
	created                time.Time // fork, then exec time; zero if unknown
	image                  string
	uid                    uint32
	haveUID                bool
}

func (s *Source) run(ctx context.Context, h process.Handler) error {
	if os.Geteuid() != 0 && !s.opts.AllowUnprivileged {
		return unavailable("listening to process events (proc connector) as uid "+strconv.Itoa(os.Geteuid()), nil,
			"run as root")
	}
	status, _ := os.ReadFile("/proc/self/status")
	uidMap, _ := os.ReadFile("/proc/self/uid_map")
	if pidOK, userOK := initNamespaces(status, uidMap); !pidOK || !userOK {
		return unavailable("listening to process events from inside a container (pid or user namespace)", nil,
			"the kernel sends them only to the initial namespaces: run ebpfhost on the host")
	}

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		fix := ""
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			fix = "the kernel is built without CONFIG_CONNECTOR and CONFIG_PROC_EVENTS"
		}
		return unavailable("opening a NETLINK_CONNECTOR socket", err, fix)
	}
	f := os.NewFile(uintptr(fd), "proc-connector")
	defer f.Close()
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, s.opts.ReceiveBuffer) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, s.opts.ReceiveBuffer)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		fix := ""
		if errors.Is(err, unix.EPERM) {
			fix = "run as root"
		}
		return unavailable("joining the proc connector's multicast group", err, fix)
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	send := func(op uint32, ack uint32) error {
		var serr error
		err := raw.Write(func(fd uintptr) bool {
			serr = unix.Sendto(int(fd), request(op, ack, ack), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
			return serr != unix.EAGAIN
		})
		if err != nil {
			return err
		}
		return serr
	}
	ack := uint32(os.Getpid())<<8 | uint32(time.Now().UnixNano()&0xff)
	if err := send(mcastListen, ack); err != nil {
		return unavailable("subscribing to process events (PROC_CN_MCAST_LISTEN)", err, "")
	}
	defer send(mcastIgnore, ack+2)

	st := &state{s: s, h: h, procs: map[uint32]*tracked{}}
	buf := make([]byte, 64<<10)
	acked := false
	f.SetReadDeadline(time.Now().Add(ackTimeout))
	for !acked {
		n, err := f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break // no acknowledgement: events come all the same
		}
		if errors.Is(err, unix.ENOBUFS) {
			s.dropped.Add(1)
			continue
		}
		if err != nil {
			return fmt.Errorf("connector: reading: %w", err)
		}
		var ackErr uint32
		parseMessages(buf[:n], func(ev event) {
			if ev.What == evNone && ev.Ack == ack+1 {
				acked, ackErr = true, ev.Err
			}
			// Events before the acknowledgement are from other
			// listeners' subscriptions: already ours, but as Ready
			// has not been called they are dropped, not handled.
		})
		if ackErr != 0 {
			e := unix.Errno(ackErr)
			fix := ""
			if e == unix.EPERM {
				fix = "run as root"
			}
			return unavailable("subscribing to process events (PROC_CN_MCAST_LISTEN)", e, fix)
		}
	}
	f.SetReadDeadline(time.Time{})
	if s.opts.Ready != nil {
		s.opts.Ready()
	}

	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		n, err := f.Read(buf)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped messages for lack of buffer space.
			s.dropped.Add(1)
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // a deadline of an earlier cancelled wait
		default:
			return fmt.Errorf("connector: reading process events: %w", err)
		}
		st.clk = now()
		if err := parseMessages(buf[:n], st.handle); err != nil {
			return fmt.Errorf("connector: %w", err)
		}
	}
}

// now reads the clocks, for converting kernel timestamps.
func now() clocks {
	var mono, boot unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	wall := time.Now().UnixNano()
	return clocks{monoToWall: wall - mono.Nano(), bootToWall: wall - boot.Nano()}
}

// state is what Run keeps between events.
type state struct {
	s     *Source
	h     process.Handler
	clk   clocks
	procs map[uint32]*tracked // by process id
	buf   []byte              // for read
	// sweepAt is the table size that triggers the next sweep (track).
	sweepAt int
}

func (st *state) handle(ev event) {
	switch ev.What {
	case evFork:
		if ev.ChildPID != ev.ChildTGID {
			return // a new thread, not a new process
		}
		st.track(ev.ChildTGID, &tracked{
			creatorPID: ev.ParentTGID,
			creatorTID: ev.ParentPID,
			created:    st.clk.fromMono(ev.Timestamp),
		})
	case evExec:
		st.exec(ev)
	case evExit:
		if ev.PID != ev.TGID {
			return // a thread, not the process
		}
		st.exit(ev)
	}
}

func (st *state) track(pid uint32, t *tracked) {
	if len(st.procs) >= max(st.sweepAt, maxTracked) {
		for p := range st.procs {
			var s unix.Stat_t
			if unix.Stat("/proc/"+strconv.Itoa(int(p)), &s) != nil {
				delete(st.procs, p)
			}
		}
		st.sweepAt = 2 * len(st.procs)
	}
	st.procs[pid] = t
}

func (st *state) exec(ev event) {
	pid := ev.TGID
	at := st.clk.fromMono(ev.Timestamp)
	e := process.Event{Op: process.Create, PID: pid, Created: at}
	t := st.procs[pid]
	if t == nil {
		t = &tracked{}
		st.track(pid, t)
	}
	t.created = at
	e.CreatorPID, e.CreatorTID = t.creatorPID, t.creatorTID

	// Every file is read through one descriptor of the process's
	// directory, so all come from the same process: if it ends and its
	// pid is reused meanwhile, the reads fail rather than mix two.
	dir, err := unix.Open("/proc/"+strconv.Itoa(int(pid)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		st.h(&e)
		return
	}
	defer unix.Close(dir)
	if b, err := st.read(dir, "stat"); err == nil {
		ppid, start, ok := parseStat(b)
		// A process that started after the exec is another one that
		// took the pid of one already gone.
		if ok && st.clk.fromBoot(start*(1e9/userHZ)).After(at.Add(time.Second/userHZ)) {
			st.h(&e)
			return
		}
		if ok {
			e.PPID = ppid
		}
	}
	if img, err := readlinkat(dir, "exe"); err == nil {
		e.Image = img
		t.image = img
	}
	if b, err := st.read(dir, "cmdline"); err == nil {
		e.Argv = splitCmdline(b)
	}
	if b, err := st.read(dir, "status"); err == nil {
		if uid, ok := parseUID(b); ok {
			e.UID, t.uid, t.haveUID = uid, uid, true
		}
	}
	st.h(&e)
}

// read reads a whole file of a /proc/<pid> directory into st.buf; the
// result is valid until the next read.
func (st *state) read(dir int, name string) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if st.buf == nil {
		st.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(st.buf) {
			st.buf = append(st.buf, make([]byte, len(st.buf))...)
		}
		m, err := unix.Read(fd, st.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return st.buf[:n], nil
		}
		n += m
	}
}

func readlinkat(dir int, name string) (string, error) {
	var b [unix.PathMax]byte
	n, err := unix.Readlinkat(dir, name, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

func (st *state) exit(ev event) {
	pid := ev.TGID
	code, sig := exitStatus(ev.ExitCode)
	e := process.Event{
		Op:       process.Exit,
		PID:      pid,
		PPID:     ev.ParentTGID,
		Exited:   st.clk.fromMono(ev.Timestamp),
		ExitCode: code,
		Signal:   sig,
	}
	if t := st.procs[pid]; t != nil {
		delete(st.procs, pid)
		e.CreatorPID, e.CreatorTID = t.creatorPID, t.creatorTID
		e.Created, e.Image, e.UID = t.created, t.image, t.uid
		if !t.haveUID {
			e.UID = st.readUID(pid)
		}
	} else {
		// Started before Run: the start time the kernel keeps (the
		// fork, in 10 ms ticks), while /proc still shows the process.
		if b, err := st.read(unix.AT_FDCWD, "/proc/"+strconv.Itoa(int(pid))+"/stat"); err == nil {
			if _, start, ok := parseStat(b); ok {
				e.Created = st.clk.fromBoot(start * (1e9 / userHZ))
			}
		}
		e.UID = st.readUID(pid)
	}
	st.h(&e)
}

func (st *state) readUID(pid uint32) uint32 {
	b, err := st.read(unix.AT_FDCWD, "/proc/"+strconv.Itoa(int(pid))+"/status")
	if err != nil {
		return 0
	}
	uid, _ := parseUID(b)
	return uid
}
