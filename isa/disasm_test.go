package isa

import (
	"reflect"
	"strings"
	"testing"
)

func TestInstructionString(t *testing.T) {
	tests := []struct {
		ins  Instruction
		want string
	}{
		{Instruction{Opcode: ClassLDX | ModeMEM | SizeDW, Dst: R0, Src: R1, Offset: 2}, "ldxdw %r0, [%r1+2]"},
		{Instruction{Opcode: ClassLDX | ModeMEMSX | SizeH, Dst: R0, Src: R1, Offset: -32768}, "ldxsh %r0, [%r1-32768]"},
		{Instruction{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R10, Src: R1, Offset: -4, Imm: AtomicAdd | AtomicFetch}, "lock fetch add32 [%r10-4], %r1"},
		{Instruction{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicCmpXchg}, "lock cmpxchg [%r1], %r2"},
		{Instruction{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Offset: 8, Imm: AtomicXchg}, "lock xchg32 [%r1+8], %r2"},
		{Instruction{Opcode: ClassALU | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 8}, "movsx832 %r2, %r1"},
		{Instruction{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R2, Src: R1, Offset: 32}, "movsx3264 %r2, %r1"},
		{Instruction{Opcode: ClassALU | ALUMod | SrcK, Dst: R2, Offset: 1, Imm: -3}, "smod32 %r2, -3"},
		{Instruction{Opcode: OpCall, Src: CallLocal, Imm: 3}, "call local +3"},
		{Instruction{Opcode: OpCall, Src: CallLocal, Imm: -4}, "call local -4"},
		{Instruction{Opcode: OpCall, Src: CallHelper, Imm: 5}, "call 5"},
		{Instruction{Opcode: OpCall, Src: CallKfunc, Imm: 7}, "call runtime 7"},
		{Instruction{Opcode: OpCallX, Dst: R2}, "call %r2"},
		{Instruction{Opcode: ClassJMP32 | JumpEQ, Dst: R1, Imm: -0x80000000, Offset: -3}, "jeq32 %r1, 0x80000000, -3"},
		{Instruction{Opcode: ClassJMP | JumpSGT, Dst: R1, Imm: -1, Offset: 2}, "jsgt %r1, -1, +2"},
		{Instruction{Opcode: ClassJMP | JumpNE | SrcX, Dst: R1, Src: R2, Offset: 0}, "jne %r1, %r2, +0"},
		{Instruction{Opcode: OpJA32, Imm: -100000}, "ja32 -100000"},
		{Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapValue, Imm: 8<<32 | 3}, "lddw %r1, map_value:3+8"},
		{Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoMapFD, Imm: 0xffffffff}, "lddw %r1, map_fd:-1"},
		{Instruction{Opcode: OpLDDW, Dst: R1, Src: PseudoFunc, Imm: 0xfffffffe}, "lddw %r1, func:-2"},
		{Instruction{Opcode: OpLDDW, Dst: R0, Imm: 1}, "lddw %r0, 0x1"},
		{Instruction{Opcode: ClassALU64 | ALUMov, Dst: R0, Imm: 0xffff}, "mov %r0, 65535"},
		{Instruction{Opcode: ClassALU64 | ALUMov, Dst: R0, Imm: 0x10000}, "mov %r0, 0x10000"},
		{Instruction{Opcode: ClassALU64 | ALUMov, Dst: R0, Imm: -0xffff}, "mov %r0, -65535"},
		{Instruction{Opcode: ClassALU64 | ALUMov, Dst: R0, Imm: -0x10000}, "mov %r0, 0xffff0000"},
		{Instruction{Opcode: ClassST | ModeMEM | SizeB, Dst: R10, Offset: -1, Imm: 0x7f}, "stb [%r10-1], 127"},
		{Instruction{Opcode: ClassALU | ALUEnd | SrcX, Dst: R3, Imm: 16}, "be16 %r3"},
		{Instruction{Opcode: ClassALU64 | ALUEnd | SrcK, Dst: R3, Imm: 64}, "bswap64 %r3"},
		{Instruction{Opcode: ClassALU | ALUNeg, Dst: R3}, "neg32 %r3"},
		// Instructions that fail validation still render, for error messages.
		{Instruction{Opcode: 0x20}, ".invalid 0x20"},
		{Instruction{Opcode: OpLDDW, Src: 9}, ".invalid lddw source 9"},
		{Instruction{Opcode: ClassSTX | ModeATOMIC | SizeW, Imm: 0x10}, ".invalid atomic 0x10"},
		{Instruction{Opcode: ClassALU64 | 0xe0}, ".invalid 0xe7"},
		{Instruction{Opcode: ClassJMP | 0xe0}, ".invalid 0xe5"},
	}
	for _, tt := range tests {
		if got := tt.ins.String(); got != tt.want {
			t.Errorf("String() of %+v = %q, want %q", tt.ins, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	_, err := Decode(code(rawMov0, raw(ClassALU64|ALUMov|SrcK, 10, 0, 0, 1), rawExit))
	want := "instruction 1 (mov %r10, 1): r10 is the read-only frame pointer and cannot be written"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestDisassembleLabels(t *testing.T) {
	insns, err := Assemble(`
		lddw %r1, func:fn
		jeq %r1, 0, out
		call local fn
		ja32 out
	fn:
		mov %r0, 1
		ja -2
	out:
		exit
	`)
	if err != nil {
		t.Fatal(err)
	}
	got := DisassembleLines(insns, nil)
	want := []Line{
		{Index: 0, Text: "lddw %r1, func:L5"},
		{Index: 1},
		{Index: 2, Text: "jeq %r1, 0, L7"},
		{Index: 3, Text: "call local L5"},
		{Index: 4, Text: "ja32 L7"},
		{Index: 5, Label: "L5", Text: "mov %r0, 1"},
		{Index: 6, Text: "ja L5"},
		{Index: 7, Label: "L7", Text: "exit"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DisassembleLines =\n%v\nwant\n%v", got, want)
	}
	wantText := strings.Join([]string{
		"lddw %r1, func:L5",
		"jeq %r1, 0, L7",
		"call local L5",
		"ja32 L7",
		"L5:",
		"mov %r0, 1",
		"ja L5",
		"L7:",
		"exit",
		"",
	}, "\n")
	if text := Disassemble(insns); text != wantText {
		t.Errorf("Disassemble =\n%s\nwant\n%s", text, wantText)
	}
}

// Targets outside the program get no label: the relative offset is kept, so
// even invalid programs disassemble to something readable.
func TestDisassembleOutOfRange(t *testing.T) {
	insns := []Instruction{{Opcode: OpJA, Offset: 5}, {Opcode: OpCall, Src: CallLocal, Imm: -9}, {Opcode: OpExit}}
	want := "ja +5\ncall local -9\nexit\n"
	if got := Disassemble(insns); got != want {
		t.Errorf("Disassemble = %q, want %q", got, want)
	}
}

// A program's first instruction as a jump target, and a target reached from
// several places, get a single label.
func TestDisassembleSharedLabel(t *testing.T) {
	src := "L0:\nmov %r0, 0\njeq %r0, 1, L0\nja L0\nexit\n"
	insns, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := Disassemble(insns); got != src {
		t.Errorf("Disassemble = %q, want %q", got, src)
	}
}

func TestDisassembleLinesNamed(t *testing.T) {
	insns, err := Assemble("call local fn\nja out\nfn:\nmov %r0, 1\nexit\nout:\nexit")
	if err != nil {
		t.Fatal(err)
	}
	got := DisassembleLines(insns, map[int]string{2: "weigh", 4: "not an identifier"})
	want := []Line{
		{Index: 0, Text: "call local weigh"},
		{Index: 1, Text: "ja L4"},
		{Index: 2, Label: "weigh", Text: "mov %r0, 1"},
		{Index: 3, Text: "exit"},
		{Index: 4, Label: "L4", Text: "exit"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DisassembleLines =\n%v\nwant\n%v", got, want)
	}
}
