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
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// helperStartTimeout bounds the helper's setup (marking every mount).
const helperStartTimeout = 30 * time.Second

// helperStopTimeout bounds how long Run waits for the helper to exit
// after cancellation before it kills it (which has the kernel allow
// everything pending just the same).
const helperStopTimeout = 5 * time.Second

func (s *Source) run(ctx context.Context, h process.Handler) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return unavailable("creating the helper's socket", err, "")
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return fmt.Errorf("fanotify: %w", err)
	}
	sock := os.NewFile(uintptr(pair[0]), "fanotify-socket")
	defer sock.Close()
	child := os.NewFile(uintptr(pair[1]), "fanotify-helper-socket")

	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"ebpfhost-fanotify-helper"}
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
		return unavailable("starting the helper process (/proc/self/exe)", err, "")
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopHelper := func() error {
		// Closing our end ends the helper; it allows what is pending.
		sock.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(helperStopTimeout):
			cmd.Process.Kill()
			<-exited
			return errors.New("fanotify: the helper did not stop; killed")
		}
	}

	// Cancellation ends any read from the helper, from here on.
	var cancelled atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		cancelled.Store(true)
		sock.SetReadDeadline(time.Now())
	})
	defer stop()

	c := &conn{sock: sock, in: bufio.NewReaderSize(sock, 64<<10)}
	b, _ := json.Marshal(config{Timeout: s.opts.Timeout, MainPID: os.Getpid()})
	if err := c.send(append([]byte{msgConfig}, b...)); err != nil {
		stopHelper()
		return fmt.Errorf("fanotify: configuring the helper: %w", err)
	}
	hi, err := s.awaitHello(c, &cancelled)
	if ctx.Err() != nil {
		stopHelper()
		return nil
	}
	if err != nil {
		stopHelper()
		return err
	}
	if hi.Tried != "" {
		stopHelper()
		var herr error
		if hi.Err != "" {
			herr = errors.New(hi.Err)
		}
		return unavailable(hi.Tried, herr, hi.Fix)
	}
	s.setErrnos(hi.Errnos)
	s.setMounts(hi.Unmarked)
	if s.opts.Ready != nil {
		s.opts.Ready()
	}

	err = s.serve(c, h)
	if ctx.Err() != nil {
		err = nil
	} else if err == nil {
		err = errors.New("fanotify: the helper process exited")
	}
	if herr := stopHelper(); err == nil && herr != nil && ctx.Err() == nil {
		err = herr
	}
	return err
}

// awaitHello reads the helper's report on its setup, passing notes on.
func (s *Source) awaitHello(c *conn, cancelled *atomic.Bool) (hello, error) {
	c.sock.SetReadDeadline(time.Now().Add(helperStartTimeout))
	defer func() {
		if !cancelled.Load() {
			c.sock.SetReadDeadline(time.Time{})
		}
	}()
	var buf []byte
	for {
		msg, err := readFrame(c.in, buf)
		if err != nil {
			return hello{}, unavailable("starting the helper process", fmt.Errorf("no report from it: %v", err), "")
		}
		buf = msg
		switch msg[0] {
		case msgNote:
			s.logf("%s", msg[1:])
		case msgHello:
			var hi hello
			if err := json.Unmarshal(msg[1:], &hi); err != nil {
				return hello{}, fmt.Errorf("fanotify: bad report from the helper: %w", err)
			}
			return hi, nil
		}
	}
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

// serve answers the helper until the socket is closed or read with a
// deadline (cancellation). Each exec awaiting a verdict is decided on its
// own goroutine; the helper enforces the timeout.
func (s *Source) serve(c *conn, h process.Handler) error {
	var buf []byte
	for {
		msg, err := readFrame(c.in, buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) {
				return nil // cancelled, or the helper closed its end
			}
			return fmt.Errorf("fanotify: reading from the helper: %w", err)
		}
		buf = msg
		switch msg[0] {
		case msgEvent:
			id, ev, truncated, err := decodeEvent(msg)
			if err != nil {
				return err
			}
			if truncated {
				s.truncated.Add(1)
			}
			if id == 0 {
				// Already allowed, no verdict wanted. Decided here, in
				// order: the process may exec again at once, and its
				// next Create must not overtake this one.
				s.decide(h, &ev)
				continue
			}
			// Awaiting a verdict: the process is blocked in execve, so
			// nothing else of its can come before this is answered.
			go func() {
				c.send(fanotifyx.EncodeVerdict(id, s.decide(h, &ev)))
			}()
		case msgNote:
			s.logf("%s", msg[1:])
		case msgMounts:
			var unmarked []string
			if json.Unmarshal(msg[1:], &unmarked) == nil {
				s.setMounts(unmarked)
			}
		case msgOverflow:
			s.dropped.Add(1)
		case msgLate:
			s.dropped.Add(1)
			s.late.Add(1)
		}
	}
}

// decide calls the Handler; a panic allows the exec.
func (s *Source) decide(h process.Handler, ev *process.Event) (errno int32) {
	defer func() {
		if p := recover(); p != nil {
			s.logf("fanotify: handler panicked on exec of %s by pid %d: %v; allowed", ev.Image, ev.PID, p)
			errno = 0
		}
	}()
	v := h(ev)
	if v.Errno != 0 && (v.Errno < 1 || v.Errno > 4095) {
		return int32(unix.EPERM)
	}
	return v.Errno
}

// unixErrnoName is the C name of an errno ("EIO"), or "".
func unixErrnoName(e int32) string { return unix.ErrnoName(unix.Errno(e)) }
