package isa

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// raw encodes one instruction slot field by field, so that tests can build
// bytecode Encode would never produce.
func raw(op byte, dst, src byte, off int16, imm int32) []byte {
	b := make([]byte, InstructionSize)
	b[0] = op
	b[1] = dst&0xf | src<<4
	binary.LittleEndian.PutUint16(b[2:], uint16(off))
	binary.LittleEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// code concatenates slots into bytecode.
func code(slots ...[]byte) []byte { return bytes.Join(slots, nil) }

var (
	rawExit = raw(OpExit, 0, 0, 0, 0)
	rawMov0 = raw(ClassALU64|ALUMov|SrcK, 0, 0, 0, 0) // mov %r0, 0
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		code   []byte
		index  int    // slot the *Error names
		reason string // distinctive part of Error.Reason
	}{
		// Unknown opcodes.
		{"opcode 0x00", code(raw(0x00, 0, 0, 0, 0), rawExit), 0, "unknown opcode 0x00"},
		{"jmp32 callx 0x8e", code(rawMov0, raw(0x8e, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0x8e"},
		{"alu32 op 0xf0", code(rawMov0, raw(0xf4, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0xf4"},
		{"alu64 op 0xe0", code(rawMov0, raw(0xe7, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0xe7"},
		{"ja32 register 0x0e", code(rawMov0, raw(OpJA32|SrcX, 0, 0, 0, 0), rawExit), 1, "unknown opcode 0x0e"},
		{"ja register 0x0d", code(rawMov0, raw(OpJA|SrcX, 0, 0, 0, 0), rawExit), 1, "unknown opcode 0x0d"},
		{"neg register 0x8c", code(rawMov0, raw(ClassALU|ALUNeg|SrcX, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0x8c"},
		{"neg64 register 0x8f", code(rawMov0, raw(ClassALU64|ALUNeg|SrcX, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0x8f"},
		{"bswap register 0xdf", code(rawMov0, raw(0xdf, 1, 0, 0, 16), rawExit), 1, "unknown opcode 0xdf"},
		{"jmp32 call 0x86", code(rawMov0, raw(0x86, 0, 0, 0, 1), rawExit), 1, "unknown opcode 0x86"},
		{"jmp32 exit 0x96", code(rawMov0, raw(0x96, 0, 0, 0, 0), rawExit), 1, "unknown opcode 0x96"},
		{"exit register 0x9d", code(rawMov0, raw(0x9d, 0, 0, 0, 0), rawExit), 1, "unknown opcode 0x9d"},
		{"jmp op 0xe0", code(rawMov0, raw(0xe5, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0xe5"},
		{"jmp32 op 0xf0", code(rawMov0, raw(0xfe, 1, 2, 0, 0), rawExit), 1, "unknown opcode 0xfe"},
		{"ld word imm 0x00 size w", code(rawMov0, raw(ClassLD|ModeIMM|SizeW, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0x00"},
		{"ld mem 0x78", code(rawMov0, raw(ClassLD|ModeMEM|SizeDW, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0x78"},
		{"ldxs dw 0x99", code(rawMov0, raw(ClassLDX|ModeMEMSX|SizeDW, 1, 2, 0, 0), rawExit), 1, "unknown opcode 0x99"},
		{"ldx atomic 0xd9", code(rawMov0, raw(ClassLDX|ModeATOMIC|SizeDW, 1, 2, 0, 0), rawExit), 1, "unknown opcode 0xd9"},
		{"st atomic 0xc2", code(rawMov0, raw(ClassST|ModeATOMIC|SizeW, 1, 0, 0, 0), rawExit), 1, "unknown opcode 0xc2"},
		{"stx memsx 0x9b", code(rawMov0, raw(ClassSTX|ModeMEMSX|SizeDW, 1, 2, 0, 0), rawExit), 1, "unknown opcode 0x9b"},

		// Fields the opcode does not use.
		{"add imm with src", code(rawMov0, raw(ClassALU64|ALUAdd|SrcK, 1, 2, 0, 1), rawExit), 1, "unused source register field must be zero (the operand is the immediate)"},
		{"add reg with imm", code(rawMov0, raw(ClassALU64|ALUAdd|SrcX, 1, 2, 0, 1), rawExit), 1, "unused immediate field must be zero (the operand is a register)"},
		{"add32 reg with imm", code(rawMov0, raw(ClassALU|ALUAdd|SrcX, 1, 2, 0, 1), rawExit), 1, "unused immediate field must be zero"},
		{"add with offset", code(rawMov0, raw(ClassALU64|ALUAdd|SrcK, 1, 0, 1, 1), rawExit), 1, "unused offset field must be zero"},
		{"arsh32 with offset", code(rawMov0, raw(ClassALU|ALUArsh|SrcX, 1, 2, -1, 0), rawExit), 1, "unused offset field must be zero"},
		{"mov imm with offset", code(rawMov0, raw(ClassALU64|ALUMov|SrcK, 1, 0, 8, 1), rawExit), 1, "offset of mov with an immediate must be zero"},
		{"neg with imm", code(rawMov0, raw(ClassALU64|ALUNeg, 1, 0, 0, 1), rawExit), 1, "neg takes no operand"},
		{"neg with src", code(rawMov0, raw(ClassALU|ALUNeg, 1, 2, 0, 0), rawExit), 1, "neg takes no operand"},
		{"le with src", code(rawMov0, raw(ClassALU|ALUEnd|SrcK, 1, 2, 0, 16), rawExit), 1, "unused source register and offset fields must be zero"},
		{"bswap with offset", code(rawMov0, raw(ClassALU64|ALUEnd|SrcK, 1, 0, 1, 16), rawExit), 1, "unused source register and offset fields must be zero"},
		{"exit with imm", code(rawMov0, raw(OpExit, 0, 0, 0, 1)), 1, "exit takes no operands"},
		{"exit with dst", code(rawMov0, raw(OpExit, 1, 0, 0, 0)), 1, "exit takes no operands"},
		{"exit with offset", code(rawMov0, raw(OpExit, 0, 0, 1, 0)), 1, "exit takes no operands"},
		{"ja with imm", code(rawMov0, raw(OpJA, 0, 0, 0, 1), rawExit), 1, "ja takes its target from the offset: immediate must be zero"},
		{"ja with dst", code(rawMov0, raw(OpJA, 1, 0, 0, 0), rawExit), 1, "unused register fields must be zero"},
		{"ja32 with offset", code(rawMov0, raw(OpJA32, 0, 0, 1, 0), rawExit), 1, "ja32 takes its target from the immediate: offset must be zero"},
		{"jeq imm with src", code(rawMov0, raw(ClassJMP|JumpEQ|SrcK, 1, 2, 0, 0), rawExit), 1, "unused source register field must be zero"},
		{"jeq32 reg with imm", code(rawMov0, raw(ClassJMP32|JumpEQ|SrcX, 1, 2, 0, 3), rawExit), 1, "unused immediate field must be zero"},
		{"call with offset", code(rawMov0, raw(OpCall, 0, 0, 1, 1), rawExit), 1, "unused offset field must be zero"},
		{"call with dst", code(rawMov0, raw(OpCall, 1, 0, 0, 1), rawExit), 1, "unused destination register field must be zero"},
		{"callx with src", code(rawMov0, raw(OpCallX, 1, 2, 0, 0), rawExit), 1, "callx takes its target from the destination register"},
		{"callx with dst and imm", code(rawMov0, raw(OpCallX, 1, 0, 0, 2), rawExit), 1, "callx takes its target from the destination register"},
		{"st with src", code(rawMov0, raw(ClassST|ModeMEM|SizeW, 10, 1, -4, 0), rawExit), 1, "unused source register field must be zero"},
		{"ldx with imm", code(rawMov0, raw(ClassLDX|ModeMEM|SizeW, 1, 10, -4, 1), rawExit), 1, "unused immediate field must be zero"},
		{"ldxs with imm", code(rawMov0, raw(ClassLDX|ModeMEMSX|SizeB, 1, 10, -4, 1), rawExit), 1, "unused immediate field must be zero"},
		{"stx with imm", code(rawMov0, raw(ClassSTX|ModeMEM|SizeDW, 10, 1, -8, 1), rawExit), 1, "unused immediate field must be zero"},
		{"lddw with offset", code(rawMov0, raw(OpLDDW, 1, 0, 1, 0), raw(0, 0, 0, 0, 0), rawExit), 1, "unused offset field must be zero"},
		{"lddw map fd with high half", code(rawMov0, raw(OpLDDW, 1, PseudoMapFD, 0, 3), raw(0, 0, 0, 0, 1), rawExit), 1, "second half of this lddw must have a zero immediate"},
		{"lddw func with high half", code(rawMov0, raw(OpLDDW, 1, PseudoFunc, 0, 1), raw(0, 0, 0, 0, 1), rawExit), 1, "second half of this lddw must have a zero immediate"},

		// Operand values outside what the opcode defines.
		{"le width 8", code(rawMov0, raw(ClassALU|ALUEnd|SrcK, 1, 0, 0, 8), rawExit), 1, "byte swap width must be 16, 32 or 64, not 8"},
		{"be width 0", code(rawMov0, raw(ClassALU|ALUEnd|SrcX, 1, 0, 0, 0), rawExit), 1, "byte swap width must be 16, 32 or 64, not 0"},
		{"bswap width 128", code(rawMov0, raw(ClassALU64|ALUEnd|SrcK, 1, 0, 0, 128), rawExit), 1, "byte swap width must be 16, 32 or 64, not 128"},
		{"movsx32 from 32", code(rawMov0, raw(ClassALU|ALUMov|SrcX, 1, 2, 32, 0), rawExit), 1, "sign-extending move from 32 bits is not defined"},
		{"movsx from 7", code(rawMov0, raw(ClassALU64|ALUMov|SrcX, 1, 2, 7, 0), rawExit), 1, "sign-extending move from 7 bits is not defined"},
		{"movsx from 64", code(rawMov0, raw(ClassALU64|ALUMov|SrcX, 1, 2, 64, 0), rawExit), 1, "sign-extending move from 64 bits is not defined"},
		{"div offset 2", code(rawMov0, raw(ClassALU64|ALUDiv|SrcK, 1, 0, 2, 3), rawExit), 1, "offset of div/mod must be 0 (unsigned) or 1 (signed), not 2"},
		{"mod32 offset -1", code(rawMov0, raw(ClassALU|ALUMod|SrcX, 1, 2, -1, 0), rawExit), 1, "offset of div/mod must be 0 (unsigned) or 1 (signed), not -1"},

		// Registers.
		{"dst r11", code(rawMov0, raw(ClassALU64|ALUMov|SrcK, 11, 0, 0, 1), rawExit), 1, "invalid destination register r11"},
		{"dst r15 on jump", code(rawMov0, raw(ClassJMP|JumpEQ|SrcK, 15, 0, 0, 1), rawExit), 1, "invalid destination register r15"},
		{"src r12", code(rawMov0, raw(ClassALU64|ALUAdd|SrcX, 1, 12, 0, 0), rawExit), 1, "invalid source register r12"},
		{"src r11 on stx", code(rawMov0, raw(ClassSTX|ModeMEM|SizeW, 10, 11, -4, 0), rawExit), 1, "invalid source register r11"},
		{"mov r10", code(rawMov0, raw(ClassALU64|ALUMov|SrcK, 10, 0, 0, 1), rawExit), 1, "r10 is the read-only frame pointer and cannot be written"},
		{"add32 r10", code(rawMov0, raw(ClassALU|ALUAdd|SrcX, 10, 1, 0, 0), rawExit), 1, "r10 is the read-only frame pointer"},
		{"neg r10", code(rawMov0, raw(ClassALU64|ALUNeg, 10, 0, 0, 0), rawExit), 1, "r10 is the read-only frame pointer"},
		{"le r10", code(rawMov0, raw(ClassALU|ALUEnd, 10, 0, 0, 16), rawExit), 1, "r10 is the read-only frame pointer"},
		{"ldx into r10", code(rawMov0, raw(ClassLDX|ModeMEM|SizeDW, 10, 1, 0, 0), rawExit), 1, "r10 is the read-only frame pointer"},
		{"ldxs into r10", code(rawMov0, raw(ClassLDX|ModeMEMSX|SizeH, 10, 1, 0, 0), rawExit), 1, "r10 is the read-only frame pointer"},
		{"lddw into r10", code(rawMov0, raw(OpLDDW, 10, 0, 0, 1), raw(0, 0, 0, 0, 0), rawExit), 1, "r10 is the read-only frame pointer"},
		{"atomic fetch add into r10", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeDW, 1, 10, 0, AtomicAdd|AtomicFetch), rawExit), 1, "r10 is the read-only frame pointer"},
		{"atomic xchg into r10", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeW, 1, 10, 0, AtomicXchg), rawExit), 1, "r10 is the read-only frame pointer"},

		// Legacy packet access.
		{"ldabsw 0x20", code(rawMov0, raw(0x20, 0, 0, 0, 0), rawExit), 1, "legacy packet access instruction (opcode 0x20, BPF_ABS/BPF_IND) is not supported"},
		{"ldabsh 0x28", code(rawMov0, raw(0x28, 0, 0, 0, 0), rawExit), 1, "opcode 0x28, BPF_ABS/BPF_IND) is not supported"},
		{"ldabsb 0x30", code(rawMov0, raw(0x30, 0, 0, 0, 0), rawExit), 1, "opcode 0x30, BPF_ABS/BPF_IND) is not supported"},
		{"ldindw 0x40", code(rawMov0, raw(0x40, 0, 1, 0, 0), rawExit), 1, "opcode 0x40, BPF_ABS/BPF_IND) is not supported"},
		{"ldindh 0x48", code(rawMov0, raw(0x48, 0, 1, 0, 0), rawExit), 1, "opcode 0x48, BPF_ABS/BPF_IND) is not supported"},
		{"ldindb 0x50", code(rawMov0, raw(0x50, 0, 1, 0, 0), rawExit), 1, "opcode 0x50, BPF_ABS/BPF_IND) is not supported"},
		{"ldabsdw 0x38", code(rawMov0, raw(0x38, 0, 0, 0, 0), rawExit), 1, "unknown opcode 0x38"},

		// lddw.
		{"lddw last slot", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0)), 1, "lddw is missing its second half (it is the last slot of the program)"},
		{"lddw second half opcode", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0), raw(OpExit, 0, 0, 0, 0), rawExit), 2, "second half of lddw must have opcode, registers and offset all zero"},
		{"lddw second half is lddw", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0), raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 2, "second half of lddw must have opcode, registers and offset all zero"},
		{"lddw second half dst", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0), raw(0, 1, 0, 0, 0), rawExit), 2, "second half of lddw must have opcode, registers and offset all zero"},
		{"lddw second half src", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 1, 0, 0), rawExit), 2, "second half of lddw must have opcode, registers and offset all zero"},
		{"lddw second half offset", code(rawMov0, raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 0, 1, 0), rawExit), 2, "second half of lddw must have opcode, registers and offset all zero"},
		{"lddw source 7", code(rawMov0, raw(OpLDDW, 1, 7, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 1, "unknown lddw source 7"},
		{"lddw source 15", code(rawMov0, raw(OpLDDW, 1, 15, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 1, "unknown lddw source 15"},
		{"lddw func past the end", code(rawMov0, raw(OpLDDW, 1, PseudoFunc, 0, 2), raw(0, 0, 0, 0, 0), rawExit), 1, "function target 4 is outside the program (instructions 0 to 3)"},
		{"lddw func before the start", code(rawMov0, raw(OpLDDW, 1, PseudoFunc, 0, -3), raw(0, 0, 0, 0, 0), rawExit), 1, "function target -1 is outside the program"},
		{"lddw func into its own second half", code(rawMov0, raw(OpLDDW, 1, PseudoFunc, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 1, "function target 2 is the second half of the lddw at 1"},

		// Jump and call targets.
		{"ja past the end", code(rawMov0, raw(OpJA, 0, 0, 1, 0), rawExit), 1, "jump target 3 is outside the program (instructions 0 to 2)"},
		{"ja before the start", code(rawMov0, raw(OpJA, 0, 0, -3, 0), rawExit), 1, "jump target -1 is outside the program (instructions 0 to 2)"},
		{"jeq past the end", code(rawMov0, raw(ClassJMP|JumpEQ|SrcK, 1, 0, 0x7fff, 0), rawExit), 1, "jump target 32769 is outside the program"},
		{"jslt32 before the start", code(rawMov0, raw(ClassJMP32|JumpSLT|SrcX, 1, 2, -0x8000, 0), rawExit), 1, "jump target -32766 is outside the program"},
		{"ja32 past the end", code(rawMov0, raw(OpJA32, 0, 0, 0, 0x7fffffff), rawExit), 1, "jump target 2147483649 is outside the program"},
		{"ja32 before the start", code(rawMov0, raw(OpJA32, 0, 0, 0, -0x80000000), rawExit), 1, "jump target -2147483646 is outside the program"},
		{"ja into lddw", code(raw(OpJA, 0, 0, 1, 0), raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 0, "jump target 2 is the second half of the lddw at 1"},
		{"jne backwards into lddw", code(raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 0, 0, 0), raw(ClassJMP|JumpNE|SrcK, 1, 0, -2, 0), rawExit), 2, "jump target 1 is the second half of the lddw at 0"},
		{"call local past the end", code(rawMov0, raw(OpCall, 0, CallLocal, 0, 3), rawExit), 1, "call target 5 is outside the program (instructions 0 to 2)"},
		{"call local before the start", code(rawMov0, raw(OpCall, 0, CallLocal, 0, -3), rawExit), 1, "call target -1 is outside the program"},
		{"call local into lddw", code(raw(OpCall, 0, CallLocal, 0, 1), raw(OpLDDW, 1, 0, 0, 0), raw(0, 0, 0, 0, 0), rawExit), 0, "call target 2 is the second half of the lddw at 1"},

		// Calls and atomics.
		{"call kind 3", code(rawMov0, raw(OpCall, 0, 3, 0, 1), rawExit), 1, "unknown call kind 3 (0 helper, 1 local function, 2 kernel function)"},
		{"call kind 15", code(rawMov0, raw(OpCall, 0, 15, 0, 1), rawExit), 1, "unknown call kind 15"},
		{"atomic op 0x10", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeDW, 1, 2, 0, 0x10), rawExit), 1, "unknown atomic operation 0x10"},
		{"atomic op 0xe0 without fetch", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeW, 1, 2, 0, 0xe0), rawExit), 1, "unknown atomic operation 0xe0"},
		{"atomic op 0xf0 without fetch", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeW, 1, 2, 0, 0xf0), rawExit), 1, "unknown atomic operation 0xf0"},
		{"load acquire 0x100", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeDW, 1, 2, 0, 0x100), rawExit), 1, "unknown atomic operation 0x100"},
		{"atomic size b", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeB, 1, 2, 0, AtomicAdd), rawExit), 1, "atomic operations are 32 or 64 bits wide"},
		{"atomic size h", code(rawMov0, raw(ClassSTX|ModeATOMIC|SizeH, 1, 2, 0, AtomicAdd), rawExit), 1, "atomic operations are 32 or 64 bits wide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insns, err := Decode(tt.code)
			if err == nil {
				t.Fatalf("Decode accepted %x as %v", tt.code, insns)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error %q (%T) is not an *Error", err, err)
			}
			if e.Index != tt.index {
				t.Errorf("Index = %d, want %d (%v)", e.Index, tt.index, err)
			}
			if !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", e.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), e.Reason) {
				t.Errorf("Error() = %q does not contain the reason", err)
			}
		})
	}
}

// Problems with the bytecode as a whole are plain errors: there is no
// instruction to point at.
func TestDecodeWholeProgramErrors(t *testing.T) {
	tests := []struct {
		name string
		code []byte
		want string
	}{
		{"nil", nil, "empty program"},
		{"empty", []byte{}, "empty program"},
		{"half a slot", rawExit[:4], "instruction 0 is truncated"},
		{"one and a half slots", code(rawMov0, rawExit[:4]), "bytecode is 12 bytes, not a multiple of 8: instruction 1 is truncated"},
		{"one byte short", code(rawMov0, rawExit[:7]), "instruction 1 is truncated"},
		{"too many instructions", make([]byte, (MaxInstructions+1)*InstructionSize), "at most 1048576 are supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.code)
			if err == nil {
				t.Fatal("Decode accepted the program")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if err := Validate(nil); err == nil || !strings.Contains(err.Error(), "empty program") {
		t.Errorf("Validate(nil) = %v, want an empty program error", err)
	}
	if err := Validate(make([]Instruction, MaxInstructions+1)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Validate of %d instructions = %v, want a size error", MaxInstructions+1, err)
	}
}

// Validate sees instructions built in memory, which can hold values no
// bytecode can.
func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		insns  []Instruction
		index  int
		reason string
	}{
		{"imm above 32 bits", []Instruction{{Opcode: ClassALU64 | ALUMov, Imm: 1 << 32}, {Opcode: OpExit}}, 0, "immediate 4294967296 does not fit in 32 bits"},
		{"imm below 32 bits", []Instruction{{Opcode: ClassST | ModeMEM | SizeDW, Dst: R10, Offset: -8, Imm: -1<<31 - 1}, {Opcode: OpExit}}, 0, "immediate -2147483649 does not fit in 32 bits"},
		{"unsigned 32-bit imm", []Instruction{{Opcode: ClassJMP | JumpEQ, Dst: R1, Imm: 0xffffffff}, {Opcode: OpExit}}, 0, "immediate 4294967295 does not fit in 32 bits"},
		{"call local beyond int32", []Instruction{{Opcode: OpCall, Src: CallLocal, Imm: 1 << 32}, {Opcode: OpExit}}, 0, "immediate 4294967296 does not fit in 32 bits"},
		{"dst register 16", []Instruction{{Opcode: OpExit, Dst: 16}}, 0, "invalid destination register r16"},
		{"src register 200", []Instruction{{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R0, Src: 200}, {Opcode: OpExit}}, 0, "invalid source register r200"},
		{"lddw missing second half", []Instruction{{Opcode: OpExit}, {Opcode: OpLDDW, Dst: R0, Imm: 1}}, 1, "lddw is missing its second half"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.insns)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want an *Error", err)
			}
			if e.Index != tt.index || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("Validate = index %d reason %q, want index %d reason containing %q", e.Index, e.Reason, tt.index, tt.reason)
			}
		})
	}
}

// validForm is one instruction form of RFC 9669 (plus callx) and its text.
type validForm struct {
	ins  Instruction
	text string
}

// validForms lists every instruction form the instruction set defines, each
// with the text String renders for it.
func validForms() []validForm {
	var forms []validForm
	add := func(ins Instruction, text string) { forms = append(forms, validForm{ins, text}) }

	aluOps := []struct {
		op   uint8
		name string
	}{
		{ALUAdd, "add"}, {ALUSub, "sub"}, {ALUMul, "mul"}, {ALUDiv, "div"},
		{ALUOr, "or"}, {ALUAnd, "and"}, {ALULsh, "lsh"}, {ALURsh, "rsh"},
		{ALUMod, "mod"}, {ALUXor, "xor"}, {ALUMov, "mov"}, {ALUArsh, "arsh"},
	}
	for _, class := range []struct {
		class  uint8
		suffix string
	}{{ClassALU64, ""}, {ClassALU, "32"}} {
		for _, op := range aluOps {
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcK), Dst: R1, Imm: -7},
				op.name+class.suffix+" %r1, -7")
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcX), Dst: R1, Src: R9},
				op.name+class.suffix+" %r1, %r9")
		}
		add(Instruction{Opcode: Opcode(class.class | ALUNeg), Dst: R3}, "neg"+class.suffix+" %r3")
		for _, op := range []struct {
			op   uint8
			name string
		}{{ALUDiv, "sdiv"}, {ALUMod, "smod"}} {
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcK), Dst: R2, Offset: 1, Imm: 0x12345678},
				op.name+class.suffix+" %r2, 0x12345678")
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcX), Dst: R2, Src: R0, Offset: 1},
				op.name+class.suffix+" %r2, %r0")
		}
	}
	add(Instruction{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 8}, "movsx864 %r2, %r1")
	add(Instruction{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 16}, "movsx1664 %r2, %r1")
	add(Instruction{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 32}, "movsx3264 %r2, %r1")
	add(Instruction{Opcode: ClassALU | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 8}, "movsx832 %r2, %r1")
	add(Instruction{Opcode: ClassALU | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 16}, "movsx1632 %r2, %r1")
	for _, w := range []int64{16, 32, 64} {
		ws := map[int64]string{16: "16", 32: "32", 64: "64"}[w]
		add(Instruction{Opcode: ClassALU | ALUEnd | SrcK, Dst: R4, Imm: w}, "le"+ws+" %r4")
		add(Instruction{Opcode: ClassALU | ALUEnd | SrcX, Dst: R4, Imm: w}, "be"+ws+" %r4")
		add(Instruction{Opcode: ClassALU64 | ALUEnd | SrcK, Dst: R4, Imm: w}, "bswap"+ws+" %r4")
	}

	jumpOps := []struct {
		op   uint8
		name string
	}{
		{JumpEQ, "jeq"}, {JumpGT, "jgt"}, {JumpGE, "jge"}, {JumpSET, "jset"},
		{JumpNE, "jne"}, {JumpSGT, "jsgt"}, {JumpSGE, "jsge"}, {JumpLT, "jlt"},
		{JumpLE, "jle"}, {JumpSLT, "jslt"}, {JumpSLE, "jsle"},
	}
	for _, class := range []struct {
		class  uint8
		suffix string
	}{{ClassJMP, ""}, {ClassJMP32, "32"}} {
		for _, op := range jumpOps {
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcK), Dst: R1, Imm: -0x80000000},
				op.name+class.suffix+" %r1, 0x80000000, +0")
			add(Instruction{Opcode: Opcode(class.class | op.op | SrcX), Dst: R10, Src: R2},
				op.name+class.suffix+" %r10, %r2, +0")
		}
	}
	add(Instruction{Opcode: OpJA}, "ja +0")
	add(Instruction{Opcode: OpJA32}, "ja32 +0")

	for _, size := range []struct {
		size uint8
		name string
	}{{SizeB, "b"}, {SizeH, "h"}, {SizeW, "w"}, {SizeDW, "dw"}} {
		add(Instruction{Opcode: Opcode(ClassLDX | ModeMEM | size.size), Dst: R0, Src: R10, Offset: -8},
			"ldx"+size.name+" %r0, [%r10-8]")
		if size.size != SizeDW {
			add(Instruction{Opcode: Opcode(ClassLDX | ModeMEMSX | size.size), Dst: R0, Src: R1, Offset: 2},
				"ldxs"+size.name+" %r0, [%r1+2]")
		}
		add(Instruction{Opcode: Opcode(ClassST | ModeMEM | size.size), Dst: R10, Offset: -16, Imm: 0x7fffffff},
			"st"+size.name+" [%r10-16], 0x7fffffff")
		add(Instruction{Opcode: Opcode(ClassSTX | ModeMEM | size.size), Dst: R1, Src: R10},
			"stx"+size.name+" [%r1], %r10")
	}

	for _, size := range []struct {
		size   uint8
		suffix string
	}{{SizeDW, ""}, {SizeW, "32"}} {
		for _, a := range []struct {
			imm  int64
			text string
		}{
			{AtomicAdd, "lock add"}, {AtomicOr, "lock or"}, {AtomicAnd, "lock and"}, {AtomicXor, "lock xor"},
			{AtomicAdd | AtomicFetch, "lock fetch add"}, {AtomicOr | AtomicFetch, "lock fetch or"},
			{AtomicAnd | AtomicFetch, "lock fetch and"}, {AtomicXor | AtomicFetch, "lock fetch xor"},
			{AtomicXchg, "lock xchg"}, {AtomicCmpXchg, "lock cmpxchg"},
		} {
			add(Instruction{Opcode: Opcode(ClassSTX | ModeATOMIC | size.size), Dst: R10, Src: R1, Offset: -4, Imm: a.imm},
				a.text+size.suffix+" [%r10-4], %r1")
		}
		// Operations that do not write the source register may name r10.
		add(Instruction{Opcode: Opcode(ClassSTX | ModeATOMIC | size.size), Dst: R1, Src: R10, Imm: AtomicAdd},
			"lock add"+size.suffix+" [%r1], %r10")
		add(Instruction{Opcode: Opcode(ClassSTX | ModeATOMIC | size.size), Dst: R1, Src: R10, Imm: AtomicCmpXchg},
			"lock cmpxchg"+size.suffix+" [%r1], %r10")
	}

	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoImm64, Imm: -0x1122334455667788}, "lddw %r1, 0xeeddccbbaa998878")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapFD, Imm: 3}, "lddw %r1, map_fd:3")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapValue, Imm: 8<<32 | 3}, "lddw %r1, map_value:3+8")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoBTFID, Imm: 9}, "lddw %r1, btf_id:9")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoFunc, Imm: 1}, "lddw %r1, func:+1")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapIdx, Imm: 1}, "lddw %r1, map_idx:1")
	add(Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapIdxVal, Imm: 4<<32 | 1}, "lddw %r1, map_idx_value:1+4")

	add(Instruction{Opcode: OpCall, Src: CallHelper, Imm: 1}, "call 1")
	add(Instruction{Opcode: OpCall, Src: CallLocal, Imm: 0}, "call local +0")
	add(Instruction{Opcode: OpCall, Src: CallKfunc, Imm: 1234}, "call runtime 1234")
	add(Instruction{Opcode: OpCallX, Dst: R2}, "call %r2")
	add(Instruction{Opcode: OpExit}, "exit")
	return forms
}

// program wraps ins into a complete program: the second slot of an lddw,
// then an exit that every jump and call in validForms lands on.
func program(ins Instruction) []Instruction {
	insns := []Instruction{ins}
	if ins.IsLDDW() {
		insns = append(insns, Instruction{Imm: int64(int32(uint64(ins.Imm) >> 32))})
	}
	return append(insns, Instruction{Opcode: OpExit})
}

func TestValidForms(t *testing.T) {
	forms := validForms()
	if len(forms) < 150 {
		t.Fatalf("only %d forms", len(forms))
	}
	seen := map[Instruction]bool{}
	for _, f := range forms {
		if seen[f.ins] {
			t.Fatalf("form %q listed twice", f.text)
		}
		seen[f.ins] = true
		t.Run(f.text, func(t *testing.T) {
			insns := program(f.ins)
			if err := Validate(insns); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := f.ins.String(); got != f.text {
				t.Errorf("String() = %q, want %q", got, f.text)
			}
			b := Encode(insns)
			back, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(p)): %v", err)
			}
			if !reflect.DeepEqual(back, insns) {
				t.Errorf("Decode(Encode(p)) = %v, want %v", back, insns)
			}
			if again := Encode(back); !bytes.Equal(again, b) {
				t.Errorf("Encode(Decode(b)) = %x, want %x", again, b)
			}
			text := Disassemble(insns)
			asm, err := Assemble(text)
			if err != nil {
				t.Fatalf("Assemble(%q): %v", text, err)
			}
			if !reflect.DeepEqual(asm, insns) {
				t.Errorf("Assemble(%q) = %v, want %v", text, asm, insns)
			}
			asm, err = Assemble(f.text + "\nexit")
			if err != nil {
				t.Fatalf("Assemble(%q): %v", f.text, err)
			}
			if !reflect.DeepEqual(asm, insns) {
				t.Errorf("Assemble(%q) = %v, want %v", f.text, asm, insns)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	b := code(
		raw(ClassLDX|ModeMEM|SizeDW, 3, 10, -8, 0),
		raw(ClassALU64|ALUAdd|SrcK, 3, 0, 0, -2),
		raw(OpLDDW, 9, PseudoMapValue, 0, -1),
		raw(0, 0, 0, 0, 0x7fffffff),
		raw(OpLDDW, 0, 0, 0, 1),
		raw(0, 0, 0, 0, -1),
		rawExit,
	)
	want := []Instruction{
		{Opcode: ClassLDX | ModeMEM | SizeDW, Dst: R3, Src: R10, Offset: -8},
		{Opcode: ClassALU64 | ALUAdd, Dst: R3, Imm: -2},
		{Opcode: OpLDDW, Dst: R9, Src: PseudoMapValue, Imm: 0x7fffffff_ffffffff},
		{Imm: 0x7fffffff},
		{Opcode: OpLDDW, Imm: -0x100000000 + 1},
		{Imm: -1},
		{Opcode: OpExit},
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode = %v\nwant %v", got, want)
	}
	if !bytes.Equal(Encode(got), b) {
		t.Fatalf("Encode(Decode(b)) = %x, want %x", Encode(got), b)
	}
}

// Encode produces the second slot of an lddw from the first, whatever the
// second element holds, and stops after the first when it is the last.
func TestEncodeLDDW(t *testing.T) {
	got := Encode([]Instruction{{Opcode: OpLDDW, Dst: R2, Imm: 0x1122334455667788}, {Opcode: OpExit, Dst: R5, Imm: 9}})
	want := code(raw(OpLDDW, 2, 0, 0, 0x55667788), raw(0, 0, 0, 0, 0x11223344))
	if !bytes.Equal(got, want) {
		t.Errorf("Encode = %x, want %x", got, want)
	}
	got = Encode([]Instruction{{Opcode: OpLDDW, Dst: R2, Imm: 0x1122334455667788}})
	if want := raw(OpLDDW, 2, 0, 0, 0x55667788); !bytes.Equal(got, want) {
		t.Errorf("Encode of a lone lddw = %x, want %x", got, want)
	}
}

// LLVM before 19 encoded callx with the target register in the immediate
// and dst 0; GCC, LLVM 19+ and the conformance suite use dst.
func TestDecodeCallXLegacy(t *testing.T) {
	tests := []struct {
		name string
		slot []byte
		want Instruction
	}{
		{"llvm<19 r2", raw(OpCallX, 0, 0, 0, 2), Instruction{Opcode: OpCallX, Dst: R2}},
		{"llvm<19 r10", raw(OpCallX, 0, 0, 0, 10), Instruction{Opcode: OpCallX, Dst: R10}},
		{"dst form", raw(OpCallX, 7, 0, 0, 0), Instruction{Opcode: OpCallX, Dst: R7}},
		{"r0", raw(OpCallX, 0, 0, 0, 0), Instruction{Opcode: OpCallX, Dst: R0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(code(tt.slot, rawExit))
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want {
				t.Errorf("Decode = %v, want %v", got[0], tt.want)
			}
			if s := got[0].String(); s != tt.want.String() {
				t.Errorf("String() = %q", s)
			}
		})
	}
	// An immediate that is no register stays as it is and is rejected.
	for _, imm := range []int32{11, -1} {
		_, err := Decode(code(raw(OpCallX, 0, 0, 0, imm), rawExit))
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Reason, "callx") {
			t.Errorf("callx with imm %d: %v, want a callx error", imm, err)
		}
	}
}

func TestInstructionPredicates(t *testing.T) {
	sdiv := Instruction{Opcode: ClassALU | ALUDiv | SrcX, Offset: 1}
	if !sdiv.IsSignedDivMod() || sdiv.Is64() {
		t.Errorf("sdiv32: IsSignedDivMod %v Is64 %v", sdiv.IsSignedDivMod(), sdiv.Is64())
	}
	if (Instruction{Opcode: ClassALU64 | ALUMod}).IsSignedDivMod() {
		t.Error("mod is signed")
	}
	if bits, ok := (Instruction{Opcode: ClassALU64 | ALUMov | SrcX, Offset: 16}).IsMovSX(); !ok || bits != 16 {
		t.Errorf("movsx1664: IsMovSX = %d, %v", bits, ok)
	}
	if _, ok := (Instruction{Opcode: ClassALU64 | ALUMov | SrcX}).IsMovSX(); ok {
		t.Error("mov is movsx")
	}
	if !(Instruction{Opcode: ClassJMP32 | JumpEQ}).IsConditionalJump() || (Instruction{Opcode: OpJA}).IsConditionalJump() {
		t.Error("IsConditionalJump")
	}
	if (Instruction{Opcode: OpCall, Src: CallKfunc}).IsHelperCall() || !(Instruction{Opcode: OpCall}).IsHelperCall() {
		t.Error("IsHelperCall")
	}
	branches := []struct {
		ins    Instruction
		pc     int
		target int
		ok     bool
	}{
		{Instruction{Opcode: OpJA, Offset: -3}, 10, 8, true},
		{Instruction{Opcode: OpJA32, Imm: 100000}, 10, 100011, true},
		{Instruction{Opcode: ClassJMP32 | JumpSLE | SrcX, Offset: 4}, 0, 5, true},
		{Instruction{Opcode: OpCall, Src: CallLocal, Imm: -1}, 3, 3, true},
		{Instruction{Opcode: OpCall, Src: CallHelper, Imm: 5}, 3, 0, false},
		{Instruction{Opcode: OpCallX, Dst: R1}, 3, 0, false},
		{Instruction{Opcode: OpExit}, 3, 0, false},
		{Instruction{Opcode: OpLDDW, Src: PseudoFunc, Imm: 2}, 3, 0, false},
	}
	for _, b := range branches {
		target, ok := b.ins.Branch(b.pc)
		if target != b.target || ok != b.ok {
			t.Errorf("%v at %d: Branch = %d, %v, want %d, %v", b.ins, b.pc, target, ok, b.target, b.ok)
		}
	}
	for size, want := range map[uint8]int{SizeB: 1, SizeH: 2, SizeW: 4, SizeDW: 8} {
		ins := Instruction{Opcode: Opcode(ClassLDX | ModeMEM | size)}
		if got := ins.AccessSize(); got != want {
			t.Errorf("AccessSize of %v = %d, want %d", ins, got, want)
		}
	}
}
