package isa

import (
	"encoding/binary"
	"fmt"
)

// InstructionSize is the size in bytes of one instruction slot.
const InstructionSize = 8

// Instruction is one decoded instruction slot: the form the verifier, the
// interpreter and the JIT all consume.
//
// A program is a []Instruction with exactly one element per 8-byte slot of its
// bytecode, so that instruction indices, jump offsets and the line info of the
// object file all agree. The 64-bit immediate load (lddw) takes two slots: the
// first carries the whole 64-bit value in Imm, the second is kept as decoded
// (opcode 0) and is never executed; jumping to it is invalid.
type Instruction struct {
	Opcode Opcode
	Dst    Register
	Src    Register
	Offset int16
	// Imm is the 32-bit immediate sign-extended to 64 bits; for lddw it is the
	// full 64-bit value (this slot's immediate in the low half, the next
	// slot's in the high half).
	Imm int64
}

// IsLDDW reports whether ins is the first slot of a 64-bit immediate load.
func (ins Instruction) IsLDDW() bool { return ins.Opcode == OpLDDW }

// Width returns the number of slots ins occupies (2 for lddw, else 1).
func (ins Instruction) Width() int {
	if ins.IsLDDW() {
		return 2
	}
	return 1
}

// Is64 reports whether an ALU or jump instruction works on 64-bit values.
func (ins Instruction) Is64() bool {
	c := ins.Opcode.Class()
	return c == ClassALU64 || c == ClassJMP
}

// IsSignedDivMod reports whether ins is sdiv or smod (div/mod with offset 1).
func (ins Instruction) IsSignedDivMod() bool {
	op := ins.Opcode.Op()
	return ins.Opcode.IsALU() && (op == ALUDiv || op == ALUMod) && ins.Offset == 1
}

// IsMovSX reports whether ins is a sign-extending register move, and the
// width in bits of the source it extends from.
func (ins Instruction) IsMovSX() (bits int, ok bool) {
	if ins.Opcode.IsALU() && ins.Opcode.Op() == ALUMov && ins.Opcode.Source() == SrcX && ins.Offset != 0 {
		return int(ins.Offset), true
	}
	return 0, false
}

// IsExit reports whether ins is the exit instruction.
func (ins Instruction) IsExit() bool { return ins.Opcode == OpExit }

// IsHelperCall reports whether ins calls a helper by immediate id.
func (ins Instruction) IsHelperCall() bool { return ins.Opcode == OpCall && ins.Src == CallHelper }

// IsLocalCall reports whether ins calls a function of the same program.
func (ins Instruction) IsLocalCall() bool { return ins.Opcode == OpCall && ins.Src == CallLocal }

// IsConditionalJump reports whether ins is a conditional branch.
func (ins Instruction) IsConditionalJump() bool {
	if !ins.Opcode.IsJump() {
		return false
	}
	switch ins.Opcode.Op() {
	case JumpA, JumpCall, JumpExit:
		return false
	}
	return true
}

// Branch returns the index of the instruction that ins at index pc transfers
// control to when it jumps (for ja, ja32, conditional jumps and local calls).
// ok is false for every other instruction.
func (ins Instruction) Branch(pc int) (target int, ok bool) {
	switch {
	case ins.Opcode == OpJA:
		return pc + 1 + int(ins.Offset), true
	case ins.Opcode == OpJA32:
		return pc + 1 + int(int32(ins.Imm)), true
	case ins.IsLocalCall():
		return pc + 1 + int(int32(ins.Imm)), true
	case ins.IsConditionalJump():
		return pc + 1 + int(ins.Offset), true
	}
	return 0, false
}

// AccessSize returns the width in bytes of the memory access of a load,
// store or atomic instruction.
func (ins Instruction) AccessSize() int { return SizeBytes(ins.Opcode.Size()) }

// put encodes ins into one 8-byte slot; for lddw imm is the slot's 32 bits.
func put(b []byte, op Opcode, dst, src Register, off int16, imm int32) {
	b[0] = byte(op)
	b[1] = byte(dst&0xf) | byte(src&0xf)<<4
	binary.LittleEndian.PutUint16(b[2:], uint16(off))
	binary.LittleEndian.PutUint32(b[4:], uint32(imm))
}

// Encode returns the little-endian bytecode of insns. The second slot of an
// lddw is produced from the first, so its element in insns is ignored.
func Encode(insns []Instruction) []byte {
	out := make([]byte, len(insns)*InstructionSize)
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		b := out[i*InstructionSize:]
		if ins.IsLDDW() {
			put(b, ins.Opcode, ins.Dst, ins.Src, ins.Offset, int32(uint32(ins.Imm)))
			if i+1 < len(insns) {
				put(b[InstructionSize:], 0, 0, 0, 0, int32(uint32(uint64(ins.Imm)>>32)))
				i++
			}
			continue
		}
		put(b, ins.Opcode, ins.Dst, ins.Src, ins.Offset, int32(ins.Imm))
	}
	return out
}

// Error is a problem with one instruction of a program.
type Error struct {
	Index       int         // slot index of the offending instruction
	Instruction Instruction // the instruction as decoded
	Reason      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("instruction %d (%s): %s", e.Index, e.Instruction, e.Reason)
}
