package tracepoint

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

//go:generate sh -c "cd bpf && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c file.c -o file.o"

// fileObject is bpf/file.o, built from bpf/file.c by the go:generate line
// above (the flags internal/clangtest checks).
//
//go:embed bpf/file.o
var fileObject []byte

// DefaultRingBufferSize is the ring buffer's size unless Options say
// otherwise: a record is about 100 bytes plus its paths, so 8 MiB holds
// some 50,000 events, a few tenths of a second of a busy machine's reads
// and writes should the handler stall.
const DefaultRingBufferSize = 8 << 20

// interestPoll is how often Run asks Options.Interest again.
const interestPoll = time.Second

// The kernel wakes the reader at most every wakeupInterval (or when a
// quarter of the ring buffer is waiting), and the reader polls every
// flushWindow while records flow. flushWindow must be longer than
// wakeupInterval: a window without records then proves that the next
// record will wake the reader. Events reach the Handler at most a few
// milliseconds after the system call; their Time is the kernel's.
const (
	wakeupInterval = time.Millisecond
	flushWindow    = 3 * time.Millisecond
)

// Options configure a Source.
type Options struct {
	// PID, when not 0, limits the source to that process (its threads),
	// filtered in the kernel. The source's own process is never reported.
	PID uint32
	// RingBufferSize is the size in bytes of the BPF ring buffer the
	// kernel fills and Run drains, rounded up to a power of two of at
	// least a page. 0: DefaultRingBufferSize.
	RingBufferSize int
	// Interest says which operations are wanted; the kernel program
	// looks only at the system calls that make them, and it is asked
	// again every second. nil: every operation the source reports.
	Interest file.Interest
	// Ready, when set, is called once the programs are attached.
	Ready func()
}

// Source is the syscall tracepoint file source. Create one with New; Run
// may be called again after it returned, but not twice at once.
type Source struct {
	opts    Options
	running atomic.Bool

	mu      sync.Mutex
	objs    *objects // while Run runs
	dropped uint64   // counted by finished runs
	lost    atomic.Uint64
}

// New returns a Source; nothing touches the kernel until Run.
func New(opts Options) *Source {
	if opts.RingBufferSize <= 0 {
		opts.RingBufferSize = DefaultRingBufferSize
	}
	return &Source{opts: opts}
}

// Name implements file.Source.
func (s *Source) Name() string { return "tracepoint" }

// ops are the operations the source reports, before and after.
const ops = file.OpSet(0) |
	1<<file.Open | 1<<file.Create | 1<<file.Read | 1<<file.Write | 1<<file.Close | 1<<file.Rename |
	1<<file.Unlink | 1<<file.Mkdir | 1<<file.Rmdir | 1<<file.Setattr | 1<<file.Symlink | 1<<file.Link

// Caps implements file.Source.
func (s *Source) Caps() file.Caps {
	scope := "every process on the machine"
	if s.opts.PID != 0 {
		scope = "process " + strconv.FormatUint(uint64(s.opts.PID), 10)
	}
	return file.Caps{
		Pre: ops, Post: ops, Latency: true, PID: true, Scope: scope,
		Limitation: "system calls are reported as they are made and cannot be refused or redirected; " +
			"paths a call names are as the process gave them, made absolute and lexically clean " +
			"(symbolic links not resolved), those of file descriptors as the kernel names the open file; " +
			"Create means O_CREAT was given; Close is close(2) of a descriptor, not the file's last close; " +
			"io_uring, mmap writes, sendfile, splice and copy_file_range are not seen; 64-bit programs only",
	}
}

// Dropped implements file.Source: records the kernel could not hand over
// (the ring buffer was full), program runs the kernel skipped, and post
// events whose pre event was lost, over all runs.
func (s *Source) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.dropped + s.lost.Load()
	if s.objs != nil {
		n += s.objs.drops()
	}
	return n
}

// objects are the kernel objects of one Run.
type objects struct {
	OnEnter  *ebpf.Program `ebpf:"on_enter"`
	OnExit   *ebpf.Program `ebpf:"on_exit"`
	Calls    *ebpf.Map     `ebpf:"calls"`
	Events   *ebpf.Map     `ebpf:"events"`
	Counters *ebpf.Map     `ebpf:"counters"`
	Inflight *ebpf.Map     `ebpf:"inflight"`
	Scratch  *ebpf.Map     `ebpf:"scratch"`
	Woken    *ebpf.Map     `ebpf:"woken"`
}

func (o *objects) close() {
	for _, c := range []interface{ Close() error }{o.OnEnter, o.OnExit, o.Calls, o.Events, o.Counters, o.Inflight, o.Scratch, o.Woken} {
		c.Close()
	}
}

// drops reads the kernel's count of lost records and of skipped runs.
func (o *objects) drops() uint64 {
	var n uint64
	var perCPU []uint64
	if err := o.Counters.Lookup(uint32(1), &perCPU); err == nil {
		for _, v := range perCPU {
			n += v
		}
	}
	for _, p := range []*ebpf.Program{o.OnEnter, o.OnExit} {
		if st, err := p.Stats(); err == nil {
			n += st.RecursionMisses
		}
	}
	return n
}

// call is struct call in file.c.
type call struct {
	Kind, Op, Want, Pad uint8
}

// syscallEntry is a system call the source knows.
type syscallEntry struct {
	kind uint8
	op   file.Op
}

// Run implements file.Source: it loads and attaches the programs, then
// calls h for each event, in the order the kernel produced them, on one
// goroutine, until ctx is cancelled; then it detaches and frees
// everything and returns nil. Verdicts are ignored. When the kernel
// cannot run the programs it returns an *file.UnavailableError at once.
func (s *Source) Run(ctx context.Context, h file.Handler) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("tracepoint: Run is already running on this Source")
	}
	defer s.running.Store(false)
	if !supported {
		return &file.UnavailableError{Source: s.Name(), Tried: "reading system call arguments on " + runtime.GOARCH,
			Err: errors.New("the kernel program knows x86-64 registers only"), Fix: "use the fanotify or FUSE source"}
	}
	objs, err := s.load()
	if err != nil {
		return err
	}
	defer objs.close()

	pre, post := s.interest()
	if err := fillCalls(objs.Calls, pre, post); err != nil {
		return fmt.Errorf("tracepoint: configuring the system calls: %w", err)
	}
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{{"sys_enter", objs.OnEnter}, {"sys_exit", objs.OnExit}} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.name, Program: a.prog})
		if err != nil {
			return s.unavailable("attaching a raw tracepoint program to "+a.name, err)
		}
		defer l.Close()
	}
	rd, err := ringbuf.NewReader(objs.Events)
	if err != nil {
		return s.unavailable("opening the BPF ring buffer", err)
	}
	defer rd.Close()

	s.mu.Lock()
	s.objs = objs
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.dropped += objs.drops()
		s.objs = nil
		s.mu.Unlock()
	}()

	var wantPre, wantPost atomic.Uint32
	wantPre.Store(uint32(pre))
	wantPost.Store(uint32(post))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	bg.Go(func() {
		t := time.NewTicker(interestPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			npre, npost := s.interest()
			if npre != pre || npost != post {
				pre, post = npre, npost
				wantPre.Store(uint32(pre))
				wantPost.Store(uint32(post))
				fillCalls(objs.Calls, pre, post)
			}
		}
	})
	// Cancellation interrupts the blocked read by closing the reader.
	defer context.AfterFunc(ctx, func() { rd.Close() })()

	if s.opts.Ready != nil {
		s.opts.Ready()
	}
	dec := newDecoder()
	defer func() { s.lost.Add(dec.lost) }()
	var rec ringbuf.Record
	// While records flow the kernel wakes the reader at most every
	// wakeupInterval, so the reader also polls, every flushWindow, until
	// a whole window passes without a record; then any record wakes it
	// (see send in file.c).
	polling, seen := false, false
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if seen {
					rd.SetDeadline(time.Now().Add(flushWindow))
				} else {
					rd.SetDeadline(time.Time{})
					polling = false
				}
				seen = false
				continue
			}
			return fmt.Errorf("tracepoint: reading the ring buffer: %w", err)
		}
		seen = true
		if !polling {
			polling = true
			rd.SetDeadline(time.Now().Add(flushWindow))
		}
		ev := new(file.Event)
		if !dec.decode(rec.RawSample, ev) {
			continue
		}
		want := file.OpSet(wantPre.Load())
		if ev.Post {
			want = file.OpSet(wantPost.Load())
		}
		if want.Has(ev.Op) {
			deliver(h, ev)
		}
	}
}

// deliver runs the Handler; a panic is not fatal to the source.
func deliver(h file.Handler, ev *file.Event) {
	defer func() { recover() }()
	h(ev)
}

// interest returns the operations wanted now.
func (s *Source) interest() (pre, post file.OpSet) {
	if s.opts.Interest == nil {
		return ops, ops
	}
	pre, post = s.opts.Interest()
	return pre & ops, post & ops
}

// fillCalls tells the kernel program which system calls to look at, and
// whether to send their pre records, post records or both.
func fillCalls(m *ebpf.Map, pre, post file.OpSet) error {
	for nr, e := range syscalls {
		c := call{Kind: e.kind, Op: uint8(e.op)}
		can := kindOps(e.kind, e.op)
		if pre&can != 0 {
			c.Want |= wantPre
		}
		if post&can != 0 {
			c.Want |= wantPost
		}
		if c.Want == 0 {
			c.Kind = 0
		}
		if err := m.Put(nr, c); err != nil {
			return err
		}
	}
	return nil
}

// load prepares the embedded object for this kernel and this process and
// loads it.
func (s *Source) load() (*objects, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(fileObject))
	if err != nil {
		// The object is embedded; this is a build problem, not the machine's.
		return nil, fmt.Errorf("tracepoint: parsing the embedded bpf/file.o: %w", err)
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, &file.UnavailableError{
			Source: s.Name(),
			Tried:  "reading the kernel's type information (/sys/kernel/btf/vmlinux)",
			Err:    err,
			Fix:    "use a kernel built with CONFIG_DEBUG_INFO_BTF=y, Linux 5.8 or later",
		}
	}
	size := ringSize(s.opts.RingBufferSize)
	spec.Maps["events"].MaxEntries = size
	set := map[string]any{
		"self_tgid": uint32(os.Getpid()), "filter_tgid": s.opts.PID,
		"wakeup_ns": uint64(wakeupInterval), "wakeup_bytes": uint64(size / 4),
	}
	// In a pid namespace other than the first, pids are reported as this
	// process sees them (bpf_get_ns_current_pid_tgid).
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err == nil && st.Ino != procPidInitIno {
		set["pidns_dev"], set["pidns_ino"] = st.Dev, st.Ino
	}
	for name, v := range set {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("tracepoint: configuring %s: %w", name, err)
		}
	}

	// Before Linux 5.11 BPF memory counts against RLIMIT_MEMLOCK.
	_ = rlimit.RemoveMemlock()
	objs := new(objects)
	err = spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}})
	if err != nil {
		return nil, s.unavailable("loading the system call tracepoint programs", err)
	}
	return objs, nil
}

// procPidInitIno is the inode number of the initial pid namespace
// (PROC_PID_INIT_INO).
const procPidInitIno = 0xEFFFFFFC

// ringSize rounds n up to what the kernel accepts for a ring buffer: a
// power of two, at least a page.
func ringSize(n int) uint32 {
	size := uint32(os.Getpagesize())
	for int64(size) < int64(n) && size < 1<<30 {
		size <<= 1
	}
	return size
}

// unavailable explains a failure to set up the source, with the remedy
// that matches the error.
func (s *Source) unavailable(tried string, err error) *file.UnavailableError {
	fix := "needs Linux 5.8 or later with BPF (CONFIG_BPF_SYSCALL) and BTF (CONFIG_DEBUG_INFO_BTF)"
	var ve *ebpf.VerifierError
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		fix = "run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN before Linux 5.8)"
	case errors.As(err, &ve):
		fix = "the kernel's verifier refused the program; it needs Linux 5.8 or later, so report this with the kernel version if the kernel is newer"
	}
	return &file.UnavailableError{Source: s.Name(), Tried: tried, Err: err, Fix: fix}
}
