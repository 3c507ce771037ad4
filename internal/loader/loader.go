// Package loader turns an eBPF ELF object, as built by
// `clang -O2 -g -target bpf`, into a CollectionSpec: the maps to create with
// their initial contents, and the programs as validated instructions whose
// map references are indices into a per-program list of map names. Nothing
// is created and no kernel is involved; the runtime instantiates the spec.
//
// Parsing the ELF file (BTF map definitions in .maps, legacy struct
// bpf_map_def in "maps", global data in .data, .rodata and .bss, relocations,
// bpf-to-bpf calls, license, pinning) is done by cilium/ebpf's
// LoadCollectionSpecFromReader, which is exactly the part of cilium/ebpf that
// does not talk to the kernel. This package adds what ebpfhost needs on top:
// checks that produce messages a C programmer can act on, translation into
// ebpfhost's own types, and isolation from parser panics, since objects are
// untrusted input.
//
// Which program type a section name stands for is not decided here: the
// runtime maps sections to program types through its registry, so every
// program keeps its section name.
package loader

//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c maps.c -o maps.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c legacy.c -o legacy.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c globals.c -o globals.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c extern.c -o extern.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c externmap.c -o externmap.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c perfmap.c -o perfmap.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c noprog.c -o noprog.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c ldabs.c -o ldabs.o"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/isa"
)

// CollectionSpec is everything an object file declares: its maps and its
// programs, ready for the runtime to instantiate.
type CollectionSpec struct {
	File     string                  // name used in error messages
	Maps     map[string]*MapSpec     // by the name programs refer to them by
	Programs map[string]*ProgramSpec // by function name
}

// MapSpec is a map to create before the programs are loaded.
type MapSpec struct {
	maps.Spec
	// Contents are the initial entries, written in order after the map is
	// created. For .data, .rodata and .bss it is the single entry key 0 ->
	// the section's bytes (zeros for .bss).
	Contents []KV
	// Frozen maps (.rodata) become read-only for user space once their
	// contents are written, so that the values the program was verified
	// against are the values it sees; programs may only read them because
	// Flags has maps.FlagRdonlyProg.
	Frozen bool
	// Pinning says whether the map is shared by name with other collections
	// that pin a map of the same name.
	Pinning Pinning
	// Section is the ELF section the map was declared in: ".maps" (BTF map
	// definitions), "maps" (legacy struct bpf_map_def), or a data section
	// such as ".data", ".rodata" or ".bss".
	Section string
}

// KV is one initial entry of a map.
type KV struct {
	Key, Value []byte
	// Ref, when not empty, names what the value refers to: a map of the
	// collection for array_of_maps and hash_of_maps, a program for
	// prog_array (both written in C with __array(values, ...)). Objects can
	// only refer to them by name; the runtime stores the id of the created
	// map or program as the value. Value is nil then.
	Ref string
}

// Pinning is how a map is shared between collections.
type Pinning uint32

// Pinning values, as in libbpf's LIBBPF_PIN_* and cilium/ebpf's PinType.
const (
	PinNone   Pinning = 0 // a new map for every collection
	PinByName Pinning = 1 // shared with every collection pinning a map of the same name
)

func (p Pinning) String() string {
	switch p {
	case PinNone:
		return "none"
	case PinByName:
		return "by name"
	}
	return fmt.Sprintf("pinning %d", uint32(p))
}

// ProgramSpec is one program: a function in a program section, with every
// function it calls appended to it.
type ProgramSpec struct {
	Name    string // function name
	Section string // ELF section, e.g. "xdp", "process", "file/pre"
	License string
	// Instructions are validated (isa.Validate). Map references are lddw
	// with Src isa.PseudoMapIdx (the immediate is an index into MapRefs) or
	// isa.PseudoMapIdxVal (the low 32 bits of the immediate are the index,
	// the high 32 bits the offset into the map's value, as for global
	// variables).
	Instructions []isa.Instruction
	// MapRefs names the maps the program uses, indexed by the lddw
	// immediates above; each is a key of CollectionSpec.Maps.
	MapRefs []string
	// Lines is the source line of each instruction slot as the object's BTF
	// line info records it, or nil when the object has none (built without
	// -g). Line info marks where a line's code starts, so most slots have a
	// zero Line; SourceLine finds the line a slot belongs to.
	Lines []Line
	// Functions names the function starting at a slot: the program itself
	// at 0 and each bpf-to-bpf callee where it was appended.
	Functions map[int]string
}

// Line is a line of C source.
type Line struct {
	File string // as recorded at compile time, e.g. "./prog.c"
	Line uint32 // 1-based
	Text string // the line's text
}

func (l Line) String() string {
	return fmt.Sprintf("%s:%d: %s", l.File, l.Line, strings.TrimSpace(l.Text))
}

// SourceLine returns the source line slot i belongs to: the nearest line
// info at or before i within the same function. Compilers record a line
// only where its code starts, so most slots have no entry of their own.
func (p *ProgramSpec) SourceLine(i int) (Line, bool) {
	if i < 0 || i >= len(p.Lines) {
		return Line{}, false
	}
	for j := i; j >= 0; j-- {
		if p.Lines[j].Line != 0 {
			return p.Lines[j], true
		}
		if _, ok := p.Functions[j]; ok {
			break
		}
	}
	return Line{}, false
}

// LoadFile reads an ELF object from a file; see Load.
func LoadFile(path string) (*CollectionSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Load(f, path)
}

// Load reads an ELF object built with clang -target bpf. name identifies
// the object in error messages, which all start with it.
//
// The object is untrusted: malformed input yields an error, never a panic,
// and headers that claim more data than the file holds are refused before
// anything is parsed (see MaxDataSection for the one kind of section that
// takes no room in the file).
func Load(r io.ReaderAt, name string) (*CollectionSpec, error) {
	l := &loader{name: name}
	syms, err := l.checkELF(r)
	if err != nil {
		return nil, err
	}
	var cs *ebpf.CollectionSpec
	err = l.guard("parsing", func() error {
		var err error
		cs, err = ebpf.LoadCollectionSpecFromReader(r)
		return err
	})
	if err != nil {
		return nil, l.wrapParseError(err)
	}
	l.mapSections = syms
	return l.convert(cs)
}

type loader struct {
	name string
	// mapSections gives the section of each symbol declared in a map
	// section, which cilium/ebpf does not keep.
	mapSections map[string]string
}

func (l *loader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{l.name}, args...)...)
}

// ParserPanicError reports that the ELF parser (cilium/ebpf or debug/elf)
// panicked on the object. It is always a malformed object; the panic is a
// parser bug, recovered so that untrusted input cannot crash the host.
type ParserPanicError struct {
	File  string
	What  string // what the parser was doing
	Value any    // the panic value
	Stack []byte
}

func (e *ParserPanicError) Error() string {
	return fmt.Sprintf("%s: malformed eBPF object: the ELF parser panicked while %s: %v", e.File, e.What, e.Value)
}

// guard runs f, which calls into cilium/ebpf or debug/elf, turning a panic
// into a *ParserPanicError.
func (l *loader) guard(what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &ParserPanicError{File: l.name, What: what, Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// wrapParseError adds the file name and a hint to an error from cilium/ebpf.
func (l *loader) wrapParseError(err error) error {
	var pe *ParserPanicError
	if errors.As(err, &pe) {
		return err
	}
	hint := ""
	switch {
	case errors.Is(err, ebpf.ErrNotSupported):
		hint = " (the ELF parser does not support this construct)"
	case strings.Contains(err.Error(), "missing BTF"):
		hint = " (BTF map definitions in .maps need BTF: compile with -g)"
	}
	return fmt.Errorf("%s: invalid eBPF object: %w%s", l.name, err, hint)
}

func (l *loader) convert(cs *ebpf.CollectionSpec) (*CollectionSpec, error) {
	if len(cs.Programs) == 0 {
		return nil, l.errorf(`no programs: the object has no function in a program section (put each program in one with SEC("name"); functions in .text are only reachable through calls)`)
	}
	out := &CollectionSpec{
		File:     l.name,
		Maps:     make(map[string]*MapSpec, len(cs.Maps)),
		Programs: make(map[string]*ProgramSpec, len(cs.Programs)),
	}
	for _, name := range sortedKeys(cs.Maps) {
		m, err := l.convertMap(name, cs.Maps[name])
		if err != nil {
			return nil, err
		}
		out.Maps[name] = m
	}
	// Programs in a stable order, so that of several broken programs the
	// same one is always reported.
	names := sortedKeys(cs.Programs)
	slices.SortStableFunc(names, func(a, b string) int {
		return strings.Compare(cs.Programs[a].SectionName, cs.Programs[b].SectionName)
	})
	for _, name := range names {
		p, err := l.convertProgram(name, cs.Programs[name], out.Maps)
		if err != nil {
			return nil, err
		}
		out.Programs[name] = p
	}
	if err := l.checkRefs(out); err != nil {
		return nil, err
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// convertProgram rewrites the map references of one program into indices of
// its MapRefs, checks that every symbol it refers to is defined, and decodes
// it into validated instructions.
func (l *loader) convertProgram(name string, ps *ebpf.ProgramSpec, specMaps map[string]*MapSpec) (*ProgramSpec, error) {
	where := fmt.Sprintf("%s: program %s (section %s)", l.name, name, ps.SectionName)
	p := &ProgramSpec{Name: name, Section: ps.SectionName, License: ps.License, Functions: map[int]string{}}

	insns := slices.Clone(ps.Instructions)
	// Functions and line info first, so that errors can quote the source.
	defined := map[string]bool{}
	var lines []Line
	iter := insns.Iterate()
	for iter.Next() {
		ins, slot := iter.Ins, int(iter.Offset)
		if s := ins.Symbol(); s != "" {
			p.Functions[slot] = s
			defined[s] = true
		}
		// Line 0 marks code the compiler made up; it has no source text.
		if bl, ok := ins.Source().(*btf.Line); ok && bl != nil && bl.LineNumber() != 0 {
			if lines == nil {
				lines = make([]Line, insns.Size()/asm.InstructionSize)
			}
			lines[slot] = Line{File: bl.FileName(), Line: bl.LineNumber(), Text: bl.Line()}
		}
	}
	p.Lines = lines
	at := func(slot int) string {
		if sl, ok := p.SourceLine(slot); ok {
			return fmt.Sprintf(" (at %s)", sl)
		}
		return ""
	}

	refIndex := map[string]int{}
	iter = insns.Iterate()
	for iter.Next() {
		ins, slot := iter.Ins, int(iter.Offset)
		if err := l.checkInstruction(where, slot, ins, defined, specMaps); err != nil {
			return nil, fmt.Errorf("%w%s", err, at(slot))
		}
		if !ins.IsLoadFromMap() {
			continue
		}
		ref := ins.Reference()
		idx, ok := refIndex[ref]
		if !ok {
			idx = len(p.MapRefs)
			refIndex[ref] = idx
			p.MapRefs = append(p.MapRefs, ref)
		}
		if ins.Src == asm.PseudoMapValue {
			// cilium/ebpf keeps the offset into the value in the high half,
			// where the kernel (and ebpfhost) expect it.
			ins.Src = asm.Register(isa.PseudoMapIdxVal)
			ins.Constant = int64(uint64(ins.Constant)&^0xffffffff | uint64(uint32(idx)))
		} else {
			ins.Src = asm.Register(isa.PseudoMapIdx)
			ins.Constant = int64(uint32(idx))
		}
	}

	var decoded []isa.Instruction
	err := l.guard("encoding the instructions of program "+name, func() error {
		var err error
		decoded, err = isa.FromCilium(insns)
		return err
	})
	if err != nil {
		var ie *isa.Error
		if errors.As(err, &ie) {
			msg := fmt.Sprintf("%s: invalid instruction %d (%s): %s%s", where, ie.Index, ie.Instruction, ie.Reason, at(ie.Index))
			return nil, &programError{msg: msg, err: err}
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p.Instructions = decoded
	return p, nil
}

// programError carries a message built around an underlying error (an
// *isa.Error) that callers may want to inspect.
type programError struct {
	msg string
	err error
}

func (e *programError) Error() string { return e.msg }
func (e *programError) Unwrap() error { return e.err }

// checkInstruction reports references that cannot be satisfied: symbols the
// object declares but does not define, maps that do not exist, and map
// pseudo-instructions that no relocation produced.
func (l *loader) checkInstruction(where string, slot int, ins *asm.Instruction, defined map[string]bool, specMaps map[string]*MapSpec) error {
	ref := ins.Reference()
	isLDDW := ins.OpCode.IsDWordLoad()
	switch {
	case ins.IsLoadFromMap():
		if ref == "" {
			return fmt.Errorf("%s: instruction %d loads a map by number (lddw with source %d) instead of through a relocation naming it; the loader cannot tell which map that is", where, slot, ins.Src)
		}
		if _, ok := specMaps[ref]; !ok {
			return fmt.Errorf("%s: instruction %d: unresolved reference to map %q, which the object does not define", where, slot, ref)
		}
	case isLDDW && ins.Src != asm.PseudoFunc && ins.Src != 0:
		// BTF ids and map indices mean something only to a loader that
		// produced them; an object cannot carry them.
		return fmt.Errorf("%s: instruction %d: lddw with source %d is not allowed in an object file", where, slot, ins.Src)
	case ref == "":
		return nil
	case ins.IsKfuncCall():
		return fmt.Errorf("%s: instruction %d: unresolved symbol %q: the program calls a kernel function (__ksym), which ebpfhost does not provide", where, slot, ref)
	case ins.IsFunctionReference():
		if !defined[ref] {
			what := "calls function"
			if isLDDW {
				what = "takes the address of function"
			}
			return fmt.Errorf("%s: instruction %d: unresolved symbol %q: the program %s %s, which is declared but not defined in the object (every function a program calls must be in the same object; helpers are called through numbered pointers, not extern declarations)", where, slot, ref, what, ref)
		}
	case isLDDW:
		return fmt.Errorf("%s: instruction %d: unresolved symbol %q: the program uses %s, which is declared extern but not defined in the object (an undefined map or global variable)", where, slot, ref, ref)
	}
	return nil
}

// checkRefs checks the maps and programs that initial map contents refer to.
func (l *loader) checkRefs(cs *CollectionSpec) error {
	for _, name := range sortedKeys(cs.Maps) {
		m := cs.Maps[name]
		for _, kv := range m.Contents {
			if kv.Ref == "" {
				continue
			}
			switch m.Type {
			case maps.ArrayOfMaps, maps.HashOfMaps:
				inner, ok := cs.Maps[kv.Ref]
				if !ok {
					return l.errorf("map %s (section %s): initial value %x refers to map %q, which the object does not define", name, m.Section, kv.Key, kv.Ref)
				}
				if m.InnerMap != nil && !inner.Spec.Compatible(m.InnerMap) {
					return l.errorf("map %s (section %s): initial value %x is map %s, %s, which does not match the inner map template %s", name, m.Section, kv.Key, kv.Ref, &inner.Spec, m.InnerMap)
				}
			case maps.ProgArray:
				if _, ok := cs.Programs[kv.Ref]; !ok {
					return l.errorf("map %s (section %s): initial value %x refers to %q, which is not a program of the object (functions stored in a prog_array must have their own SEC(...))", name, m.Section, kv.Key, kv.Ref)
				}
			default:
				return l.errorf("map %s (section %s): initial value %x refers to %q, but only map-in-map and prog_array maps hold references", name, m.Section, kv.Key, kv.Ref)
			}
		}
	}
	return nil
}
