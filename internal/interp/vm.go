// Package interp runs eBPF programs: a compile step that lowers validated
// instructions into a dense internal form, and a register-machine loop that
// executes it on a VM (one virtual CPU's execution state).
//
// Programs address memory with real addresses. Everything they may touch
// (stack, context, packet, map values) lives outside the Go heap (package
// mem), so addresses stay valid and stable for as long as the runtime keeps
// the memory alive.
package interp

import (
	"errors"
	"fmt"

	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Stack geometry: every frame of a local call gets its own 512 bytes, and
// calls nest at most MaxFrames deep (the main program is frame 0).
const (
	StackSize = 512
	MaxFrames = 8
)

// Region is memory a program may access in checked mode.
type Region struct {
	Addr     uint64
	Size     uint64
	Writable bool
}

// pending actions a helper requested; the loop looks at them after each
// helper call.
const (
	pendingNone = iota
	pendingUnwind
	pendingFail
	pendingTailCall
)

// MaxTailCalls is how many tail calls one run may make, as in Linux.
const MaxTailCalls = 33

// VM is the execution state of one virtual CPU: its stack, call frames and
// the per-invocation bookkeeping. A VM runs one program at a time; use one VM
// per goroutine.
type VM struct {
	stack    *mem.Block
	stackTop uint64 // r10 of frame 0

	depth  int              // current call depth, 0 in the main program
	frames [MaxFrames]frame // saved state of the callers
	grants []Region         // checked mode: memory handed out this run
	prog   *Program         // the program running, for callbacks
	steps  uint64           // instructions charged against the budget

	pending     int
	unwindValue uint64
	failure     error
	tailTarget  *Program
	tailCtx     uint64
	tailCalls   int

	// CPU is the virtual CPU number this VM stands for; helpers such as
	// bpf_get_smp_processor_id report it.
	CPU int
	// Env is free for the runtime: helpers find their per-invocation state
	// (the event being handled, the process that caused it) here.
	Env any
}

type frame struct {
	prog   *Program // program to return to (a tail call may have replaced it)
	ret    int32    // slot to return to
	callee [4]uint64
}

// New allocates a VM with its stack.
func New() (*VM, error) {
	b, err := mem.Alloc(StackSize * MaxFrames)
	if err != nil {
		return nil, err
	}
	return &VM{stack: b, stackTop: b.Addr() + uint64(b.Len())}, nil
}

// Close releases the VM's stack.
func (vm *VM) Close() error { return vm.stack.Free() }

// Grant lets the program access [addr, addr+size) in checked mode until the
// current (or next) Run returns. The runtime grants the context and packet
// before running; helpers grant what they return (a map value, a ring
// buffer reservation). Unchecked programs ignore grants.
func (vm *VM) Grant(addr, size uint64, writable bool) {
	vm.grants = append(vm.grants, Region{Addr: addr, Size: size, Writable: writable})
}

// Unwind, called from a helper, stops the program after the helper returns;
// Run then returns r0 as the program's result. The first request to stop
// wins.
func (vm *VM) Unwind(r0 uint64) {
	if vm.pending == pendingNone {
		vm.pending, vm.unwindValue = pendingUnwind, r0
	}
}

// Fail, called from a helper, stops the program after the helper returns;
// Run then returns err. The first request to stop wins.
func (vm *VM) Fail(err error) {
	if err == nil {
		err = errors.New("interp: a helper failed without saying why")
	}
	if vm.pending == pendingNone {
		vm.pending, vm.failure = pendingFail, err
	}
}

// Fault is a run-time error of a program: an access outside the granted
// memory (or a misaligned atomic access) in checked mode, too deep a call
// chain, a call to an unknown helper through callx, or running off the end
// of the program.
type Fault struct {
	PC          int
	Instruction isa.Instruction
	Reason      string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("instruction %d (%s): %s", f.PC, f.Instruction, f.Reason)
}

// fault reports a run-time error at code slot slot.
func (vm *VM) fault(slot int, format string, args ...any) error {
	p := vm.prog
	pc := int(p.origPC[slot])
	var ins isa.Instruction
	if pc < len(p.insns) {
		ins = p.insns[pc]
	}
	return &Fault{PC: pc, Instruction: ins, Reason: fmt.Sprintf(format, args...)}
}

// Run executes p with args in r1 to r5 and returns r0. Grants made before
// the call apply to this run and are dropped when it returns.
func (vm *VM) Run(p *Program, args ...uint64) (uint64, error) {
	if len(args) > 5 {
		return 0, errors.New("interp: at most 5 arguments (r1 to r5)")
	}
	var a [5]uint64
	copy(a[:], args)
	vm.prog, vm.depth, vm.steps, vm.pending, vm.tailCalls = p, 0, 0, pendingNone, 0
	r0, err := vm.exec(p, 0, &a)
	if errors.Is(err, errUnwound) { // a helper may wrap a callback's unwind
		r0, err = vm.unwindValue, nil
	}
	vm.grants = vm.grants[:0]
	vm.prog, vm.tailTarget = nil, nil
	vm.failure = nil
	return r0, err
}

// TailCall, called from a helper, makes the running program continue in p
// once the helper returns, with r1 = ctx, as bpf_tail_call does: p replaces
// the current function and reuses its stack frame, and its exit returns to
// wherever the current function would have. It reports false, and the
// program goes on after the helper call, when the run has already made
// MaxTailCalls tail calls or another stop is pending.
func (vm *VM) TailCall(p *Program, ctx uint64) bool {
	if vm.tailCalls >= MaxTailCalls || vm.pending != pendingNone || p == nil {
		return false
	}
	vm.tailCalls++
	vm.pending, vm.tailTarget, vm.tailCtx = pendingTailCall, p, ctx
	return true
}

// Checked reports whether the running program was compiled in checked mode,
// in which helpers must validate the memory they are given (Accessible) and
// declare the memory they hand out (Grant).
func (vm *VM) Checked() bool { return vm.prog != nil && vm.prog.checked }

// Accessible reports whether the running program may access size bytes at
// addr: always in fast mode, and in checked mode when the range lies in the
// program's stack frames or in memory granted to this run.
func (vm *VM) Accessible(addr, size uint64, write bool) bool {
	if !vm.Checked() {
		return true
	}
	return vm.checkAccess(addr, size, write)
}

// Revoke withdraws the grant that starts at addr (a ring buffer reservation
// once it is submitted or discarded).
func (vm *VM) Revoke(addr uint64) {
	for i := range vm.grants {
		if vm.grants[i].Addr == addr {
			vm.grants = append(vm.grants[:i], vm.grants[i+1:]...)
			return
		}
	}
}

// CallFunction, called from a helper while a program runs, runs the
// program's function fn (a value the program obtained with lddw of a
// function, see FuncPointer) with args in r1 to r5 on a new stack frame and
// returns its r0. Helpers that take callbacks (bpf_loop,
// bpf_for_each_map_elem) use it.
//
// When the callback faults, exceeds the budget or unwinds, the whole
// program stops as soon as the helper returns, whatever the helper does with
// the error; the helper should return promptly.
func (vm *VM) CallFunction(fn uint64, args ...uint64) (uint64, error) {
	p := vm.prog
	if p == nil {
		return 0, errors.New("interp: CallFunction outside of a running program")
	}
	pc := int(uint32(fn))
	if fn&^0xffff_ffff != funcTag || !p.funcs[pc] {
		return 0, fmt.Errorf("interp: 0x%x is not a function of this program", fn)
	}
	if len(args) > 5 {
		return 0, errors.New("interp: at most 5 arguments (r1 to r5)")
	}
	if vm.depth+1 >= MaxFrames {
		return 0, fmt.Errorf("interp: callback would exceed %d nested frames", MaxFrames)
	}
	var a [5]uint64
	copy(a[:], args)
	// A callback that fails can leave vm.depth at one of its own nested
	// frames; restore the caller's depth whatever happened.
	saved := vm.depth
	vm.depth++
	r0, err := vm.exec(p, pc, &a)
	vm.depth = saved
	if err != nil && vm.pending == pendingNone {
		vm.pending, vm.failure = pendingFail, err
	}
	return r0, err
}

// checkAccess reports whether a checked program may access size bytes at
// addr: inside the stack frames from the current one up, or inside a grant.
func (vm *VM) checkAccess(addr, size uint64, write bool) bool {
	end := addr + size
	if end < addr {
		return false
	}
	if low := vm.stackTop - uint64(vm.depth+1)*StackSize; addr >= low && end <= vm.stackTop {
		return true
	}
	for _, g := range vm.grants {
		if addr >= g.Addr && end <= g.Addr+g.Size && (g.Writable || !write) {
			return true
		}
	}
	return false
}
