// Package core is ebpfhost's execution context: it owns the virtual CPUs,
// the maps and programs loaded into it, the general helpers, and the program
// types extensions register, and it runs programs (on hooks, or on demand
// with test-run).
//
// It corresponds to eBPF for Windows' execution context: the loader and the
// verifier know nothing about particular hooks, and extensions add program
// types (with their context layout, helpers and test-run support) without
// touching this package.
package core

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ebpfhost/ebpfhost/internal/epoch"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// Options configure a Runtime.
type Options struct {
	// CPUs is the number of virtual CPUs programs run on concurrently
	// (default GOMAXPROCS). Per-CPU maps keep one value per virtual CPU.
	CPUs int
	// Checked compiles every program in checked mode: each memory access is
	// bounds-checked against what the runtime handed out, and helpers check
	// their pointer arguments. For tests and fuzzing.
	Checked bool
	// Budget, when non-zero, bounds the instructions one run may execute.
	Budget uint64
	// TraceWriter, when set, also receives every bpf_trace_printk line.
	TraceWriter io.Writer
}

// Runtime is one execution context.
type Runtime struct {
	opts  Options
	epoch *epoch.Domain
	cpus  []*CPU
	free  chan *CPU

	types    *progtype.Registry
	typeImpl sync.Map // name -> *ProgramType
	extMu    sync.Mutex
	exts     map[string]*Extension
	linkMu   sync.Mutex
	links    map[uint32]*Link
	nextLink uint32

	mu       sync.Mutex
	maps     atomic.Pointer[[]*Map]     // indexed by map id; 0 unused
	programs atomic.Pointer[[]*Program] // indexed by program id; 0 unused

	pins    map[string]*Map // maps pinned by name (LIBBPF_PIN_BY_NAME)
	general map[int32]interp.Helper
	trace   *Trace
	closed  atomic.Bool
}

// CPU is a virtual CPU: a VM and the per-CPU state helpers use.
type CPU struct {
	ID      int
	vm      *interp.VM
	scratch *mem.Block // program-visible scratch memory for helpers
	rand    uint64     // state of bpf_get_prandom_u32
	inv     invocation // the run in progress
}

// scratchSize is the program-visible scratch memory of each CPU (array keys
// handed to bpf_for_each_map_elem callbacks and the like).
const scratchSize = 4096

// New creates a runtime with its virtual CPUs.
func New(opts Options) (*Runtime, error) {
	if opts.CPUs <= 0 {
		opts.CPUs = runtime.GOMAXPROCS(0)
	}
	rt := &Runtime{
		opts:  opts,
		epoch: epoch.New(opts.CPUs),
		free:  make(chan *CPU, opts.CPUs),
		types: progtype.NewRegistry(),
		trace: newTrace(opts.TraceWriter),
		exts:  map[string]*Extension{},
		links: map[uint32]*Link{},
	}
	rt.maps.Store(&[]*Map{nil})
	rt.programs.Store(&[]*Program{nil})
	for i := 0; i < opts.CPUs; i++ {
		vm, err := interp.New()
		if err != nil {
			rt.Close()
			return nil, err
		}
		scratch, err := mem.Alloc(scratchSize)
		if err != nil {
			vm.Close()
			rt.Close()
			return nil, err
		}
		c := &CPU{ID: i, vm: vm, scratch: scratch, rand: rand.Uint64() | 1}
		vm.CPU = i
		rt.cpus = append(rt.cpus, c)
		rt.free <- c
	}
	rt.general = rt.generalHelpers()
	return rt, nil
}

// CPUs returns the number of virtual CPUs.
func (rt *Runtime) CPUs() int { return len(rt.cpus) }

// Trace returns the stream bpf_trace_printk writes to.
func (rt *Runtime) Trace() *Trace { return rt.trace }

// Registry returns the program-information store of the runtime.
func (rt *Runtime) Registry() *progtype.Registry { return rt.types }

// Close releases the virtual CPUs and every map and program still loaded.
func (rt *Runtime) Close() error {
	if rt.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, p := range *rt.programs.Load() {
		if p != nil {
			p.Close()
		}
	}
	for _, m := range *rt.maps.Load() {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	for _, c := range rt.cpus {
		errs = append(errs, c.vm.Close(), c.scratch.Free())
	}
	return errors.Join(errs...)
}

// acquire takes a free virtual CPU, waiting for one if all are busy.
func (rt *Runtime) acquire() *CPU { return <-rt.free }

// release returns a virtual CPU to the pool.
func (rt *Runtime) release(c *CPU) { rt.free <- c }

// ProgramType is a program type as a runtime hosts it: the information the
// verifier and loader use, plus the parts that run.
type ProgramType struct {
	*progtype.ProgramType
	// Helpers implements the type-specific helpers listed in Helpers of
	// the embedded information.
	HelperFuncs map[int32]interp.Helper
	// NewTestContext builds the context for a test run from the caller's
	// buffers. Nil means the context is the caller's context bytes copied
	// into runtime memory (and there is no data).
	NewTestContext func(in *TestInput) (*TestContext, error)
}

// TestInput is what the caller of a test run provides.
type TestInput struct {
	Context []byte // ctx_in
	Data    []byte // data_in
}

// TestContext is a context built for a test run.
type TestContext struct {
	Addr   uint64          // what r1 points to
	Grants []interp.Region // memory the program may access (checked mode)
	// Hook is what the type's helpers see as HookData during the runs.
	Hook any
	// Finish returns ctx_out and data_out after the runs.
	Finish func() (ctx, data []byte)
	// Free releases the context's memory.
	Free func()
}

// RegisterProgramType adds a program type with no hooks, as an extension
// of its own name (for types that are only test-run, such as xdp).
func (rt *Runtime) RegisterProgramType(t *ProgramType) error {
	return rt.RegisterExtension(&Extension{Name: t.Name, ProgramTypes: []*ProgramType{t}})
}

// registerProgramType adds a program type. Its helper implementations must
// cover the helpers its information lists.
func (rt *Runtime) registerProgramType(t *ProgramType) error {
	for _, h := range t.Helpers {
		if h.ID < progtype.FirstTypeSpecificHelp {
			return fmt.Errorf("program type %q: helper %s has id %d; type-specific helpers start at %d", t.Name, h.Name, h.ID, progtype.FirstTypeSpecificHelp)
		}
		if t.HelperFuncs[h.ID] == nil {
			return fmt.Errorf("program type %q: helper %s (%d) has no implementation", t.Name, h.Name, h.ID)
		}
	}
	if err := rt.types.Register(t.ProgramType); err != nil {
		return err
	}
	rt.typeImpl.Store(t.Name, t)
	return nil
}

// programType returns the runtime part of a registered program type.
func (rt *Runtime) programType(info *progtype.ProgramType) *ProgramType {
	v, ok := rt.typeImpl.Load(info.Name)
	if !ok {
		return nil
	}
	return v.(*ProgramType)
}

// helpersFor returns every helper a program of type t may call, by id.
func (rt *Runtime) helpersFor(t *ProgramType) map[int32]interp.Helper {
	out := make(map[int32]interp.Helper, len(rt.general)+len(t.HelperFuncs))
	for id, h := range rt.general {
		out[id] = h
	}
	for id, h := range t.HelperFuncs {
		out[id] = h
	}
	return out
}

// addMap gives m an id and a handle.
func (rt *Runtime) addMap(m *Map) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.maps.Load()
	tab := append(append(make([]*Map, 0, len(old)+1), old...), m)
	m.id = uint32(len(tab) - 1)
	m.handle = mapHandleTag | uint64(m.id)
	rt.maps.Store(&tab)
}

func (rt *Runtime) removeMap(m *Map) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.maps.Load()
	tab := append([]*Map(nil), old...)
	if int(m.id) < len(tab) && tab[m.id] == m {
		tab[m.id] = nil
	}
	rt.maps.Store(&tab)
}

// mapHandleTag marks the values programs hold for maps (what lddw of a map
// yields). Helpers turn them back into maps with mapOf.
const mapHandleTag = 0xebf1 << 48

// mapOf returns the map a handle refers to, or nil.
func (rt *Runtime) mapOf(handle uint64) *Map {
	if handle&^0xffff_ffff != mapHandleTag {
		return nil
	}
	tab := *rt.maps.Load()
	if id := uint32(handle); int(id) < len(tab) {
		return tab[id]
	}
	return nil
}

// MapByID returns a loaded map by id.
func (rt *Runtime) MapByID(id uint32) (*Map, bool) {
	tab := *rt.maps.Load()
	if int(id) < len(tab) && tab[id] != nil {
		return tab[id], true
	}
	return nil, false
}

// resolver implements maps.Resolver for map-in-map types.
type resolver struct{ rt *Runtime }

func (r resolver) Map(id uint32) (maps.Map, uint64, bool) {
	m, ok := r.rt.MapByID(id)
	if !ok {
		return nil, 0, false
	}
	return m.m, m.handle, true
}

func (rt *Runtime) addProgram(p *Program) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.programs.Load()
	tab := append(append(make([]*Program, 0, len(old)+1), old...), p)
	p.id = uint32(len(tab) - 1)
	rt.programs.Store(&tab)
}

func (rt *Runtime) removeProgram(p *Program) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.programs.Load()
	tab := append([]*Program(nil), old...)
	if int(p.id) < len(tab) && tab[p.id] == p {
		tab[p.id] = nil
	}
	rt.programs.Store(&tab)
}

// ProgramByID returns a loaded program by id.
func (rt *Runtime) ProgramByID(id uint32) (*Program, bool) {
	tab := *rt.programs.Load()
	if int(id) < len(tab) && tab[id] != nil {
		return tab[id], true
	}
	return nil, false
}

// Programs returns the loaded programs ordered by id.
func (rt *Runtime) Programs() []*Program {
	var out []*Program
	for _, p := range *rt.programs.Load() {
		if p != nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
