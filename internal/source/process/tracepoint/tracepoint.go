package tracepoint

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

//go:generate sh -c "cd bpf && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c process.c -o process.o"

// processObject is bpf/process.o, built from bpf/process.c by the
// go:generate line above (the flags internal/clangtest checks).
//
//go:embed bpf/process.o
var processObject []byte

// DefaultRingBufferSize is the ring buffer's size unless WithRingBufferSize
// says otherwise. A typical exec record is 100 to 300 bytes, so 8 MiB holds
// some 30,000 records: several seconds of 5,000 process starts a second if
// the reader stalls.
const DefaultRingBufferSize = 8 << 20

// Source delivers the kernel's process events. The zero value is not
// usable; call New. A Source runs one Run at a time and may be run again
// after Run returns.
type Source struct {
	ringSize   int
	ready      func()
	noGroupArg bool // use the pre-6.16 exit detection even if the kernel has group_dead

	running   atomic.Bool
	truncated atomic.Uint64

	mu      sync.Mutex
	objs    *objects // while Run is running
	dropped uint64   // counted by finished runs
}

// Option configures a Source.
type Option func(*Source)

// WithRingBufferSize sets the size in bytes of the BPF ring buffer the
// kernel fills and Run drains. It is rounded up to a power of two of at
// least a page; larger absorbs longer stalls of the handler at the cost of
// locked kernel memory.
func WithRingBufferSize(n int) Option {
	return func(s *Source) { s.ringSize = n }
}

// WithReady sets a function Run calls once the programs are attached and
// every later exec and exit will be seen, before it delivers the first
// event. Callers that start processes to watch them (tests, a supervisor)
// use it to know when to start.
func WithReady(f func()) Option {
	return func(s *Source) { s.ready = f }
}

// New returns a Source. It touches nothing in the kernel until Run.
func New(opts ...Option) *Source {
	s := &Source{ringSize: DefaultRingBufferSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name is the source's name for --source flags and messages.
func (s *Source) Name() string { return "tracepoint" }

// Caps says what the source delivers: everything but a verdict.
func (s *Source) Caps() process.Caps {
	return process.Caps{
		Argv:       true,
		ExitCode:   true,
		Parent:     true,
		UID:        true,
		Exits:      true,
		Creates:    true,
		AllMounts:  true,
		Limitation: "execs are reported after they happen and cannot be refused; command lines beyond 32 KiB are cut",
	}
}

// Truncated counts Create events whose command line was longer than the
// 32 KiB the kernel program copies, so that their Argv ends early.
func (s *Source) Truncated() uint64 { return s.truncated.Load() }

// Dropped counts records the kernel could not hand over because the ring
// buffer was full (the handler or the reader fell behind), plus program
// runs the kernel skipped because another BPF program was running on that
// CPU at the time, over all runs of this Source.
func (s *Source) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.dropped
	if s.objs != nil {
		n += s.objs.drops()
	}
	return n
}

// objects are the kernel objects of one Run.
type objects struct {
	OnFork  *ebpf.Program `ebpf:"on_fork"`
	OnExec  *ebpf.Program `ebpf:"on_exec"`
	OnExit  *ebpf.Program `ebpf:"on_exit"`
	Events  *ebpf.Map     `ebpf:"events"`
	Dropped *ebpf.Map     `ebpf:"dropped"`
}

func (o *objects) close() {
	for _, c := range []interface{ Close() error }{o.OnFork, o.OnExec, o.OnExit, o.Events, o.Dropped} {
		c.Close()
	}
}

// drops reads the kernel's drop counters. Errors read as zero: the maps
// live as long as o, and a count is all the caller wants.
func (o *objects) drops() uint64 {
	var n uint64
	var perCPU []uint64
	if err := o.Dropped.Lookup(uint32(0), &perCPU); err == nil {
		for _, v := range perCPU {
			n += v
		}
	}
	for _, p := range []*ebpf.Program{o.OnFork, o.OnExec, o.OnExit} {
		if st, err := p.Stats(); err == nil {
			n += st.RecursionMisses
		}
	}
	return n
}

// Run loads and attaches the programs, then calls h for each event, in the
// order the kernel produced them, on one goroutine, until ctx is cancelled;
// then it detaches and frees everything and returns nil. Verdicts are
// ignored. Each Event is new and h may keep it. When the kernel cannot run
// the programs, Run returns an *process.UnavailableError at once.
func (s *Source) Run(ctx context.Context, h process.Handler) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("tracepoint: Run is already running on this Source")
	}
	defer s.running.Store(false)

	objs, err := s.load()
	if err != nil {
		return err
	}
	defer objs.close()

	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{
		{"sched_process_fork", objs.OnFork},
		{"sched_process_exec", objs.OnExec},
		{"sched_process_exit", objs.OnExit},
	} {
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

	// Cancellation interrupts the blocked read by closing the reader.
	defer context.AfterFunc(ctx, func() { rd.Close() })()

	clock := newBootClock()
	defer clock.stop()
	dec := newDecoder(clock.offset, func() { s.truncated.Add(1) })

	if s.ready != nil {
		s.ready()
	}
	var rec ringbuf.Record
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tracepoint: reading the ring buffer: %w", err)
		}
		ev := new(process.Event)
		if dec.decode(rec.RawSample, ev) {
			h(ev)
		}
	}
}

// load prepares the embedded object for this kernel and loads it.
func (s *Source) load() (*objects, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(processObject))
	if err != nil {
		// The object is embedded; this is a build problem, not the machine's.
		return nil, fmt.Errorf("tracepoint: parsing the embedded bpf/process.o: %w", err)
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, &process.UnavailableError{
			Source: s.Name(),
			Tried:  "reading the kernel's type information (/sys/kernel/btf/vmlinux)",
			Err:    err,
			Fix:    "use a kernel built with CONFIG_DEBUG_INFO_BTF=y, Linux 5.8 or later",
		}
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, s.unavailable("counting the possible CPUs", err)
	}
	spec.Maps["scratch"].MaxEntries = uint32(cpus)
	spec.Maps["events"].MaxEntries = ringSize(s.ringSize)
	groupDead := !s.noGroupArg && exitHasGroupDead(kernel)
	if err := spec.Variables["exit_has_group_dead"].Set(boolByte(groupDead)); err != nil {
		return nil, fmt.Errorf("tracepoint: configuring the program: %w", err)
	}

	// Before Linux 5.11 BPF memory counts against RLIMIT_MEMLOCK; this is a
	// no-op on later kernels.
	_ = rlimit.RemoveMemlock()

	objs := new(objects)
	err = spec.LoadAndAssign(objs, &ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kernel},
	})
	if err != nil {
		return nil, s.unavailable("loading the tracepoint programs", err)
	}
	return objs, nil
}

// exitHasGroupDead reports whether the kernel's sched_process_exit passes
// group_dead (Linux 6.16 and later), which says exactly which thread's
// exit ends the process. The tracepoint's BTF prototype has the context
// pointer first, then the TP_PROTO arguments.
func exitHasGroupDead(kernel *btf.Spec) bool {
	var td *btf.Typedef
	if err := kernel.TypeByName("btf_trace_sched_process_exit", &td); err != nil {
		return false
	}
	ptr, ok := btf.UnderlyingType(td).(*btf.Pointer)
	if !ok {
		return false
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	return ok && len(proto.Params) == 3
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// ringSize rounds n up to what the kernel accepts for a ring buffer: a
// power of two, at least a page.
func ringSize(n int) uint32 {
	size := uint32(os.Getpagesize())
	for int64(size) < int64(n) && size < 1<<30 {
		size <<= 1
	}
	return size
}

// unavailable explains a failure to set up the source in the terms of
// process.UnavailableError, with the remedy that matches the error.
func (s *Source) unavailable(tried string, err error) *process.UnavailableError {
	fix := "needs Linux 5.8 or later with BPF (CONFIG_BPF_SYSCALL) and BTF (CONFIG_DEBUG_INFO_BTF)"
	var ve *ebpf.VerifierError
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		fix = "run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN before Linux 5.8)"
	case errors.As(err, &ve):
		fix = "the kernel's verifier refused the program; it needs Linux 5.8 or later, so report this with the kernel version if the kernel is newer"
	case errors.Is(err, unix.ENOENT) && len(tried) > 9 && tried[:9] == "attaching":
		fix = "the kernel lacks this scheduler tracepoint; it needs Linux 4.17 or later"
	}
	return &process.UnavailableError{Source: s.Name(), Tried: tried, Err: err, Fix: fix}
}

// bootClock converts the kernel's CLOCK_BOOTTIME, which the records carry
// because it is monotonic and counts suspend, to wall time. The offset
// between the two clocks changes only when the wall clock is set or
// slewed, so it is measured at start and then every few seconds.
type bootClock struct {
	off  atomic.Int64
	done chan struct{}
}

func newBootClock() *bootClock {
	c := &bootClock{done: make(chan struct{})}
	c.off.Store(measureBootToWall())
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.off.Store(measureBootToWall())
			case <-c.done:
				return
			}
		}
	}()
	return c
}

func (c *bootClock) offset() int64 { return c.off.Load() }
func (c *bootClock) stop()         { close(c.done) }

// measureBootToWall returns wall time minus boot time in nanoseconds,
// reading the boot clock between two wall clock readings and keeping the
// tightest of a few tries.
func measureBootToWall() int64 {
	var best, bestGap int64 = 0, -1
	for range 3 {
		var ts unix.Timespec
		before := time.Now()
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
			continue
		}
		after := time.Now()
		gap := int64(after.Sub(before))
		if bestGap < 0 || gap < bestGap {
			bestGap = gap
			best = before.UnixNano() + gap/2 - ts.Nano()
		}
	}
	return best
}
