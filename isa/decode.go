package isa

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf/asm"
)

// MaxInstructions is the largest program, in slots, that decoding accepts.
// Jump offsets are 16 bits but ja32 and calls reach further; the limit keeps
// every index inside an int32 and every program's memory bounded.
const MaxInstructions = 1 << 20

// Decode turns little-endian bytecode into instructions and validates them
// (see Validate).
func Decode(code []byte) ([]Instruction, error) {
	if len(code) == 0 {
		return nil, errors.New("empty program: no instructions")
	}
	if len(code)%InstructionSize != 0 {
		return nil, fmt.Errorf("bytecode is %d bytes, not a multiple of %d: instruction %d is truncated",
			len(code), InstructionSize, len(code)/InstructionSize)
	}
	n := len(code) / InstructionSize
	if n > MaxInstructions {
		return nil, fmt.Errorf("program has %d instructions; at most %d are supported", n, MaxInstructions)
	}
	insns := make([]Instruction, n)
	for i := range insns {
		b := code[i*InstructionSize:]
		insns[i] = Instruction{
			Opcode: Opcode(b[0]),
			Dst:    Register(b[1] & 0xf),
			Src:    Register(b[1] >> 4),
			Offset: int16(binary.LittleEndian.Uint16(b[2:])),
			Imm:    int64(int32(binary.LittleEndian.Uint32(b[4:]))),
		}
	}
	// Join the two halves of every lddw; an lddw at the very end is left
	// alone for Validate to report.
	for i := 0; i < n-1; i++ {
		if insns[i].IsLDDW() {
			insns[i].Imm = int64(uint64(uint32(insns[i].Imm)) | uint64(insns[i+1].Imm)<<32)
			i++
		}
	}
	normalizeCallX(insns)
	if err := Validate(insns); err != nil {
		return nil, err
	}
	return insns, nil
}

// normalizeCallX moves the target register of callx instructions encoded the
// way LLVM before version 19 did (register number in the immediate) into Dst,
// where GCC, LLVM 19+ and the conformance suite put it.
func normalizeCallX(insns []Instruction) {
	for i := 0; i < len(insns); i++ {
		ins := &insns[i]
		if ins.IsLDDW() {
			i++ // the second half is data
			continue
		}
		if ins.Opcode == OpCallX && ins.Dst == 0 && ins.Imm > 0 && ins.Imm <= int64(R10) {
			ins.Dst, ins.Imm = Register(ins.Imm), 0
		}
	}
}

// FromCilium converts instructions built or loaded with cilium/ebpf into the
// decoded form and validates them. cilium/ebpf folds signed division, signed
// modulo and sign-extending moves into its opcode type, so the conversion goes
// through the marshalled bytes rather than the struct fields. Marshalling also
// resolves bpf-to-bpf calls and function pointers that cilium/ebpf keeps as
// symbol references. insns is not modified.
func FromCilium(insns asm.Instructions) ([]Instruction, error) {
	var buf bytes.Buffer
	if err := slices.Clone(insns).Marshal(&buf, binary.LittleEndian); err != nil {
		return nil, err
	}
	// cilium/ebpf (v0.22) keeps the operation of an atomic instruction in
	// its opcode but marshals the immediate from Constant, which its
	// constructors (asm.FetchAdd.Mem, ...) leave at 0: put the operation back.
	code := buf.Bytes()
	off := 0
	for _, ins := range insns {
		if op := ins.OpCode.AtomicOp(); op != asm.InvalidAtomic && off+InstructionSize <= len(code) {
			imm := code[off+4 : off+8]
			binary.LittleEndian.PutUint32(imm, binary.LittleEndian.Uint32(imm)|uint32(op>>8))
		}
		off += int(ins.Size())
	}
	return Decode(code)
}

// Validate checks that every instruction is well formed: a known opcode, no
// bits set in fields the opcode does not use, registers in range, immediates
// that fit in 32 bits (except lddw's), no write to the read-only frame pointer
// r10, a complete lddw, and jump, call and lddw function targets inside the
// program and not in the middle of an lddw.
//
// It does not prove anything about what the program does at run time; that is
// the verifier's job.
func Validate(insns []Instruction) error {
	if len(insns) == 0 {
		return errors.New("empty program: no instructions")
	}
	if len(insns) > MaxInstructions {
		return fmt.Errorf("program has %d instructions; at most %d are supported", len(insns), MaxInstructions)
	}
	// second[i] is true when slot i is the second half of an lddw.
	second := make([]bool, len(insns))
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		if err := validateOne(ins); err != "" {
			return &Error{Index: i, Instruction: ins, Reason: err}
		}
		if ins.IsLDDW() {
			if i+1 >= len(insns) {
				return &Error{Index: i, Instruction: ins, Reason: "lddw is missing its second half (it is the last slot of the program)"}
			}
			next := insns[i+1]
			if next.Opcode != 0 || next.Dst != 0 || next.Src != 0 || next.Offset != 0 {
				return &Error{Index: i + 1, Instruction: next, Reason: "second half of lddw must have opcode, registers and offset all zero"}
			}
			second[i+1] = true
			i++
		}
	}
	for i, ins := range insns {
		if second[i] {
			continue
		}
		target, ok := ins.Branch(i)
		what := "jump"
		switch {
		case ins.IsLocalCall():
			what = "call"
		case ins.IsLDDW() && ins.Src == PseudoFunc:
			// Not a branch, but its immediate names an instruction all the same.
			target, ok, what = i+1+int(int32(ins.Imm)), true, "function"
		}
		if !ok {
			continue
		}
		if target < 0 || target >= len(insns) {
			return &Error{Index: i, Instruction: ins,
				Reason: fmt.Sprintf("%s target %d is outside the program (instructions 0 to %d)", what, target, len(insns)-1)}
		}
		if second[target] {
			return &Error{Index: i, Instruction: ins,
				Reason: fmt.Sprintf("%s target %d is the second half of the lddw at %d", what, target, target-1)}
		}
	}
	return nil
}

// validateOne returns why ins is malformed, or "" when it is well formed.
func validateOne(ins Instruction) string {
	if ins.Dst > R10 {
		return fmt.Sprintf("invalid destination register r%d (registers are r0 to r10)", ins.Dst)
	}
	if ins.Src > R10 && ins.Opcode != OpLDDW && ins.Opcode != OpCall {
		return fmt.Sprintf("invalid source register r%d (registers are r0 to r10)", ins.Src)
	}
	if !ins.IsLDDW() && ins.Imm != int64(int32(ins.Imm)) {
		return fmt.Sprintf("immediate %d does not fit in 32 bits", ins.Imm)
	}
	op := ins.Opcode
	switch op.Class() {
	case ClassLD:
		return validateLD(ins)
	case ClassLDX:
		switch {
		case op.Mode() == ModeMEM:
		case op.Mode() == ModeMEMSX && op.Size() != SizeDW:
		default:
			return unknownOpcode(op)
		}
		if ins.Imm != 0 {
			return "unused immediate field must be zero"
		}
		return writesFP(ins.Dst)
	case ClassST:
		if op.Mode() != ModeMEM {
			return unknownOpcode(op)
		}
		if ins.Src != 0 {
			return "unused source register field must be zero"
		}
	case ClassSTX:
		switch op.Mode() {
		case ModeMEM:
			if ins.Imm != 0 {
				return "unused immediate field must be zero"
			}
		case ModeATOMIC:
			if op.Size() != SizeW && op.Size() != SizeDW {
				return "atomic operations are 32 or 64 bits wide"
			}
			switch ins.Imm {
			case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor:
			case AtomicAdd | AtomicFetch, AtomicOr | AtomicFetch, AtomicAnd | AtomicFetch, AtomicXor | AtomicFetch, AtomicXchg:
				return writesFP(ins.Src)
			case AtomicCmpXchg:
			default:
				return fmt.Sprintf("unknown atomic operation 0x%x", ins.Imm)
			}
		default:
			return unknownOpcode(op)
		}
	case ClassALU, ClassALU64:
		return validateALU(ins)
	case ClassJMP, ClassJMP32:
		return validateJump(ins)
	}
	return ""
}

func validateLD(ins Instruction) string {
	switch ins.Opcode {
	case OpLDDW:
	case ClassLD | ModeABS | SizeW, ClassLD | ModeABS | SizeH, ClassLD | ModeABS | SizeB,
		ClassLD | ModeIND | SizeW, ClassLD | ModeIND | SizeH, ClassLD | ModeIND | SizeB:
		return fmt.Sprintf("legacy packet access instruction (opcode 0x%02x, BPF_ABS/BPF_IND) is not supported; read packet data through the context's data pointers", uint8(ins.Opcode))
	default:
		return unknownOpcode(ins.Opcode)
	}
	if ins.Offset != 0 {
		return "unused offset field must be zero"
	}
	if ins.Src > maxPseudoLDDWSrc {
		return fmt.Sprintf("unknown lddw source %d (0 constant, 1 map fd, 2 map value, 3 BTF id, 4 function, 5 map index, 6 map index value)", ins.Src)
	}
	switch ins.Src {
	case PseudoMapFD, PseudoMapIdx, PseudoFunc, PseudoBTFID:
		if uint64(ins.Imm)>>32 != 0 {
			return "second half of this lddw must have a zero immediate"
		}
	}
	return writesFP(ins.Dst)
}

func validateALU(ins Instruction) string {
	op := ins.Opcode
	alu64 := op.Class() == ClassALU64
	switch op.Op() {
	case ALUNeg:
		if op.Source() != SrcK {
			return unknownOpcode(op)
		}
		if ins.Src != 0 || ins.Imm != 0 || ins.Offset != 0 {
			return "neg takes no operand: source register, offset and immediate must be zero"
		}
		return writesFP(ins.Dst)
	case ALUEnd:
		if alu64 && op.Source() != SrcK {
			return unknownOpcode(op)
		}
		if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
			return fmt.Sprintf("byte swap width must be 16, 32 or 64, not %d", ins.Imm)
		}
		if ins.Src != 0 || ins.Offset != 0 {
			return "unused source register and offset fields must be zero"
		}
		return writesFP(ins.Dst)
	case ALUDiv, ALUMod:
		if ins.Offset != 0 && ins.Offset != 1 {
			return fmt.Sprintf("offset of div/mod must be 0 (unsigned) or 1 (signed), not %d", ins.Offset)
		}
	case ALUMov:
		if ins.Offset != 0 {
			switch {
			case op.Source() != SrcX:
				return "offset of mov with an immediate must be zero"
			case ins.Offset == 8 || ins.Offset == 16 || (alu64 && ins.Offset == 32):
			default:
				return fmt.Sprintf("sign-extending move from %d bits is not defined", ins.Offset)
			}
		}
	case ALUAdd, ALUSub, ALUMul, ALUOr, ALUAnd, ALULsh, ALURsh, ALUXor, ALUArsh:
		if ins.Offset != 0 {
			return "unused offset field must be zero"
		}
	default:
		return unknownOpcode(op)
	}
	if op.Source() == SrcK && ins.Src != 0 {
		return "unused source register field must be zero (the operand is the immediate)"
	}
	if op.Source() == SrcX && ins.Imm != 0 {
		return "unused immediate field must be zero (the operand is a register)"
	}
	return writesFP(ins.Dst)
}

func validateJump(ins Instruction) string {
	op := ins.Opcode
	jmp32 := op.Class() == ClassJMP32
	switch op.Op() {
	case JumpA:
		if op.Source() != SrcK {
			return unknownOpcode(op)
		}
		if ins.Dst != 0 || ins.Src != 0 {
			return "unused register fields must be zero"
		}
		if jmp32 {
			if ins.Offset != 0 {
				return "ja32 takes its target from the immediate: offset must be zero"
			}
		} else if ins.Imm != 0 {
			return "ja takes its target from the offset: immediate must be zero"
		}
		return ""
	case JumpCall:
		if jmp32 {
			return unknownOpcode(op)
		}
		if ins.Offset != 0 {
			return "unused offset field must be zero"
		}
		if op.Source() == SrcX {
			if ins.Src != 0 || ins.Imm != 0 {
				return "callx takes its target from the destination register: source register and immediate must be zero"
			}
			return ""
		}
		if ins.Dst != 0 {
			return "unused destination register field must be zero"
		}
		if ins.Src > CallKfunc {
			return fmt.Sprintf("unknown call kind %d (0 helper, 1 local function, 2 kernel function)", ins.Src)
		}
		return ""
	case JumpExit:
		if jmp32 || op.Source() != SrcK {
			return unknownOpcode(op)
		}
		if ins.Dst != 0 || ins.Src != 0 || ins.Offset != 0 || ins.Imm != 0 {
			return "exit takes no operands: all fields must be zero"
		}
		return ""
	case JumpEQ, JumpGT, JumpGE, JumpSET, JumpNE, JumpSGT, JumpSGE, JumpLT, JumpLE, JumpSLT, JumpSLE:
		if op.Source() == SrcK && ins.Src != 0 {
			return "unused source register field must be zero (the operand is the immediate)"
		}
		if op.Source() == SrcX && ins.Imm != 0 {
			return "unused immediate field must be zero (the operand is a register)"
		}
		return ""
	}
	return unknownOpcode(op)
}

func unknownOpcode(op Opcode) string { return fmt.Sprintf("unknown opcode 0x%02x", uint8(op)) }

func writesFP(r Register) string {
	if r == R10 {
		return "r10 is the read-only frame pointer and cannot be written"
	}
	return ""
}
