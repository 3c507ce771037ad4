package fanotify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// helperStartTimeout bounds the helper's setup (marking every mount).
const helperStartTimeout = 30 * time.Second

// helperStopTimeout bounds how long Run waits for the helper to exit
// before it kills it (which has the kernel allow what is pending just
// the same).
const helperStopTimeout = 5 * time.Second

func (s *Source) run(ctx context.Context, h file.Handler) error {
	pre, post := s.interest()

	n, err := newNotifier(s)
	if err != nil {
		return err
	}
	defer n.close()
	mountinfo, werr := openMountWatch()
	if werr != nil {
		s.logf("fanotify: cannot watch for new mounts: %v", werr)
	} else {
		defer unix.Close(mountinfo)
	}
	if err := n.setInterest(post, true); err != nil {
		return err
	}

	var p *permClient
	if s.opts.Deny {
		p, err = s.startHelper(ctx, permMask(pre))
		if err != nil || p == nil {
			return err // p == nil: cancelled while starting
		}
		defer p.stop()
		n.helper.Store(int32(p.cmd.Process.Pid))
	}
	if s.opts.Ready != nil {
		s.opts.Ready()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	bg.Add(2)
	go func() {
		defer bg.Done()
		if werr == nil {
			n.marker.watch(ctx, mountinfo, func() { s.setUnwatched(0, n.marker.unwatched()) })
		}
	}()
	go func() {
		// Interest changes: new marks, or marks removed.
		defer bg.Done()
		t := time.NewTicker(interestPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			npre, npost := s.interest()
			if npost != post {
				post = npost
				n.setInterest(post, false)
			}
			if p != nil && npre != pre {
				pre = npre
				p.conn.send(encodeMask(permMask(pre)))
			}
		}
	}()
	errc := make(chan error, 2)
	if p != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			err := p.serve(h)
			if ctx.Err() == nil {
				if err == nil {
					err = errors.New("fanotify: the permission helper exited")
				}
				errc <- err
				cancel()
			}
		}()
	}
	err = n.read(ctx, h)
	cancel()
	if p != nil {
		// Ends serve's read; p.stop (deferred) then closes the socket,
		// and the helper allows what is pending.
		p.conn.sock.SetReadDeadline(time.Now())
	}
	if err == nil && ctx.Err() != nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// permClient is Run's side of the permission helper.
type permClient struct {
	s    *Source
	cmd  *exec.Cmd
	conn *conn
	done chan error // cmd.Wait's result
}

// startHelper starts the helper process and waits until it has placed its
// marks. It returns nil, nil when ctx ends first.
func (s *Source) startHelper(ctx context.Context, mask uint64) (*permClient, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, unavailable("creating the helper's socket", err, "")
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return nil, fmt.Errorf("fanotify: %w", err)
	}
	sock := os.NewFile(uintptr(pair[0]), "fanotify-socket")
	child := os.NewFile(uintptr(pair[1]), "fanotify-helper-socket")
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"ebpfhost-file-fanotify-helper"}
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	if _, set := os.LookupEnv("GORACE"); raceEnabled && !set {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stderr = os.Stderr // a crash of the helper should be seen
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	child.Close()
	if err != nil {
		sock.Close()
		return nil, unavailable("starting the helper process (/proc/self/exe)", err, "")
	}
	p := &permClient{s: s, cmd: cmd, conn: &conn{sock: sock, in: bufio.NewReaderSize(sock, 64<<10)}, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()

	stop := context.AfterFunc(ctx, func() { sock.SetReadDeadline(time.Now()) })
	defer stop()
	b, _ := json.Marshal(config{MainPID: os.Getpid(), Timeout: int64(s.opts.Timeout), Paths: s.paths, Mask: mask})
	if err := p.conn.send(append([]byte{msgConfig}, b...)); err != nil {
		p.stop()
		return nil, fmt.Errorf("fanotify: configuring the helper: %w", err)
	}
	hi, err := p.awaitHello()
	if ctx.Err() != nil {
		p.stop()
		return nil, nil
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	if hi.Tried != "" {
		p.stop()
		var herr error
		if hi.Err != "" {
			herr = errors.New(hi.Err)
		}
		return nil, unavailable(hi.Tried, herr, hi.Fix)
	}
	s.mu.Lock()
	s.errnos = hi.Errnos
	if s.errnos == nil {
		s.errnos = []int32{}
	}
	s.mu.Unlock()
	s.setUnwatched(1, hi.Unwatched)
	return p, nil
}

// stop ends the helper: closing the socket makes it allow what is pending
// and exit.
func (p *permClient) stop() {
	p.conn.sock.Close()
	select {
	case <-p.done:
	case <-time.After(helperStopTimeout):
		p.cmd.Process.Kill()
		<-p.done
		p.s.logf("fanotify: the permission helper did not stop; killed")
	}
}

// awaitHello reads the helper's report on its setup, passing notes on.
func (p *permClient) awaitHello() (hello, error) {
	p.conn.sock.SetReadDeadline(time.Now().Add(helperStartTimeout))
	defer p.conn.sock.SetReadDeadline(time.Time{})
	var buf []byte
	for {
		msg, err := readFrame(p.conn.in, buf)
		if err != nil {
			return hello{}, unavailable("starting the helper process", fmt.Errorf("no report from it: %v", err), "")
		}
		buf = msg
		switch msg[0] {
		case msgNote:
			p.s.logf("%s", msg[1:])
		case msgHello:
			var hi hello
			if err := json.Unmarshal(msg[1:], &hi); err != nil {
				return hello{}, fmt.Errorf("fanotify: bad report from the helper: %w", err)
			}
			return hi, nil
		}
	}
}

// serve answers the helper until its socket is closed. Each event is
// decided on a goroutine of its own; the helper enforces the timeout.
func (p *permClient) serve(h file.Handler) error {
	var buf []byte
	for {
		msg, err := readFrame(p.conn.in, buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("fanotify: reading from the helper: %w", err)
		}
		buf = msg
		switch msg[0] {
		case msgEvent:
			ev := new(file.Event)
			id, err := decodeEvent(msg, ev)
			if err != nil {
				return err
			}
			ev.ID = p.s.nextID.Add(1)
			go func() {
				p.conn.send(fanotifyx.EncodeVerdict(id, p.s.decide(h, ev)))
			}()
		case msgNote:
			p.s.logf("%s", msg[1:])
		case msgMounts:
			var u []string
			if json.Unmarshal(msg[1:], &u) == nil {
				p.s.setUnwatched(1, u)
			}
		case msgOverflow:
			p.s.dropped.Add(1)
		case msgLate:
			p.s.dropped.Add(1)
			p.s.late.Add(1)
		}
	}
}

// decide calls the Handler on a pre event: a panic allows, an errno out
// of range denies with EPERM.
func (s *Source) decide(h file.Handler, ev *file.Event) int32 {
	v := call(s, h, ev)
	if v.Errno != 0 && (v.Errno < 1 || v.Errno > 4095) {
		return int32(unix.EPERM)
	}
	return v.Errno
}

// conn is Run's end of the helper's socket; writes are serialised so that
// frames do not interleave.
type conn struct {
	sock *os.File
	in   *bufio.Reader
	mu   sync.Mutex
}

func (c *conn) send(b []byte) error {
	f := fanotifyx.Frame(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.sock.Write(f)
	return err
}
