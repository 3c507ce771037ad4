package fanotify

import (
	"errors"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxQueued bounds the bytes waiting for Run's process to read them. Past
// it new messages are refused (errBacklog) rather than grow memory: an
// exec whose event cannot be sent is allowed at once.
const maxQueued = 64 << 20

var errBacklog = errors.New("fanotify: too many messages waiting for Run")

// writer sends the helper's frames to Run without ever making the sender
// wait: a frame is written straight away when nothing is queued and the
// socket takes it (the usual case, with no hand-over to another thread),
// else queued for flush, which writes as the socket drains. Frames are
// never interleaved: a partly written one is finished first.
type writer struct {
	raw syscall.RawConn

	qmu    sync.Mutex // guards queue and queued
	queue  [][]byte   // frames (the first maybe partly written), in order
	queued int
	wake   chan struct{} // one token: the queue has something

	wmu sync.Mutex // held while writing to the socket
}

func newWriter(raw syscall.RawConn) *writer {
	return &writer{raw: raw, wake: make(chan struct{}, 1)}
}

// tryWrite writes what the socket takes now, without waiting.
func (w *writer) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Write(int(fd), b)
			if werr != unix.EINTR {
				return true
			}
		}
	})
	if err == nil {
		err = werr
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(err, unix.EAGAIN) {
		err = nil
	}
	return n, err
}

// send writes or queues one frame.
func (w *writer) send(f []byte) error {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	if len(w.queue) == 0 && w.wmu.TryLock() {
		n, err := w.tryWrite(f)
		w.wmu.Unlock()
		if err != nil {
			return err
		}
		if n == len(f) {
			return nil
		}
		if n > 0 {
			// The rest must follow before anything else.
			w.queue = append(w.queue, f[n:])
			w.queued += len(f) - n
			w.kick()
			return nil
		}
	}
	if w.queued+len(f) > maxQueued {
		return errBacklog
	}
	w.queue = append(w.queue, f)
	w.queued += len(f)
	w.kick()
	return nil
}

func (w *writer) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// flush writes the queued frames as the socket takes them, until stop is
// closed or the socket fails. Writes wait for the socket; a write
// deadline on it ends them.
func (w *writer) flush(stop <-chan struct{}) {
	for {
		select {
		case <-w.wake:
		case <-stop:
			return
		}
		if err := w.drain(); err != nil {
			return
		}
	}
}

// drain writes the queue out, waiting for the socket as needed.
func (w *writer) drain() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	for {
		w.qmu.Lock()
		if len(w.queue) == 0 {
			w.qmu.Unlock()
			return nil
		}
		f := w.queue[0]
		w.qmu.Unlock()

		var n int
		var werr error
		err := w.raw.Write(func(fd uintptr) bool {
			n, werr = unix.Write(int(fd), f)
			return werr != unix.EAGAIN && werr != unix.EINTR
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		w.qmu.Lock()
		w.queued -= n
		if n == len(f) {
			w.queue[0] = nil
			w.queue = w.queue[1:]
		} else {
			w.queue[0] = f[n:]
		}
		w.qmu.Unlock()
	}
}
