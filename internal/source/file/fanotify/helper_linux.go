package fanotify

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// helperEnv marks the process Run starts as its permission helper: Run
// starts its own binary again (/proc/self/exe) with it set, and this
// package's init runs the helper instead of the program.
const helperEnv = "EBPFHOST_FILE_FANOTIFY_HELPER"

// helperFD is the helper's end of the socket pair (ExtraFiles[0]).
const helperFD = 3

// maxWaiting bounds the messages waiting for Run's process to read its
// socket; past it an event is allowed at once rather than wait.
const maxWaiting = 4096

func init() {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	os.Unsetenv(helperEnv)
	os.Exit(helperMain())
}

// helperMain owns the permission group: it marks the filesystems, reads
// the events, asks Run's process for verdicts and answers the kernel. It
// ends when Run closes its end of the socket (or its process dies);
// closing the group on the way out lets the kernel allow what is pending.
func helperMain() int {
	// Run's process decides when the helper ends; a terminal's ^C is for
	// it (Run also puts the helper in a process group of its own).
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	if t, err := unix.GetsockoptInt(helperFD, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || t != unix.SOCK_STREAM {
		fmt.Fprintf(os.Stderr, "%s is set but descriptor %d is not the helper socket\n", helperEnv, helperFD)
		return 2
	}
	unix.CloseOnExec(helperFD)
	if err := unix.SetNonblock(helperFD, true); err != nil {
		return 2
	}
	sock := os.NewFile(helperFD, "fanotify-helper-socket")
	defer sock.Close()
	in := bufio.NewReaderSize(sock, 64<<10)
	sock.SetReadDeadline(time.Now().Add(30 * time.Second))
	msg, err := readFrame(in, nil)
	if err != nil || msg[0] != msgConfig {
		return 2
	}
	sock.SetReadDeadline(time.Time{})
	var cfg config
	if err := json.Unmarshal(msg[1:], &cfg); err != nil {
		return 2
	}
	h := &helper{
		sock: sock, in: in, cfg: cfg, self: int32(os.Getpid()),
		pending: map[uint64]*pending{}, closeq: make(chan int, 4096),
	}
	code := h.run()
	// The last notes, if the socket takes them soon.
	sock.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	h.wmu.Lock()
	h.outDone = true
	h.wmu.Unlock()
	return code
}

// helper is the state of the helper process.
type helper struct {
	sock *os.File
	in   *bufio.Reader
	cfg  config
	self int32

	f *os.File // the permission group; owns its descriptor
	// resp answers events on f, with the errnos the kernel takes in
	// refusals (probed at start).
	resp   *fanotifyx.Responder
	marker *marker
	// noKcmp says kcmp(2) does not work here, so the source's own
	// process and its vfork children are told from others by /proc.
	noKcmp atomic.Bool

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]*pending
	closed  bool // on the way out: allow at once
	wg      sync.WaitGroup
	closeq  chan int
	wmu     sync.Mutex // held while writing to sock
	outDone bool       // under wmu: Run is gone
	waiting atomic.Int32
}

// pending is an event waiting for Run's verdict.
type pending struct {
	id       uint64
	fd       int
	path     string
	pid      uint32
	answered atomic.Bool
	timer    *time.Timer
}

// send writes a frame to Run. It waits while the socket is full (Run's
// process is not reading), but only maxWaiting senders wait: past that it
// fails at once, and the caller allows its event.
func (h *helper) send(msg []byte) bool {
	if h.waiting.Add(1) > maxWaiting {
		h.waiting.Add(-1)
		return false
	}
	defer h.waiting.Add(-1)
	f := fanotifyx.Frame(msg)
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.outDone {
		return false
	}
	if _, err := h.sock.Write(f); err != nil {
		h.outDone = true
		return false
	}
	return true
}

// logf sends a note for Options.Logf. It never waits: the loops that log
// must not stop for Run's process.
func (h *helper) logf(format string, args ...any) {
	msg := append([]byte{msgNote}, fmt.Sprintf(format, args...)...)
	go h.send(msg)
}

func (h *helper) sendJSON(kind byte, v any) {
	b, _ := json.Marshal(v)
	h.send(append([]byte{kind}, b...))
}

func (h *helper) run() int {
	fd, err := initPerm()
	if err != nil {
		h.sendUnavailable(err)
		return 0
	}
	h.f = os.NewFile(uintptr(fd), "fanotify")
	defer h.f.Close()
	// Before any mark exists no event can be pending, so the probe's
	// responses cannot answer one.
	// EPERM is what a plain FAN_DENY gives: not reported as an errno of
	// its own.
	errnos := slices.DeleteFunc(fanotifyx.ProbeErrnos(fd), func(e int32) bool { return e == int32(unix.EPERM) })
	h.resp = fanotifyx.NewResponder(h.f, errnos)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for fd := range h.closeq {
			unix.Close(fd)
			h.wg.Done()
		}
	}()

	h.marker = newMarker(fd, h.cfg.Paths, h.logf)
	h.marker.mountMask = func(m uint64) uint64 { return m }
	mountinfo, werr := openMountWatch()
	if werr != nil {
		h.logf("fanotify: cannot watch for new mounts: %v", werr)
	} else {
		defer unix.Close(mountinfo)
	}
	if err := h.marker.setMask(h.cfg.Mask, true); err != nil {
		h.sendUnavailable(err)
		close(h.closeq)
		<-closed
		return 0
	}
	h.sendJSON(msgHello, hello{Errnos: errnos, Unwatched: h.marker.unwatched()})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		if werr == nil {
			h.marker.watch(ctx, mountinfo, func() { h.sendJSON(msgMounts, h.marker.unwatched()) })
		}
	}()
	go func() {
		defer bg.Done()
		defer cancel() // Run closed its end, or its process died
		h.readSocket()
	}()
	err = h.readEvents(ctx)
	if err != nil {
		h.logf("%v", err)
	}
	// Stop in an order that never leaves an open waiting: pending events
	// are allowed, the marker stops, and closing the group lets the
	// kernel allow what is still queued.
	cancel()
	h.allowAll()
	h.wg.Wait()
	close(h.closeq)
	<-closed
	h.sock.SetReadDeadline(time.Now())
	bg.Wait()
	h.f.Close()
	if err != nil {
		return 1
	}
	return 0
}

func (h *helper) sendUnavailable(err error) {
	hi := hello{Tried: "starting fanotify", Err: err.Error()}
	var ue *file.UnavailableError
	if errors.As(err, &ue) {
		hi.Tried, hi.Fix, hi.Err = ue.Tried, ue.Fix, ""
		if ue.Err != nil {
			hi.Err = ue.Err.Error()
		}
	}
	h.sendJSON(msgHello, hi)
}

// readSocket takes verdicts and mask changes from Run until it closes
// the socket.
func (h *helper) readSocket() {
	var buf []byte
	for {
		msg, err := readFrame(h.in, buf)
		if err != nil {
			return
		}
		buf = msg
		switch msg[0] {
		case msgVerdict:
			id, errno, err := fanotifyx.DecodeVerdict(msg)
			if err != nil {
				continue
			}
			h.mu.Lock()
			p := h.pending[id]
			h.mu.Unlock()
			if p != nil {
				h.settle(p, errno)
			}
		case msgMask:
			if len(msg) == 9 {
				h.marker.setMask(binary.LittleEndian.Uint64(msg[1:]), false)
				h.sendJSON(msgMounts, h.marker.unwatched())
			}
		}
	}
}

// initPerm creates the permission group: pre-content class where the
// kernel allows it (the only class whose refusals can carry an errno),
// else content class; reporting thread ids (Linux 4.20) where it can.
func initPerm() (int, error) {
	const flags = unix.FAN_CLOEXEC | unix.FAN_NONBLOCK | unix.FAN_UNLIMITED_QUEUE
	// The kernel opens each event's file for us with these flags, not the
	// opener's. O_NONBLOCK: opening must never wait (a FIFO, on kernels
	// that still raise permission events for them).
	const fileFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_LARGEFILE | unix.O_NONBLOCK
	var err error
	for _, try := range []uint{
		unix.FAN_CLASS_PRE_CONTENT | unix.FAN_REPORT_TID,
		unix.FAN_CLASS_CONTENT | unix.FAN_REPORT_TID,
		unix.FAN_CLASS_PRE_CONTENT,
		unix.FAN_CLASS_CONTENT,
	} {
		var fd int
		fd, err = unix.FanotifyInit(try|flags, fileFlags)
		if err == nil {
			return fd, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.EPERM):
		return -1, unavailable("creating a fanotify permission group (fanotify_init)", err,
			"run as root: permission events need CAP_SYS_ADMIN")
	case errors.Is(err, unix.EINVAL):
		return -1, unavailable("creating a fanotify permission group", err,
			"the kernel is built without CONFIG_FANOTIFY_ACCESS_PERMISSIONS: run without Deny, or use the FUSE source")
	}
	return -1, unavailable("creating a fanotify permission group", err, "")
}

// readEvents reads permission events until ctx is done or the group
// fails.
func (h *helper) readEvents(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { h.f.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		n, err := h.f.Read(buf)
		if n > 0 {
			now := file.Monotonic()
			if perr := parseEvents(buf[:n], func(ev *rawEvent) { h.dispatch(ev, now) }); perr != nil {
				return perr // the rest cannot be found; closing the group allows them
			}
		}
		switch {
		case err == nil, errors.Is(err, io.EOF):
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			return nil
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOMEM):
			// The kernel could not open the file for us and has refused
			// that open; nothing to answer. Let descriptors free up.
			h.logf("fanotify: an open was refused by the kernel because its event could not be read: %v", err)
			time.Sleep(10 * time.Millisecond)
		default:
			return fmt.Errorf("fanotify: reading permission events: %w", err)
		}
	}
}

// dispatch answers the source's own events, and those outside the
// watched paths, at once, and hands each other to a goroutine. It touches
// no filesystem and reads nothing of another process: the opened file, a
// FUSE daemon or another process's /proc files could all wait on an
// event that this loop must read.
func (h *helper) dispatch(ev *rawEvent, now uint64) {
	if ev.Mask&fanQOverflow != 0 {
		go h.send([]byte{msgOverflow}) // sending may wait; this loop must not
		h.logf("fanotify: the permission event queue overflowed; some opens were allowed unseen")
	}
	if ev.FD < 0 {
		return
	}
	fd := int(ev.FD)
	h.wg.Add(1)
	if ev.Mask&(fanOpenPerm|fanAccessPerm) == 0 || h.own(ev.PID) {
		h.answer(fd, 0)
		h.closeLater(fd)
		return
	}
	// The file's path, from procfs: d_path of the open file, which never
	// waits for a filesystem or a process. An open outside the watched
	// paths is allowed here, without a goroutine.
	path, _ := fanotifyx.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if !underAny(path, h.cfg.Paths) {
		h.answer(fd, 0)
		h.closeLater(fd)
		return
	}
	go h.handle(fd, path, ev.PID, ev.Mask, now)
}

// own reports whether thread tid shares its memory with Run's process or
// with the helper: it is one of their threads, or a child Run's process
// started with vfork that has not yet exec'd (Go's os/exec), whose parent
// thread stays blocked, holding its share of the Go runtime, until the
// child's exec is done. Asking Run's process about any of those could
// wait for itself. Without kcmp (ENOSYS, or refused) it says false, and
// handle checks /proc instead.
func (h *helper) own(tid int32) bool {
	if h.noKcmp.Load() || tid <= 0 {
		return false
	}
	for _, other := range []int{h.cfg.MainPID, int(h.self)} {
		shared, err := fanotifyx.SharesMemory(int(tid), other)
		switch {
		case err == nil && shared:
			return true
		case err == unix.ENOSYS || err == unix.EPERM || err == unix.EACCES:
			h.noKcmp.Store(true)
			return false
		}
	}
	return false
}

// closeLater closes an answered event's descriptor on the closer
// goroutine: closing a file on FUSE waits for its daemon, which may be
// waiting for an event that the caller must answer.
func (h *helper) closeLater(fd int) {
	select {
	case h.closeq <- fd:
	default:
		go func() {
			unix.Close(fd)
			h.wg.Done()
		}()
	}
}

// handle builds the event and sends it to Run; the verdict, the timeout
// or shutdown answers it later (settle). Whatever goes wrong, the event
// is answered.
func (h *helper) handle(fd int, path string, tid int32, mask uint64, now uint64) {
	owned := false // by a pending, which will answer
	defer func() {
		if p := recover(); p != nil {
			h.logf("fanotify: internal error handling an open by pid %d: %v; allowed", tid, p)
		}
		if !owned {
			h.answer(fd, 0)
			h.closeLater(fd)
		}
	}()
	ev := &file.Event{Op: file.Open, Time: now, Path: path, PID: uint32(tid), TID: uint32(tid)}
	if mask&fanOpenPerm == 0 {
		ev.Op = file.Read
	}
	dir := "/proc/" + strconv.Itoa(int(tid))
	if tid > 0 {
		if b, err := fanotifyx.ReadProc(dir + "/status"); err == nil {
			if st, ok := fanotifyx.ParseStatus(b, statusFields); ok {
				ev.PID, ev.UID, ev.GID = st.Tgid, st.UID, st.GID
				if h.noKcmp.Load() && (int(st.Tgid) == h.cfg.MainPID || st.Tgid == uint32(h.self) || int(st.PPid) == h.cfg.MainPID) {
					// Without kcmp every child of Run's process is taken
					// for a vfork one (see own).
					return
				}
			}
		}
		if b, err := fanotifyx.ReadProc(dir + "/syscall"); err == nil {
			if sc, ok := fanotifyx.ParseSyscall(b); ok && sc.HasSP {
				decodeCall(ev, sc, dir)
			}
		}
	}
	var stx unix.Statx_t
	// AT_STATX_DONT_SYNC: cached attributes, never a round trip to a
	// FUSE daemon or a network server.
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE|unix.STATX_MODE|unix.STATX_INO, &stx) == nil {
		ev.Ino, ev.Mode = stx.Ino, uint32(stx.Mode)
		ev.Dev = unix.Mkdev(stx.Dev_major, stx.Dev_minor)
	}
	p := &pending{id: h.nextID.Add(1), fd: fd, path: path, pid: ev.PID}
	owned = true
	if !h.register(p) {
		h.settle(p, 0)
		return
	}
	if !h.send(encodeEvent(p.id, ev)) {
		if h.settle(p, 0) {
			h.send([]byte{msgLate})
		}
	}
}

// decodeCall fills what the system call thread dir is blocked in says
// about the open or read: the opener's flags, a read's size and position.
// (Mode is the file's own: by the time the event is raised an O_CREAT
// open has made the file, with its final permissions.)
func decodeCall(ev *file.Event, sc fanotifyx.Syscall, dir string) {
	if unsafe.Sizeof(uintptr(0)) == 8 && sc.SP < 1<<32 {
		return // a 32-bit program: its system calls are numbered otherwise
	}
	a := sc.Args
	switch calls[sc.NR] {
	case callOpenAt:
		ev.Flags = uint32(a[2])
	case callOpen:
		ev.Flags = uint32(a[1])
	case callCreat:
		ev.Flags = unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	case callOpenat2:
		// struct open_how { u64 flags; u64 mode; u64 resolve; }
		if b, err := readMem(dir, a[2], 8); err == nil {
			ev.Flags = uint32(binary.NativeEndian.Uint64(b))
		}
	case callByHandle:
		ev.Flags = uint32(a[2])
	case callExec:
		ev.Flags = unix.O_RDONLY
	case callRead:
		if sc.NR == unix.SYS_READ {
			ev.Length = a[2]
		}
		if b, err := fanotifyx.ReadProc(dir + "/fdinfo/" + strconv.FormatUint(a[0], 10)); err == nil {
			ev.Offset, _ = parseFdinfoPos(b)
		}
	case callPread:
		ev.Length, ev.Offset = a[2], int64(a[3])
	case callPreadv:
		ev.Offset = int64(a[3])
	}
}

// readMem reads n bytes of the blocked thread's memory at addr.
func readMem(dir string, addr uint64, n int) ([]byte, error) {
	fd, err := unix.Open(dir+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, n)
	k, err := unix.Pread(fd, b, int64(addr))
	if err != nil {
		return nil, err
	}
	if k != n {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

// register adds p to the events waiting for a verdict and starts its
// timeout; false when the helper is shutting down.
func (h *helper) register(p *pending) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.pending[p.id] = p
	p.timer = time.AfterFunc(time.Duration(h.cfg.Timeout), func() {
		if h.settle(p, 0) {
			h.send([]byte{msgLate})
			h.logf("fanotify: handler took longer than %v on %s by pid %d; allowed",
				time.Duration(h.cfg.Timeout), p.path, p.pid)
		}
	})
	return true
}

// settle answers p unless something already did; it reports whether this
// call did.
func (h *helper) settle(p *pending, errno int32) bool {
	if !p.answered.CompareAndSwap(false, true) {
		return false
	}
	h.mu.Lock()
	delete(h.pending, p.id)
	h.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
	h.answer(p.fd, errno)
	h.closeLater(p.fd)
	return true
}

// allowAll allows every waiting event, and every later one at once.
func (h *helper) allowAll() {
	h.mu.Lock()
	h.closed = true
	ps := make([]*pending, 0, len(h.pending))
	for _, p := range h.pending {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	for _, p := range ps {
		h.settle(p, 0)
	}
}

// answer writes the response for the event on fd: allow for errno 0, else
// deny, with errno itself where the kernel takes it, else EPERM.
func (h *helper) answer(fd int, errno int32) {
	fb, err := h.resp.Respond(fd, errno)
	switch fb {
	case fanotifyx.NotTaken:
		h.logf("fanotify: the kernel does not take errno %d (%v) in refusals; refusing with EPERM instead",
			errno, unix.Errno(errno))
	case fanotifyx.Unsupported:
		h.logf("fanotify: this kernel cannot refuse an open with %v; refusing with EPERM instead", unix.Errno(errno))
	}
	if err != nil {
		h.logf("fanotify: answering a permission event: %v", err)
	}
}
