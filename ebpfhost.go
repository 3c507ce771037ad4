// Package ebpfhost is a pure-Go eBPF execution environment: it loads eBPF
// programs compiled with clang, verifies and runs them on virtual CPUs with
// maps and helpers, and attaches them to hooks that extensions provide.
//
// A Runtime is one execution context. Load an object into it, then use its
// programs and maps:
//
//	rt, err := ebpfhost.New(nil)
//	coll, err := rt.LoadFile("prog.o")
//	res, err := coll.Programs["count_packets"].TestRun(&ebpfhost.TestRunOptions{Data: packet})
//	var n uint64
//	err = coll.Maps["counts"].Lookup(uint32(0), &n)
//
// To run a program on real events, attach it to a hook and feed the hook
// from an event source (Program.Attach, Runtime.RunProcessEvents,
// Runtime.RunFileEvents).
//
// The API follows cilium/ebpf where it can, so code moves between the two
// easily: maps take keys and values as fixed-size Go values, byte slices or
// pointers to them, encoded in the host's byte order.
package ebpfhost

import (
	"bytes"
	"io"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"github.com/ebpfhost/ebpfhost/internal/loader"
)

// Options configure a Runtime. The zero value is a good default.
type Options struct {
	// CPUs is the number of virtual CPUs programs run on concurrently
	// (default GOMAXPROCS). Per-CPU maps hold one value per virtual CPU.
	CPUs int
	// Checked bounds-checks every memory access of every program against
	// the memory the runtime handed out, and stops a program at the first
	// violation. It is for testing programs and the runtime itself.
	Checked bool
	// InstructionBudget, when non-zero, stops any run that executes more
	// instructions than this.
	InstructionBudget uint64
	// Trace, when set, receives every bpf_trace_printk line as it is
	// written, in the format of Linux's trace_pipe.
	Trace io.Writer
}

// Runtime is an execution context: virtual CPUs, the program types of the
// registered extensions, and the maps and programs loaded into it.
type Runtime struct {
	rt   *core.Runtime
	exts *builtin.Set
}

// New creates a runtime with the built-in program types.
func New(opts *Options) (*Runtime, error) {
	if opts == nil {
		opts = &Options{}
	}
	rt, err := core.New(core.Options{
		CPUs:        opts.CPUs,
		Checked:     opts.Checked,
		Budget:      opts.InstructionBudget,
		TraceWriter: opts.Trace,
	})
	if err != nil {
		return nil, err
	}
	exts := builtin.New()
	if err := exts.Register(rt); err != nil {
		rt.Close()
		return nil, err
	}
	return &Runtime{rt: rt, exts: exts}, nil
}

// Close unloads everything and releases the virtual CPUs.
func (r *Runtime) Close() error { return r.rt.Close() }

// CPUs returns the number of virtual CPUs.
func (r *Runtime) CPUs() int { return r.rt.CPUs() }

// LoadFile loads an ELF object compiled with clang -target bpf.
func (r *Runtime) LoadFile(path string) (*Collection, error) {
	spec, err := loader.LoadFile(path)
	if err != nil {
		return nil, err
	}
	return r.load(spec)
}

// Load loads an ELF object from memory; name is used in error messages.
func (r *Runtime) Load(object []byte, name string) (*Collection, error) {
	spec, err := loader.Load(bytes.NewReader(object), name)
	if err != nil {
		return nil, err
	}
	return r.load(spec)
}

func (r *Runtime) load(spec *loader.CollectionSpec) (*Collection, error) {
	c, err := r.rt.LoadCollection(spec)
	if err != nil {
		return nil, err
	}
	coll := &Collection{c: c, Maps: map[string]*Map{}, Programs: map[string]*Program{}}
	for n, m := range c.Maps {
		coll.Maps[n] = &Map{m: m, cpus: r.rt.CPUs()}
	}
	for n, p := range c.Programs {
		coll.Programs[n] = &Program{p: p}
	}
	return coll, nil
}

// ProgramTypes lists the registered program types and the section prefixes
// that select them.
func (r *Runtime) ProgramTypes() []ProgramTypeInfo {
	var out []ProgramTypeInfo
	for _, t := range r.rt.Registry().Types() {
		out = append(out, ProgramTypeInfo{Name: t.Name, GUID: t.GUID, ID: t.ID, Sections: append([]string(nil), t.SectionPrefixes...)})
	}
	return out
}

// ProgramTypeInfo describes a registered program type.
type ProgramTypeInfo struct {
	Name     string
	GUID     string
	ID       uint32
	Sections []string
}

// Collection is a loaded object: its maps and programs by name.
type Collection struct {
	c        *core.Collection
	Maps     map[string]*Map
	Programs map[string]*Program
}

// Close unloads the collection's programs and frees its maps.
func (c *Collection) Close() error { return c.c.Close() }

// Program is a loaded program.
type Program struct {
	p *core.Program
}

// Name returns the program's function name.
func (p *Program) Name() string { return p.p.Name() }

// Section returns the ELF section the program came from.
func (p *Program) Section() string { return p.p.Section() }

// Type returns the name of the program's type.
func (p *Program) Type() string { return p.p.Type().Name }

// ID returns the program's id, which prog_array maps store.
func (p *Program) ID() uint32 { return p.p.ID() }

// TestRunOptions are the inputs of a test run, as for BPF_PROG_TEST_RUN.
type TestRunOptions struct {
	// Context is the context to start from (ctx_in); the program type
	// decides which fields it takes (for xdp: ingress_ifindex and
	// rx_queue_index).
	Context []byte
	// Data is the packet or other variable-length data (data_in).
	Data []byte
	// Repeat runs the program this many times (default 1) and reports the
	// mean duration.
	Repeat int
}

// TestRunResult is the outcome of a test run.
type TestRunResult struct {
	ReturnValue uint64 // r0 of the last run
	Duration    int64  // mean nanoseconds per run
	Context     []byte // ctx_out
	Data        []byte // data_out
}

// TestRun runs the program against a context its type builds from the
// options, without any hook (BPF_PROG_TEST_RUN).
func (p *Program) TestRun(opts *TestRunOptions) (*TestRunResult, error) {
	if opts == nil {
		opts = &TestRunOptions{}
	}
	res, err := p.p.TestRun(&core.TestRunOptions{Context: opts.Context, Data: opts.Data, Repeat: opts.Repeat})
	if err != nil {
		return nil, err
	}
	return &TestRunResult{ReturnValue: res.R0, Duration: res.Duration.Nanoseconds(), Context: res.Context, Data: res.Data}, nil
}

// ReadTrace returns up to n of the most recent bpf_trace_printk lines.
func (r *Runtime) ReadTrace(n int) []string {
	var out []string
	for _, rec := range r.rt.Trace().Recent(n) {
		out = append(out, rec.String())
	}
	return out
}
