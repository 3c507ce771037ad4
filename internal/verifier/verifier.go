// Package verifier is ebpfhost's static verifier: before a program runs, it
// proves on every path that each memory access stays inside memory the
// program may touch, that nothing uninitialized is read, that pointers
// are used only as pointers and never leak, that helpers get arguments of
// the right kind, that every ring buffer reservation is settled, and that
// the program terminates. The interpreter trusts it: verified programs run
// without per-access checks.
//
// It explores paths like the Linux verifier: an abstract state (what each
// register and stack byte may hold: types, offsets, bounds and known bits)
// is carried along each path, conditional jumps split it with each side
// refined by the condition, and a state that an already verified state
// covers at the same instruction (comparing only live registers) is not
// explored again. Bounded loops are verified by exploring their iterations,
// within a budget of processed instructions. Nothing in it knows about any
// particular hook: the program type's context descriptor and helper
// prototypes (package progtype) say what is allowed.
package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

// MapInfo is what the verifier knows of a map the program uses.
type MapInfo struct {
	Name       string
	Type       maps.Type
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	// ReadOnly maps (.rodata, BPF_F_RDONLY_PROG) may only be read by
	// programs.
	ReadOnly bool
	// Frozen is, for a read-only one-entry array whose value can no longer
	// change (.rodata), that value: loads from it at known offsets are
	// constants, so configuration in const volatile globals prunes paths
	// as it does in Linux.
	Frozen []byte
	// Inner is the template of the inner maps of a map-in-map.
	Inner *MapInfo
}

// Program is what the verifier checks.
type Program struct {
	Name    string
	Section string
	// Insns is the program as the loader produced it: map references are
	// lddw with source isa.PseudoMapIdx / isa.PseudoMapIdxVal, whose
	// immediate indexes Maps.
	Insns []isa.Instruction
	Maps  []MapInfo
	// Type is the program type: context layout, helpers, return range.
	Type *progtype.ProgramType
	// Source returns "file:line: text" for an instruction when the object
	// has line info ("" otherwise).
	Source func(pc int) string
}

// Options tune a verification.
type Options struct {
	// Log records, for a rejected program, every instruction of the path
	// that failed with the state of the registers it touched.
	Log bool
	// MaxSteps bounds the instructions processed over all paths (default
	// 1,000,000, as Linux's); beyond it the program is "too complex".
	MaxSteps int
}

// Result is what a verification measured.
type Result struct {
	Instructions int           // instructions in the program
	Steps        int           // instructions processed over all paths
	States       int           // states kept for pruning
	Pruned       int           // paths cut short by a covering state
	Duration     time.Duration // time the verification took
}

// Kind classifies why a program was rejected.
type Kind string

// Reasons for rejection.
const (
	KindUninitRegister Kind = "uninitialized register"
	KindUninitStack    Kind = "uninitialized stack"
	KindOutOfBounds    Kind = "out of bounds"
	KindNullDeref      Kind = "possible NULL dereference"
	KindBadPointer     Kind = "invalid pointer use"
	KindUnbounded      Kind = "unbounded offset"
	KindReadOnly       Kind = "write to read-only memory"
	KindPointerLeak    Kind = "pointer leak"
	KindHelperArg      Kind = "invalid helper argument"
	KindUnknownHelper  Kind = "unknown helper"
	KindUnreleased     Kind = "unreleased reference"
	KindInfiniteLoop   Kind = "infinite loop"
	KindTooComplex     Kind = "too complex"
	KindCallDepth      Kind = "call depth"
	KindReturnValue    Kind = "invalid return value"
	KindUnreachable    Kind = "unreachable instruction"
	KindBadJump        Kind = "invalid jump"
	KindFallOff        Kind = "falls off the end"
	KindUnsupported    Kind = "unsupported instruction"
)

// Error is a rejection: where, why, and what the verifier knew there.
type Error struct {
	Kind        Kind
	PC          int
	Instruction string // disassembly of the instruction at PC
	Source      string // "file:line: text", when known
	Reason      string
	Registers   []string // the state of the registers involved
	Log         []string // the failing path, with Options.Log
	Program     string
}

func newError(k Kind, pc int, reason string) *Error {
	return &Error{Kind: k, PC: pc, Reason: reason}
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Program != "" {
		fmt.Fprintf(&b, "program %s: ", e.Program)
	}
	fmt.Fprintf(&b, "instruction %d", e.PC)
	if e.Instruction != "" {
		fmt.Fprintf(&b, " (%s)", e.Instruction)
	}
	if e.Source != "" {
		fmt.Fprintf(&b, " at %s", e.Source)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	if len(e.Registers) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(e.Registers, "; "))
	}
	return b.String()
}

// Verify checks a program. It returns what it measured, and a *Error when
// the program is rejected.
func Verify(p *Program, opts *Options) (*Result, error) {
	if opts == nil {
		opts = &Options{}
	}
	start := time.Now()
	res := &Result{Instructions: len(p.Insns)}
	err := verify(p, opts, res)
	if err != nil && opts.Log && len(err.Log) == 0 {
		// The log is built on a second run, so that verifying programs
		// that pass costs nothing for it.
		err = verifyLogged(p, opts)
	}
	res.Duration = time.Since(start)
	if err != nil {
		finish(p, err)
		return res, err
	}
	return res, nil
}

func verifyLogged(p *Program, opts *Options) *Error {
	o := *opts
	o.Log = true
	var r Result
	return verify(p, &o, &r)
}

func verify(p *Program, opts *Options, res *Result) *Error {
	if err := isa.Validate(p.Insns); err != nil {
		if ie, ok := err.(*isa.Error); ok {
			kind := KindUnsupported
			if strings.Contains(ie.Reason, " target ") {
				kind = KindBadJump // outside the program, or into an lddw
			}
			return newError(kind, ie.Index, ie.Reason)
		}
		return newError(KindUnsupported, 0, err.Error())
	}
	v := newVerifier(p, opts, res)
	return v.run()
}

// finish fills in the parts of an error that come from the program.
func finish(p *Program, e *Error) {
	e.Program = p.Name
	if e.PC >= 0 && e.PC < len(p.Insns) {
		e.Instruction = insnText(p, e.PC)
		if p.Source != nil {
			e.Source = p.Source(e.PC)
		}
	}
}

// insnText disassembles the instruction at pc, naming the helper a call
// calls so messages read "call 1 (bpf_map_lookup_elem)".
func insnText(p *Program, pc int) string {
	ins := p.Insns[pc]
	text := ins.String()
	if ins.IsHelperCall() && p.Type != nil {
		if h, ok := p.Type.Helper(int32(ins.Imm)); ok && h.Name != "" {
			text += " (" + h.Name + ")"
		}
	}
	return text
}
