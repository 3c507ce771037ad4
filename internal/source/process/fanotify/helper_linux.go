package fanotify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// helperEnv marks the process Run starts as its helper. The helper is the
// program's own binary (/proc/self/exe); this package's init sees the
// variable and runs the helper instead of the program.
const helperEnv = "EBPFHOST_FANOTIFY_HELPER"

// helperFD is the helper's end of the socket pair (ExtraFiles[0]).
const helperFD = 3

func init() {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	os.Unsetenv(helperEnv)
	os.Exit(helperMain())
}

// helperMain owns the fanotify group: it marks the mounts, reads the
// events, asks Run's process for verdicts and answers the kernel. It ends
// when Run closes its end of the socket (or its process dies), and closing
// the group on the way out lets the kernel allow whatever is pending.
func helperMain() int {
	// Run's process decides when the helper ends; a terminal's ^C or
	// hangup is for it, not for us (Run also puts us in our own process
	// group).
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	// The helper's work is a short burst per exec, handed between a few
	// goroutines; on one P they pass it without waking other threads
	// (a blocked system call still releases the P to the others).
	runtime.GOMAXPROCS(1)
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

	r := bufio.NewReader(sock)
	sock.SetReadDeadline(time.Now().Add(30 * time.Second))
	msg, err := readFrame(r, nil)
	if err != nil || msg[0] != msgConfig {
		return 2
	}
	sock.SetReadDeadline(time.Time{})
	var cfg config
	if err := json.Unmarshal(msg[1:], &cfg); err != nil {
		return 2
	}

	raw, err := sock.SyscallConn()
	if err != nil {
		return 2
	}
	h := &helper{sock: sock, in: r, cfg: cfg, self: uint32(os.Getpid()), out: newWriter(raw)}
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		h.out.flush(stop)
	}()
	code := h.run()
	// The last notes, if the socket takes them soon.
	h.sock.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	h.out.drain()
	close(stop)
	<-flushed
	return code
}

// helper is the state of the helper process.
type helper struct {
	sock *os.File
	in   *bufio.Reader // reads sock
	out  *writer       // writes sock
	cfg  config
	self uint32

	f *os.File // the fanotify group; owns its descriptor
	// resp answers events on f, with the errnos the kernel takes in
	// refusals (probed at start).
	resp   *fanotifyx.Responder
	chains chains

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]*pendingExec // execs waiting for Run's verdict
	closed  bool                    // set on the way out: allow at once
	// wg counts the events whose descriptor is not yet answered and
	// closed.
	wg     sync.WaitGroup
	closeq chan int // for closer
	own    ownExecs
}

// pendingExec is an exec waiting for Run's verdict. Whichever comes
// first answers it, once: the verdict, the timeout, or shutdown.
type pendingExec struct {
	id       uint64
	fd       int
	tid      int32
	next     string // the interpreter the exec opens next, if hasNext
	hasNext  bool
	image    string
	pid      uint32
	answered atomic.Bool
	timer    *time.Timer
}

// send passes a message to Run without waiting: if Run's process does
// not read, its socket fills up, and execs are then answered by their
// timeout rather than wait on the socket.
func (h *helper) send(b []byte) error {
	return h.out.send(fanotifyx.Frame(b))
}

func (h *helper) logf(format string, args ...any) {
	h.send(append([]byte{msgNote}, fmt.Sprintf(format, args...)...))
}

func (h *helper) sendJSON(kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return h.send(append([]byte{kind}, b...))
}

func (h *helper) run() int {
	// Without FAN_REPORT_TID (before Linux 4.20) events name the
	// process, and argv is found only when its main thread is the one
	// in execve.
	fd, _, err := initGroup()
	if err != nil {
		h.sendUnavailable(err)
		return 0
	}
	h.f = os.NewFile(uintptr(fd), "fanotify")
	defer h.f.Close()
	if err := h.f.SetReadDeadline(time.Time{}); err != nil {
		h.sendUnavailable(fmt.Errorf("fanotify descriptor not pollable: %w", err))
		return 0
	}
	// Before any mark exists no event is pending, so the probe's
	// responses cannot answer one.
	errnos := fanotifyx.ProbeErrnos(fd)
	h.resp = fanotifyx.NewResponder(h.f, errnos)
	h.chains.m = map[int32]expectation{}
	h.pending = map[uint64]*pendingExec{}
	h.closeq = make(chan int, 4096)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		h.closer()
	}()

	// Open the mount table to watch before the first scan, so that a
	// mount made between the scan and the watch is not missed.
	m := &marker{fd: fd, logf: h.logf}
	mountinfo, werr := openMountWatch()
	if werr != nil {
		h.logf("fanotify: cannot watch for new mounts: %v", werr)
	} else {
		defer unix.Close(mountinfo)
	}
	if err := m.scan(true); err != nil {
		h.sendUnavailable(err)
		return 0
	}
	if err := h.sendJSON(msgHello, hello{Errnos: errnos, Unmarked: m.unmarked()}); err != nil {
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		if werr == nil {
			m.watch(ctx, mountinfo, func(unmarked []string) { h.sendJSON(msgMounts, unmarked) })
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

	// Stop in an order that never leaves an exec waiting: pending execs
	// are allowed, the marker stops touching the descriptor, and closing
	// it lets the kernel allow what is queued.
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
	var ue *process.UnavailableError
	if errors.As(err, &ue) {
		hi.Tried, hi.Fix = ue.Tried, ue.Fix
		hi.Err = ""
		if ue.Err != nil {
			hi.Err = ue.Err.Error()
		}
	}
	h.sendJSON(msgHello, hi)
}

// readSocket takes verdicts from Run until it closes the socket, and
// answers the kernel with them.
func (h *helper) readSocket() {
	var buf []byte
	for {
		msg, err := readFrame(h.in, buf)
		if err != nil {
			return
		}
		buf = msg
		if msg[0] != msgVerdict {
			continue
		}
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
	}
}

// initGroup creates the fanotify group: pre-content class when the kernel
// allows it (the only class that can answer with an errno), else content
// class, which is what permission events need at least; reporting thread
// ids (FAN_REPORT_TID, Linux 4.20) where the kernel can.
func initGroup() (fd int, tid bool, err error) {
	const flags = unix.FAN_CLOEXEC | unix.FAN_NONBLOCK | unix.FAN_UNLIMITED_QUEUE
	const fileFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_LARGEFILE
	for _, try := range []uint{
		unix.FAN_CLASS_PRE_CONTENT | unix.FAN_REPORT_TID,
		unix.FAN_CLASS_CONTENT | unix.FAN_REPORT_TID,
		unix.FAN_CLASS_PRE_CONTENT,
		unix.FAN_CLASS_CONTENT,
	} {
		fd, err = unix.FanotifyInit(try|flags, fileFlags)
		if err == nil {
			return fd, try&unix.FAN_REPORT_TID != 0, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.EPERM):
		return -1, false, unavailable("creating a fanotify group (fanotify_init)", err,
			"run as root: permission events need CAP_SYS_ADMIN")
	case errors.Is(err, unix.ENOSYS):
		return -1, false, unavailable("creating a fanotify group (fanotify_init)", err,
			"the kernel is built without fanotify (CONFIG_FANOTIFY)")
	case errors.Is(err, unix.EINVAL):
		return -1, false, unavailable("creating a fanotify group for permission events", err,
			"the kernel is built without CONFIG_FANOTIFY_ACCESS_PERMISSIONS: use the tracepoint or connector source, which cannot refuse execs")
	case errors.Is(err, unix.EMFILE):
		return -1, false, unavailable("creating a fanotify group", err,
			"too many fanotify groups or open files: raise /proc/sys/fs/fanotify/max_user_groups or the file limit")
	}
	return -1, false, unavailable("creating a fanotify group", err, "")
}

// readEvents reads fanotify events until ctx is done or the descriptor
// fails.
func (h *helper) readEvents(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { h.f.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		n, err := h.f.Read(buf)
		if n > 0 {
			if perr := parseEvents(buf[:n], h.dispatch); perr != nil {
				// The records after the bad one cannot be found; closing
				// the group (by returning) lets the kernel allow them.
				return perr
			}
		}
		switch {
		case err == nil, errors.Is(err, io.EOF):
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			return nil
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOMEM):
			// The kernel could not open the executable for us and has
			// denied that exec; nothing to answer. Let descriptors free up.
			h.logf("fanotify: an exec was denied by the kernel because its event could not be read: %v", err)
			time.Sleep(10 * time.Millisecond)
		default:
			return fmt.Errorf("fanotify: reading events: %w", err)
		}
	}
}

// dispatch hands each exec to its own goroutine. It touches no file
// system: reading the opened file, stat-ing names or even closing the
// descriptor can wait for a FUSE daemon, and that daemon may itself wait
// for an exec that this loop must read.
func (h *helper) dispatch(ev rawEvent) {
	if ev.Mask&unix.FAN_Q_OVERFLOW != 0 {
		h.send([]byte{msgOverflow})
		h.logf("fanotify: event queue overflowed; some execs were allowed unseen")
	}
	if ev.FD < 0 {
		return
	}
	fd := int(ev.FD)
	h.wg.Add(1)
	if ev.Mask&unix.FAN_OPEN_EXEC_PERM == 0 {
		h.answer(fd, 0)
		h.closeLater(fd)
		return
	}
	go h.handle(fd, ev.PID)
}

// finish answers the event on fd and closes it.
func (h *helper) finish(fd int, errno int32) {
	h.answer(fd, errno)
	unix.Close(fd)
	h.wg.Done()
}

// closeLater closes an answered event's descriptor on the closer
// goroutine (see dispatch).
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

// closer closes the descriptors closeLater queues, until closeq is
// closed.
func (h *helper) closer() {
	for fd := range h.closeq {
		unix.Close(fd)
		h.wg.Done()
	}
}

// opened is what the source reads from the file an event opened.
type opened struct {
	image   string // its path
	next    string // the interpreter it names, if hasNext
	hasNext bool
}

func inspect(fd int) opened {
	var o opened
	o.image = fdPath(fd)
	o.next, o.hasNext = interpreter(func(p []byte, off int64) (int, error) { return unix.Pread(fd, p, off) })
	return o
}

// fdPath is the path of an open file, from procfs alone.
func fdPath(fd int) string {
	p, _ := fanotifyx.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return p
}

// handle builds the Create and sends it to Run; the verdict, the timeout
// or shutdown answers it later (settle). It answers at once if something
// in it panics. id is the thread that called execve when the group
// reports thread ids, else its process.
func (h *helper) handle(fd int, id int32) {
	owned := false // by a pendingExec, which will answer
	defer func() {
		if p := recover(); p != nil {
			h.logf("fanotify: internal error handling an exec by pid %d: %v; allowed", id, p)
		}
		if !owned {
			h.finish(fd, 0)
		}
	}()

	var st fanotifyx.Status
	haveStatus := false
	if id > 0 {
		if b, err := fanotifyx.ReadProc("/proc/" + strconv.Itoa(int(id)) + "/status"); err == nil {
			st, haveStatus = fanotifyx.ParseStatus(b, fanotifyx.StatusTgid|fanotifyx.StatusPPid|fanotifyx.StatusUID)
		}
	}
	pid := uint32(id)
	if haveStatus {
		pid = st.Tgid
	}
	// Run's process (or ours) replacing itself: nothing to ask it.
	if pid != 0 && (pid == h.self || int(pid) == h.cfg.MainPID) {
		return
	}
	ev := &process.Event{Op: process.Create, PID: pid, Created: time.Now()}
	if haveStatus {
		ev.PPID, ev.UID = st.PPid, st.UID
		ev.CreatorPID, ev.CreatorTID = st.PPid, st.PPid
	}
	if haveStatus && int(st.PPid) == h.cfg.MainPID && h.sharesMainMemory(id) {
		// A child Run's process started with vfork (os/exec does): one
		// of its threads waits, holding its share of the Go runtime,
		// until this exec is answered, and Run's process may be the
		// daemon of the file system the program is on. So: no file
		// system access, no verdict asked for, and only the first file
		// of the exec reported (the vforked thread execs once: a second
		// event while it still shares Run's memory is the same exec
		// opening its interpreter). The report is queued before the
		// answer (send never waits), so it precedes whatever the new
		// image goes on to exec.
		owned = true
		if h.own.first(id) {
			ev.Image = fdPath(fd)
			argv, truncated, _ := execArgv(id, MaxArgvBytes)
			ev.Argv = argv
			h.send(encodeEvent(0, ev, truncated))
		}
		h.finish(fd, 0)
		return
	}

	in := inspect(fd)
	if id > 0 && h.chains.continues(id, fd, in.image) {
		// The same exec going on (script -> interpreter -> loader): it
		// was allowed as a whole; it may continue once more.
		if in.hasNext {
			h.chains.expect(id, in.next)
		}
		return
	}
	ev.Image = in.image
	var truncated bool
	if id > 0 {
		// Without thread ids the event names the process, and argv is
		// found only if its main thread is the one in execve.
		argv, cut, err := execArgv(id, MaxArgvBytes)
		if err == nil {
			ev.Argv, truncated = argv, cut
		}
	}
	p := &pendingExec{id: h.nextID.Add(1), fd: fd, tid: id, next: in.next, hasNext: in.hasNext && id > 0,
		image: in.image, pid: pid}
	owned = true
	if !h.register(p) {
		h.settle(p, 0)
		return
	}
	if err := h.send(encodeEvent(p.id, ev, truncated)); err != nil {
		if h.settle(p, 0) {
			h.send([]byte{msgLate})
		}
	}
}

// register adds p to the execs waiting for a verdict and starts its
// timeout; false when the helper is shutting down.
func (h *helper) register(p *pendingExec) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.pending[p.id] = p
	p.timer = time.AfterFunc(h.cfg.Timeout, func() {
		if h.settle(p, 0) {
			h.send([]byte{msgLate})
			h.logf("fanotify: handler took longer than %v on exec of %s by pid %d; allowed", h.cfg.Timeout, p.image, p.pid)
		}
	})
	return true
}

// settle answers p, if nothing has yet: it reports whether this call did.
// An allowed exec's continuation is expected before the answer, since its
// event can only come after.
func (h *helper) settle(p *pendingExec, errno int32) bool {
	if !p.answered.CompareAndSwap(false, true) {
		return false
	}
	h.mu.Lock()
	delete(h.pending, p.id)
	h.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
	if errno == 0 && p.hasNext {
		h.chains.expect(p.tid, p.next)
	}
	h.answer(p.fd, errno)
	h.closeLater(p.fd) // settle may run on readSocket: see dispatch
	return true
}

// allowAll answers every waiting exec with allow, and every later one at
// once: the helper is stopping.
func (h *helper) allowAll() {
	h.mu.Lock()
	h.closed = true
	ps := make([]*pendingExec, 0, len(h.pending))
	for _, p := range h.pending {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	for _, p := range ps {
		h.settle(p, 0)
	}
}

// sharesMainMemory reports whether thread tid, a child of Run's process
// calling execve, still shares that process's memory: it was made with
// vfork (or clone with CLONE_VM), and the thread that made it is blocked
// until the exec replaces its memory. When the kernel cannot say (no
// kcmp), every child of Run's process is taken to be one.
func (h *helper) sharesMainMemory(tid int32) bool {
	shared, err := fanotifyx.SharesMemory(int(tid), h.cfg.MainPID)
	if err != nil {
		return err != unix.ESRCH
	}
	return shared
}

// answer writes the response for the event on fd: allow for errno 0, else
// deny, with errno itself where the kernel takes it.
func (h *helper) answer(fd int, errno int32) {
	fb, err := h.resp.Respond(fd, errno)
	if fb == fanotifyx.NotTaken {
		h.logf("fanotify: the kernel does not take errno %d (%v) for exec refusals; refusing with EPERM instead",
			errno, unix.Errno(errno))
	}
	if err != nil {
		h.logf("fanotify: answering an exec: %v", err)
	}
}
