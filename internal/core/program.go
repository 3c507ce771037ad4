package core

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Program is a program loaded into a runtime: resolved against its maps
// and compiled for the interpreter.
type Program struct {
	rt      *Runtime
	id      uint32
	name    string
	section string
	license string
	typ     *ProgramType
	insns   []isa.Instruction
	spec    *loader.ProgramSpec // source lines and function names
	code    *interp.Program
	// grants is the static memory the program addresses directly (global
	// variables), granted before each checked run.
	grants []interp.Region
	// verification is what the verifier measured.
	verification *verifier.Result

	closeOnce sync.Once
}

// ID returns the program's id (what user space stores in a prog_array).
func (p *Program) ID() uint32 { return p.id }

// Name returns the program's function name.
func (p *Program) Name() string { return p.name }

// Section returns the ELF section the program came from.
func (p *Program) Section() string { return p.section }

// License returns the license the object declares.
func (p *Program) License() string { return p.license }

// Type returns the program's type.
func (p *Program) Type() *ProgramType { return p.typ }

// Instructions returns the program as it runs (map references resolved).
func (p *Program) Instructions() []isa.Instruction { return p.insns }

// Close removes the program from the runtime.
func (p *Program) Close() {
	p.closeOnce.Do(func() { p.rt.removeProgram(p) })
}

// Collection is what LoadCollection made of one object: its maps and
// programs, by name.
type Collection struct {
	File     string
	Maps     map[string]*Map
	Programs map[string]*Program
	frozen   map[string][]byte // values of frozen maps, for the verifier
}

// Close unloads the collection's programs, then frees its maps.
func (c *Collection) Close() error {
	for _, p := range c.Programs {
		p.Close()
	}
	var errs []error
	for _, m := range c.Maps {
		if !m.pinned {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// LoadCollection creates the maps of an object (with their initial
// contents, .rodata frozen) and loads its programs: each program's type
// comes from its section through the registry, its map references are
// resolved, and it is compiled with the helpers of its type.
func (rt *Runtime) LoadCollection(spec *loader.CollectionSpec) (*Collection, error) {
	return rt.loadCollection(spec, true)
}

// loadCollection is LoadCollection; verify is false only in tests of the
// runtime's own checks (checked mode, helper argument checks), which need
// programs the verifier would refuse.
func (rt *Runtime) loadCollection(spec *loader.CollectionSpec, verify bool) (_ *Collection, err error) {
	c := &Collection{File: spec.File, Maps: map[string]*Map{}, Programs: map[string]*Program{}, frozen: map[string][]byte{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := rt.createMaps(c, spec); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := rt.loadProgram(c, spec.Programs[n], verify)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.File, err)
		}
		c.Programs[n] = p
	}
	if err := c.fillProgArrays(spec); err != nil {
		return nil, err
	}
	return c, nil
}

// createMaps creates the maps in dependency order (inner-map templates need
// no instances; map-in-map contents name other maps of the object, created
// first).
func (rt *Runtime) createMaps(c *Collection, spec *loader.CollectionSpec) error {
	names := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		names = append(names, n)
	}
	// Maps whose contents name other maps go last.
	sort.Slice(names, func(i, j int) bool {
		a, b := isMapInMap(spec.Maps[names[i]]), isMapInMap(spec.Maps[names[j]])
		if a != b {
			return !a
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		ms := spec.Maps[n]
		s := ms.Spec
		s.Name = n
		if ms.Pinning == loader.PinByName {
			if m, ok := rt.pinnedMap(n); ok {
				if !m.spec.Compatible(&s) || m.spec.Flags != s.Flags {
					return fmt.Errorf("%s: map %q is pinned by name, and the pinned map %s differs from this one (%s)", spec.File, n, &m.spec, &s)
				}
				c.Maps[n] = m // shared: its contents are those of the pinned map
				continue
			}
		}
		m, err := rt.NewMap(&s)
		if err != nil {
			return fmt.Errorf("%s: section %s: %w", spec.File, ms.Section, err)
		}
		c.Maps[n] = m
		if ms.Pinning == loader.PinByName {
			rt.pin(n, m)
		}
		for i, kv := range ms.Contents {
			value := kv.Value
			switch {
			case kv.Ref != "" && ms.Type == maps.ProgArray:
				continue // programs are not loaded yet: see fillProgArrays
			case kv.Ref != "":
				inner, ok := c.Maps[kv.Ref]
				if !ok {
					return fmt.Errorf("%s: map %q, initial entry %d: inner map %q is not defined in the object", spec.File, n, i, kv.Ref)
				}
				value = idBytes(inner.ID())
			}
			if err := m.Update(kv.Key, value, maps.UpdateAny); err != nil {
				return fmt.Errorf("%s: map %q, initial entry %d: %w", spec.File, n, i, err)
			}
		}
		if ms.Frozen {
			if f, ok := m.m.(maps.Freezer); ok {
				f.Freeze()
				// The verifier may treat the frozen value as constants.
				if m.spec.Type == maps.Array && m.spec.MaxEntries == 1 {
					value := make([]byte, m.spec.ValueSize)
					if m.Lookup([]byte{0, 0, 0, 0}, value) == nil {
						c.frozen[n] = value
					}
				}
			}
			m.progWritable = false
		}
	}
	return nil
}

func isMapInMap(ms *loader.MapSpec) bool {
	return ms.Type == maps.ArrayOfMaps || ms.Type == maps.HashOfMaps
}

func idBytes(id uint32) []byte {
	return []byte{byte(id), byte(id >> 8), byte(id >> 16), byte(id >> 24)}
}

// fillProgArrays writes the initial entries of prog arrays, which name
// programs of the object and so wait until the programs are loaded.
func (c *Collection) fillProgArrays(spec *loader.CollectionSpec) error {
	for n, ms := range spec.Maps {
		if ms.Type != maps.ProgArray {
			continue
		}
		for i, kv := range ms.Contents {
			if kv.Ref == "" {
				continue
			}
			p, ok := c.Programs[kv.Ref]
			if !ok {
				return fmt.Errorf("%s: map %q, initial entry %d: program %q is not defined in the object", spec.File, n, i, kv.Ref)
			}
			if err := c.Maps[n].Update(kv.Key, idBytes(p.ID()), maps.UpdateAny); err != nil {
				return fmt.Errorf("%s: map %q, initial entry %d: %w", spec.File, n, i, err)
			}
		}
	}
	return nil
}

// loadProgram resolves and compiles one program of a collection.
func (rt *Runtime) loadProgram(c *Collection, ps *loader.ProgramSpec, verify bool) (*Program, error) {
	where := fmt.Sprintf("section %q, program %s", ps.Section, ps.Name)
	info, ok := rt.types.ForSection(ps.Section)
	if !ok {
		return nil, fmt.Errorf("%s: no program type handles section %q (known section prefixes: %s)", where, ps.Section, strings.Join(rt.types.Sections(), ", "))
	}
	typ := rt.programType(info)
	p := &Program{rt: rt, name: ps.Name, section: ps.Section, license: ps.License, typ: typ, spec: ps}
	// Only verified programs run.
	if verify {
		res, err := verifier.Verify(verifierProgram(c, ps, info), nil)
		p.verification = res
		if err != nil {
			return nil, fmt.Errorf("%s: the verifier rejected the program: %w", where, err)
		}
	}
	p.insns = append([]isa.Instruction(nil), ps.Instructions...)
	for i := 0; i < len(p.insns); i++ {
		ins := &p.insns[i]
		if !ins.IsLDDW() {
			continue
		}
		switch ins.Src {
		case isa.PseudoMapIdx, isa.PseudoMapIdxVal:
			if err := p.resolveMap(c, ps, i); err != nil {
				return nil, fmt.Errorf("%s: %s%s: %w", where, p.at(i), p.source(i), err)
			}
		case isa.PseudoMapFD, isa.PseudoMapValue, isa.PseudoBTFID:
			return nil, fmt.Errorf("%s: %s%s: unresolved lddw reference (source %d); the loader should have named a map", where, p.at(i), p.source(i), ins.Src)
		}
		i++
	}
	code, err := interp.Compile(p.insns, interp.Options{
		Helpers: rt.helpersFor(typ),
		Checked: rt.opts.Checked,
		Budget:  rt.opts.Budget,
	})
	if err != nil {
		var ie *isa.Error
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%s: %s%s: %s", where, p.at(ie.Index), p.source(ie.Index), ie.Reason)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p.code = code
	rt.addProgram(p)
	return p, nil
}

// verifierProgram describes a loaded program and its maps for the
// verifier.
func verifierProgram(c *Collection, ps *loader.ProgramSpec, info *progtype.ProgramType) *verifier.Program {
	return VerifierProgram(ps, info, func(name string) (verifier.MapInfo, bool) {
		m, ok := c.Maps[name]
		if !ok {
			return verifier.MapInfo{}, false
		}
		mi := mapInfo(&m.spec, !m.progWritable)
		mi.Frozen = c.frozen[name]
		return mi, true
	})
}

// VerifierProgram describes a program for the verifier; maps says what is
// known of each map the program names.
func VerifierProgram(ps *loader.ProgramSpec, info *progtype.ProgramType, maps func(name string) (verifier.MapInfo, bool)) *verifier.Program {
	vp := &verifier.Program{
		Name: ps.Name, Section: ps.Section, Insns: ps.Instructions, Type: info,
		Source: func(pc int) string {
			if l, ok := ps.SourceLine(pc); ok {
				return l.String()
			}
			return ""
		},
	}
	for _, name := range ps.MapRefs {
		mi, ok := maps(name)
		if !ok {
			mi = verifier.MapInfo{Name: name}
		}
		vp.Maps = append(vp.Maps, mi)
	}
	return vp
}

// SpecMapInfo is what the verifier knows of a map from an object alone
// (before anything is created): .rodata is read-only with its contents.
func SpecMapInfo(spec *loader.CollectionSpec) func(name string) (verifier.MapInfo, bool) {
	return func(name string) (verifier.MapInfo, bool) {
		ms, ok := spec.Maps[name]
		if !ok {
			return verifier.MapInfo{}, false
		}
		s := ms.Spec
		s.Name = name
		mi := mapInfo(&s, ms.Frozen || s.Flags&maps.FlagRdonlyProg != 0)
		if ms.Frozen && s.Type == maps.Array && s.MaxEntries == 1 && len(ms.Contents) == 1 {
			mi.Frozen = ms.Contents[0].Value
		}
		return mi, true
	}
}

func mapInfo(s *maps.Spec, readOnly bool) verifier.MapInfo {
	mi := verifier.MapInfo{Name: s.Name, Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize, MaxEntries: s.MaxEntries, ReadOnly: readOnly}
	if s.InnerMap != nil {
		inner := mapInfo(s.InnerMap, s.InnerMap.Flags&maps.FlagRdonlyProg != 0)
		mi.Inner = &inner
	}
	return mi
}

// Verification returns what verifying the program measured.
func (p *Program) Verification() *verifier.Result { return p.verification }

// resolveMap turns the map reference of the lddw at slot i into the map's
// handle, or the address of a global variable for map-value references.
func (p *Program) resolveMap(c *Collection, ps *loader.ProgramSpec, i int) error {
	ins := &p.insns[i]
	idx := uint32(ins.Imm)
	if int(idx) >= len(ps.MapRefs) {
		return fmt.Errorf("map reference %d is out of range (the program names %d maps)", idx, len(ps.MapRefs))
	}
	name := ps.MapRefs[idx]
	m, ok := c.Maps[name]
	if !ok {
		return fmt.Errorf("map %q is not defined in the object", name)
	}
	if ins.Src == isa.PseudoMapIdx {
		*ins = isa.Instruction{Opcode: isa.OpLDDW, Dst: ins.Dst, Imm: int64(m.handle)}
		return nil
	}
	off := uint32(uint64(ins.Imm) >> 32)
	dv, ok := m.m.(maps.DirectValuer)
	if !ok {
		return fmt.Errorf("map %q (%s) does not allow direct value access", name, m.spec.Type)
	}
	addr, err := dv.DirectValueAddr(off)
	if err != nil {
		return fmt.Errorf("map %q: %w", name, err)
	}
	*ins = isa.Instruction{Opcode: isa.OpLDDW, Dst: ins.Dst, Imm: int64(addr)}
	base, _ := dv.DirectValueAddr(0)
	p.grants = appendGrant(p.grants, interp.Region{Addr: base, Size: m.valueSize, Writable: m.progWritable})
	return nil
}

func appendGrant(gs []interp.Region, g interp.Region) []interp.Region {
	for _, o := range gs {
		if o == g {
			return gs
		}
	}
	return append(gs, g)
}

func (p *Program) at(i int) string { return fmt.Sprintf("instruction %d", i) }

// source returns " (file:line: text)" for slot i when line info exists.
func (p *Program) source(i int) string {
	if l, ok := p.spec.SourceLine(i); ok {
		return " (" + l.String() + ")"
	}
	return ""
}

// Task is the process an invocation is attributed to: what
// bpf_get_current_pid_tgid and friends report. Hooks say which process
// caused the event; test runs default to the calling process.
type Task struct {
	PID  uint32 // thread id (Linux's pid)
	TGID uint32 // process id (Linux's tgid)
	UID  uint32
	GID  uint32
	Comm string
}

// invocation is the per-run state helpers reach through VM.Env. Each CPU
// owns one, so a run allocates nothing.
type invocation struct {
	cpu          *CPU
	prog         *Program
	task         *Task
	hook         any // what the hook passed to Link.Invoke
	reservations []reservation
}

// Run runs the program once on a free virtual CPU with r1 = ctx, granting
// the given memory in checked mode, and returns r0.
func (p *Program) Run(ctx uint64, task *Task, grants ...interp.Region) (uint64, error) {
	c := p.rt.acquire()
	defer p.rt.release(c)
	return p.runOn(c, ctx, task, nil, grants)
}

func (p *Program) runOn(c *CPU, ctx uint64, task *Task, hook any, grants []interp.Region) (uint64, error) {
	vm := c.vm
	inv := &c.inv
	inv.cpu, inv.prog, inv.task, inv.hook, inv.reservations = c, p, task, hook, inv.reservations[:0]
	vm.Env = inv
	if p.rt.opts.Checked {
		for _, g := range p.grants {
			vm.Grant(g.Addr, g.Size, g.Writable)
		}
		for _, g := range grants {
			vm.Grant(g.Addr, g.Size, g.Writable)
		}
	}
	p.rt.epoch.Enter(c.ID)
	r0, err := vm.Run(p.code, ctx)
	p.rt.epoch.Exit(c.ID)
	inv.hook, inv.task = nil, nil
	if err != nil {
		return 0, fmt.Errorf("program %s (section %s): %w%s", p.name, p.section, err, p.faultSource(err))
	}
	return r0, nil
}

// faultSource adds the source line of a fault, when there is one.
func (p *Program) faultSource(err error) string {
	var f *interp.Fault
	if errors.As(err, &f) {
		return p.source(f.PC)
	}
	return ""
}

// TestRunOptions are the inputs of a test run (BPF_PROG_TEST_RUN).
type TestRunOptions struct {
	Context []byte // ctx_in
	Data    []byte // data_in
	Repeat  int    // runs (default 1)
	Task    *Task  // the process runs are attributed to (default: this one)
}

// TestRunResult is what a test run produced.
type TestRunResult struct {
	R0       uint64
	Duration time.Duration // mean per run
	Context  []byte        // ctx_out
	Data     []byte        // data_out
}

// TestRun runs the program against a context its type builds from the
// given buffers, Repeat times on one virtual CPU, and returns the last r0,
// the mean duration and the context and data as the program left them.
func (p *Program) TestRun(opts *TestRunOptions) (*TestRunResult, error) {
	if opts == nil {
		opts = &TestRunOptions{}
	}
	repeat := opts.Repeat
	if repeat <= 0 {
		repeat = 1
	}
	task := opts.Task
	if task == nil {
		task = selfTask()
	}
	in := &TestInput{Context: opts.Context, Data: opts.Data}
	var tc *TestContext
	var err error
	if p.typ.NewTestContext != nil {
		tc, err = p.typ.NewTestContext(in)
	} else {
		tc, err = defaultTestContext(p.typ, in)
	}
	if err != nil {
		return nil, fmt.Errorf("program %s (section %s): building the %s context: %w", p.name, p.section, p.typ.Name, err)
	}
	defer tc.Free()

	c := p.rt.acquire()
	defer p.rt.release(c)
	var r0 uint64
	start := time.Now()
	for i := 0; i < repeat; i++ {
		if r0, err = p.runOn(c, tc.Addr, task, tc.Hook, tc.Grants); err != nil {
			return nil, err
		}
	}
	res := &TestRunResult{R0: r0, Duration: time.Since(start) / time.Duration(repeat)}
	if tc.Finish != nil {
		res.Context, res.Data = tc.Finish()
	}
	return res, nil
}

var (
	selfOnce sync.Once
	self     Task
)

// selfTask describes the calling process.
func selfTask() *Task {
	selfOnce.Do(func() {
		self = Task{PID: uint32(os.Getpid()), TGID: uint32(os.Getpid()), UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
		if b, err := os.ReadFile("/proc/self/comm"); err == nil {
			self.Comm = strings.TrimSpace(string(b))
		} else if exe, err := os.Executable(); err == nil {
			self.Comm = exe
		}
		if len(self.Comm) > 15 {
			self.Comm = self.Comm[:15]
		}
	})
	t := self
	return &t
}
