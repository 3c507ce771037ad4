package interp

import (
	"errors"
	"fmt"
	"maps"
	"unsafe"

	"github.com/ebpfhost/ebpfhost/isa"
)

// Internal operations. Compile maps each eBPF instruction to one of these so
// that the execution loop dispatches once per instruction on a dense byte
// (a jump table) with operand kind, width and signedness already resolved.
const (
	opInvalid uint8 = iota // second slot of lddw: never executed

	// 64-bit ALU, immediate and register forms.
	opAdd64Imm
	opAdd64Reg
	opSub64Imm
	opSub64Reg
	opMul64Imm
	opMul64Reg
	opDiv64Imm // never by zero: Compile rewrites that
	opDiv64Reg
	opSdiv64Imm
	opSdiv64Reg
	opMod64Imm
	opMod64Reg
	opSmod64Imm
	opSmod64Reg
	opOr64Imm
	opOr64Reg
	opAnd64Imm
	opAnd64Reg
	opXor64Imm
	opXor64Reg
	opLsh64Imm
	opLsh64Reg
	opRsh64Imm
	opRsh64Reg
	opArsh64Imm
	opArsh64Reg
	opMov64Imm
	opMov64Reg
	opNeg64
	opMovsx8To64
	opMovsx16To64
	opMovsx32To64

	// 32-bit ALU: results are zero-extended to 64 bits.
	opAdd32Imm
	opAdd32Reg
	opSub32Imm
	opSub32Reg
	opMul32Imm
	opMul32Reg
	opDiv32Imm
	opDiv32Reg
	opSdiv32Imm
	opSdiv32Reg
	opMod32Imm
	opMod32Reg
	opSmod32Imm
	opSmod32Reg
	opOr32Imm
	opOr32Reg
	opAnd32Imm
	opAnd32Reg
	opXor32Imm
	opXor32Reg
	opLsh32Imm
	opLsh32Reg
	opRsh32Imm
	opRsh32Reg
	opArsh32Imm
	opArsh32Reg
	opMov32Imm
	opMov32Reg
	opNeg32
	opMovsx8To32
	opMovsx16To32

	// Byte order (the host is little-endian: le is truncation, be a swap).
	opZext16
	opZext32
	opNop
	opBswap16
	opBswap32
	opBswap64

	// Jumps; off is relative to the next slot.
	opJa
	opJeqImm
	opJeqReg
	opJneImm
	opJneReg
	opJgtImm
	opJgtReg
	opJgeImm
	opJgeReg
	opJltImm
	opJltReg
	opJleImm
	opJleReg
	opJsgtImm
	opJsgtReg
	opJsgeImm
	opJsgeReg
	opJsltImm
	opJsltReg
	opJsleImm
	opJsleReg
	opJsetImm
	opJsetReg
	opJeq32Imm
	opJeq32Reg
	opJne32Imm
	opJne32Reg
	opJgt32Imm
	opJgt32Reg
	opJge32Imm
	opJge32Reg
	opJlt32Imm
	opJlt32Reg
	opJle32Imm
	opJle32Reg
	opJsgt32Imm
	opJsgt32Reg
	opJsge32Imm
	opJsge32Reg
	opJslt32Imm
	opJslt32Reg
	opJsle32Imm
	opJsle32Reg
	opJset32Imm
	opJset32Reg

	// Memory.
	opLdxb
	opLdxh
	opLdxw
	opLdxdw
	opLdxsb
	opLdxsh
	opLdxsw
	opStb
	opSth
	opStw
	opStdw
	opStxb
	opStxh
	opStxw
	opStxdw
	opAtomic // imm: atomic operation, plus atomic64 for 64-bit

	// Everything else.
	opLddw      // imm: the 64-bit value; skips the second slot
	opCall      // imm: index into Program.helpers
	opCallx     // dst: register holding the helper id
	opCallLocal // off: relative target
	opExit
	opFellOff // sentinel after the last instruction

	// Inserted by Compile for checked and budgeted programs.
	opCheck  // bounds-checks the memory access of the next slot
	opCharge // imm: instructions of the block that starts here

	numOps
)

type slot struct {
	op  uint8
	dst uint8
	src uint8
	_   uint8
	off int32  // memory offset, or jump displacement in bytes of code
	imm uint64 // immediate, sign-extended to 64 bits
}

// Helper is a function a program calls by id (the imm of a call
// instruction). It receives r1 to r5 and returns r0. Helpers that need the
// invocation (its virtual CPU, the checked-mode grants, callbacks) get it
// from vm.
type Helper func(vm *VM, r1, r2, r3, r4, r5 uint64) uint64

// Options choose how a program is compiled.
type Options struct {
	// Helpers are the functions the program may call, by id.
	Helpers map[int32]Helper
	// Checked bounds-checks every memory access against the regions the
	// runtime handed out (the stack, and what was granted with VM.Grant) and
	// stops the program with a *Fault at the first violation. Verified
	// programs run unchecked; checked mode is for tests and fuzzing, where a
	// violation by a verified program is a verifier bug.
	Checked bool
	// Budget, when non-zero, stops the program with ErrBudgetExceeded
	// before it executes more than that many instructions (0: no limit).
	// A block of straight-line code is charged when it is entered, so a run
	// that a helper stops midway may be charged for instructions it did not
	// execute; a run that completes is charged exactly.
	Budget uint64
}

// Program is a compiled program. It is immutable and may be run by many VMs
// at once.
type Program struct {
	insns      []isa.Instruction
	code       []slot
	origPC     []int32 // instruction index of each slot, for error messages
	helpers    []Helper
	helperByID map[int32]Helper
	budget     uint64
	checked    bool
	funcs      map[int]bool // code slots that lddw names as functions
}

// ErrBudgetExceeded is returned when a program runs longer than its budget.
var ErrBudgetExceeded = errors.New("instruction budget exceeded")

// Compile prepares validated instructions for execution. Map and function
// references in lddw must have been resolved by the runtime (only plain
// constants and function pointers remain); every helper called by id must be
// in opts.Helpers.
//
// The code layout differs from the instruction stream: the second slot of an
// lddw is dropped, checked programs get an opCheck before every memory
// access, and budgeted programs an opCharge at the start of every
// straight-line block. Jump offsets are recomputed for the new layout, so the
// execution loop itself stays free of mode tests.
func Compile(insns []isa.Instruction, opts Options) (*Program, error) {
	if err := isa.Validate(insns); err != nil {
		return nil, err
	}
	var blockLen []uint32
	if opts.Budget != 0 {
		blockLen = blockLengths(insns)
	}
	// at[pc] is the first slot of instruction pc (its charge slot, if any);
	// at[len] is the end sentinel.
	at := make([]int, len(insns)+1)
	n := 0
	for pc := 0; pc < len(insns); pc++ {
		at[pc] = n
		ins := insns[pc]
		if blockLen != nil && blockLen[pc] != 0 {
			n++
		}
		if opts.Checked && ins.Opcode.IsLoadStore() && ins.Opcode.Class() != isa.ClassLD {
			n++
		}
		n++
		if ins.IsLDDW() {
			pc++
			at[pc] = n // never a target; Validate made sure
		}
	}
	at[len(insns)] = n

	p := &Program{
		insns:      insns,
		code:       make([]slot, 0, n+1),
		origPC:     make([]int32, 0, n+1),
		helperByID: maps.Clone(opts.Helpers), // callx looks ids up while running
		budget:     opts.Budget,
		checked:    opts.Checked,
	}
	helperIndex := map[int32]int{}
	for pc := 0; pc < len(insns); pc++ {
		ins := insns[pc]
		if blockLen != nil && blockLen[pc] != 0 {
			p.emit(pc, slot{op: opCharge, imm: uint64(blockLen[pc])})
		}
		s, err := p.lower(pc, ins, helperIndex, opts.Helpers)
		if err != nil {
			return nil, &isa.Error{Index: pc, Instruction: ins, Reason: err.Error()}
		}
		if opts.Checked && isMemOp(s.op) {
			p.emit(pc, slot{op: opCheck})
		}
		// Retarget relative jumps and calls to the new layout.
		if t, ok := ins.Branch(pc); ok {
			s.off = int32(at[t]-(len(p.code)+1)) * slotSize
		}
		if ins.IsLDDW() && ins.Src == isa.PseudoFunc {
			entry := at[pc+1+int(int32(ins.Imm))]
			s.imm = FuncPointer(entry)
			if p.funcs == nil {
				p.funcs = map[int]bool{}
			}
			p.funcs[entry] = true
		}
		p.emit(pc, s)
		if ins.IsLDDW() {
			pc++
		}
	}
	// The second sentinel keeps the loop's next-slot pointer inside the
	// allocation while the first one reports the error.
	p.emit(len(insns), slot{op: opFellOff})
	p.emit(len(insns), slot{op: opFellOff})
	return p, nil
}

const slotSize = int32(unsafe.Sizeof(slot{}))

// index returns the code slot ip points at.
func (p *Program) index(ip unsafe.Pointer) int {
	return int((uintptr(ip) - uintptr(unsafe.Pointer(unsafe.SliceData(p.code)))) / uintptr(slotSize))
}

func (p *Program) emit(pc int, s slot) {
	p.code = append(p.code, s)
	p.origPC = append(p.origPC, int32(pc))
}

func isMemOp(op uint8) bool { return op >= opLdxb && op <= opAtomic }

// blockLengths splits a program into straight-line blocks (a block starts at
// the entry, at every jump or call target, at every function that lddw
// names, and after every jump, call and exit) and returns each block's
// length at its first instruction (0 elsewhere). A budgeted program charges
// a whole block when it enters it, so counting costs one dispatch per block
// rather than work in every instruction.
func blockLengths(insns []isa.Instruction) []uint32 {
	n := len(insns)
	leader := make([]bool, n+1)
	leader[0] = true
	for pc := 0; pc < n; pc++ {
		ins := insns[pc]
		if t, ok := ins.Branch(pc); ok {
			leader[t] = true
			leader[pc+1] = true
		}
		if ins.IsExit() {
			leader[pc+1] = true
		}
		if ins.IsLDDW() {
			if ins.Src == isa.PseudoFunc {
				leader[pc+1+int(int32(ins.Imm))] = true
			}
			pc++
		}
	}
	lens := make([]uint32, n)
	start := 0
	var count uint32
	for pc := 0; pc < n; pc++ {
		if leader[pc] && pc != start {
			lens[start], start, count = count, pc, 0
		}
		count++
		if insns[pc].IsLDDW() {
			pc++
		}
	}
	lens[start] = count
	return lens
}

// aluOps maps (operation, source) to the internal op of the 64-bit form; the
// 32-bit form is at the same distance from opAdd32Imm.
var aluOps = map[uint8]uint8{
	isa.ALUAdd: opAdd64Imm, isa.ALUSub: opSub64Imm, isa.ALUMul: opMul64Imm,
	isa.ALUDiv: opDiv64Imm, isa.ALUMod: opMod64Imm, isa.ALUOr: opOr64Imm,
	isa.ALUAnd: opAnd64Imm, isa.ALUXor: opXor64Imm, isa.ALULsh: opLsh64Imm,
	isa.ALURsh: opRsh64Imm, isa.ALUArsh: opArsh64Imm, isa.ALUMov: opMov64Imm,
}

var jumpOps = map[uint8]uint8{
	isa.JumpEQ: opJeqImm, isa.JumpNE: opJneImm, isa.JumpGT: opJgtImm, isa.JumpGE: opJgeImm,
	isa.JumpLT: opJltImm, isa.JumpLE: opJleImm, isa.JumpSGT: opJsgtImm, isa.JumpSGE: opJsgeImm,
	isa.JumpSLT: opJsltImm, isa.JumpSLE: opJsleImm, isa.JumpSET: opJsetImm,
}

var loadOps = map[uint8]uint8{isa.SizeB: opLdxb, isa.SizeH: opLdxh, isa.SizeW: opLdxw, isa.SizeDW: opLdxdw}
var loadSXOps = map[uint8]uint8{isa.SizeB: opLdxsb, isa.SizeH: opLdxsh, isa.SizeW: opLdxsw}
var storeImmOps = map[uint8]uint8{isa.SizeB: opStb, isa.SizeH: opSth, isa.SizeW: opStw, isa.SizeDW: opStdw}
var storeRegOps = map[uint8]uint8{isa.SizeB: opStxb, isa.SizeH: opStxh, isa.SizeW: opStxw, isa.SizeDW: opStxdw}

// lower translates one validated instruction.
func (p *Program) lower(pc int, ins isa.Instruction, helperIndex map[int32]int, helpers map[int32]Helper) (slot, error) {
	s := slot{dst: uint8(ins.Dst), src: uint8(ins.Src), off: int32(ins.Offset), imm: uint64(ins.Imm)}
	op := ins.Opcode
	switch op.Class() {
	case isa.ClassLD: // only lddw survives validation
		switch ins.Src {
		case isa.PseudoImm64:
			s.op = opLddw
		case isa.PseudoFunc:
			s.op = opLddw // Compile sets the imm for the final layout
		default:
			return s, fmt.Errorf("unresolved lddw reference (source %d): maps must be resolved by the loader before the program runs", ins.Src)
		}
		s.src = 0
	case isa.ClassLDX:
		if op.Mode() == isa.ModeMEMSX {
			s.op = loadSXOps[op.Size()]
		} else {
			s.op = loadOps[op.Size()]
		}
	case isa.ClassST:
		s.op = storeImmOps[op.Size()]
	case isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC {
			s.op = opAtomic
			if op.Size() == isa.SizeDW {
				s.imm |= atomic64
			}
		} else {
			s.op = storeRegOps[op.Size()]
		}
	case isa.ClassALU, isa.ClassALU64:
		s.op = lowerALU(ins)
	case isa.ClassJMP, isa.ClassJMP32:
		switch {
		case op == isa.OpJA:
			s.op = opJa
		case op == isa.OpJA32:
			s.op = opJa
		case op == isa.OpExit:
			s.op = opExit
		case op == isa.OpCallX:
			s.op = opCallx
		case ins.IsLocalCall():
			s.op, s.src = opCallLocal, 0
		case ins.IsHelperCall():
			id := int32(ins.Imm)
			h, ok := helpers[id]
			if !ok || h == nil {
				return s, fmt.Errorf("call to unknown helper %d", id)
			}
			idx, ok := helperIndex[id]
			if !ok {
				idx = len(p.helpers)
				helperIndex[id] = idx
				p.helpers = append(p.helpers, h)
			}
			s.op, s.imm = opCall, uint64(idx)
		case op == isa.OpCall && ins.Src == isa.CallKfunc:
			return s, fmt.Errorf("kernel function calls (kfuncs) are not supported")
		default:
			s.op = jumpOps[op.Op()]
			if op.Source() == isa.SrcX {
				s.op++
			}
			if op.Class() == isa.ClassJMP32 {
				s.op += opJeq32Imm - opJeqImm
			}
		}
	}
	return s, nil
}

func lowerALU(ins isa.Instruction) uint8 {
	op := ins.Opcode
	is32 := op.Class() == isa.ClassALU
	reg := op.Source() == isa.SrcX
	switch op.Op() {
	case isa.ALUNeg:
		if is32 {
			return opNeg32
		}
		return opNeg64
	case isa.ALUEnd:
		switch {
		case !is32 || reg: // bswap, or be on a little-endian host
			return map[int64]uint8{16: opBswap16, 32: opBswap32, 64: opBswap64}[ins.Imm]
		default: // le on a little-endian host
			return map[int64]uint8{16: opZext16, 32: opZext32, 64: opNop}[ins.Imm]
		}
	}
	if bits, ok := ins.IsMovSX(); ok {
		if is32 {
			return map[int]uint8{8: opMovsx8To32, 16: opMovsx16To32}[bits]
		}
		return map[int]uint8{8: opMovsx8To64, 16: opMovsx16To64, 32: opMovsx32To64}[bits]
	}
	base := aluOps[op.Op()]
	if ins.IsSignedDivMod() {
		base += 2 // opSdiv64Imm follows opDiv64Imm's pair, opSmod64Imm opMod64Imm's
	}
	if !reg && ins.Imm == 0 {
		// Division by a zero immediate has a defined result; compile it away
		// so the division ops never test for zero.
		switch op.Op() {
		case isa.ALUDiv:
			if is32 {
				return opMov32Imm
			}
			return opMov64Imm
		case isa.ALUMod:
			if is32 {
				return opZext32
			}
			return opNop
		}
	}
	if is32 {
		base += opAdd32Imm - opAdd64Imm
	}
	if reg {
		base++
	}
	return base
}

// atomic64 marks the imm of a 64-bit opAtomic.
const atomic64 = 1 << 8

// Function pointers produced by lddw with a function source carry this tag
// so that helpers taking callbacks can tell them from other values.
const funcTag = 0xebf0_0000_0000_0000

// FuncPointer returns the value a program sees for the function starting at
// code slot pc.
func FuncPointer(pc int) uint64 { return funcTag | uint64(uint32(pc)) }
