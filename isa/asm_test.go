package isa

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAssembleSyntaxErrors(t *testing.T) {
	// A label 32768 instructions ahead of a conditional jump.
	far := "jeq %r1, 0, far\n" + strings.Repeat("mov %r0, 0\n", 32768) + "far: exit\n"

	tests := []struct {
		name string
		src  string
		line int
		msg  string // distinctive part of SyntaxError.Msg
	}{
		{"unknown mnemonic", "mov %r0, 0\nfrob %r1, 2\nexit", 2, `unknown mnemonic "frob"`},
		{"unknown alu32 mnemonic", "frob32 %r1, 2", 1, `unknown mnemonic "frob32"`},
		{"bare movsx", "movsx %r1, %r2", 1, `unknown mnemonic "movsx"`},
		{"movsx to 16", "movsx816 %r1, %r2", 1, `unknown mnemonic "movsx816"`},
		{"movsx from letters", "movsxab64 %r1, %r2", 1, `unknown mnemonic "movsxab64"`},
		{"swap width 8", "swap8 %r1", 1, `unknown mnemonic "swap8"`},
		{"ldxsdw", "ldxsdw %r0, [%r1]", 1, `unknown mnemonic "ldxsdw"`},

		{"mov one operand", "mov %r1", 1, "expected 2 operand(s), found 1"},
		{"mov three operands", "\nmov %r1, 1, 2", 2, "expected 2 operand(s), found 3"},
		{"exit with operand", "exit %r0", 1, "expected 0 operand(s), found 1"},
		{"neg two operands", "neg %r1, 2", 1, "expected 1 operand(s), found 2"},
		{"jeq two operands", "jeq %r1, 2", 1, "expected 3 operand(s), found 2"},
		{"ja no operand", "ja", 1, "expected 1 operand(s), found 0"},
		{"ldxw one operand", "ldxw %r0", 1, "expected 2 operand(s), found 1"},
		{"lddw one operand", "lddw %r0", 1, "expected 2 operand(s), found 1"},
		{"le16 no operand", "le16", 1, "expected 1 operand(s), found 0"},
		{"lock one operand", "lock add [%r1]", 1, "expected 2 operand(s), found 1"},
		{"lock nothing", "lock", 1, "lock needs an operation"},
		{"call nothing", "call", 1, "call takes one target"},
		{"call three words", "call local a b", 1, "call takes one target"},

		{"register 11", "mov %r11, 1", 1, `invalid register "%r11"`},
		{"register r1x", "add %r1x, 1", 1, `invalid register "%r1x"`},
		{"register with leading zero", "mov %r01, 1", 1, `invalid register "%r01"`},
		{"register -1", "mov %r-1, 1", 1, `invalid register "%r-1"`},
		{"source register 12", "add %r1, %r12", 1, `invalid register "%r12"`},
		{"immediate as register", "mov 1, 2", 1, `invalid register "1"`},
		{"callx register", "callx %r11", 1, `invalid register "%r11"`},
		{"call register", "call %r16", 1, `invalid register "%r16"`},

		{"immediate too large", "mov %r0, 0x1ffffffff", 1, `bad immediate "0x1ffffffff": does not fit in 32 bits`},
		{"immediate too small", "mov %r0, -0x80000001", 1, `bad immediate "-0x80000001": does not fit in 32 bits`},
		{"immediate 2^32", "jeq %r0, 4294967296, +0", 1, "does not fit in 32 bits"},
		{"immediate beyond 64 bits", "mov %r0, 0x10000000000000000", 1, "does not fit in 32 bits"},
		{"immediate not a number", "mov %r0, twelve", 1, `bad immediate "twelve": not a number`},
		{"immediate bare 0x", "mov %r0, 0x", 1, "not a number"},
		{"immediate bare minus", "stw [%r1], -", 1, "not a number"},
		{"immediate empty", "mov %r0,", 1, "not a number"},
		{"call id not a number", "call foo", 1, `bad immediate "foo"`},
		{"lddw too large", "lddw %r0, 0x10000000000000000", 1, "does not fit in 64 bits"},
		{"lddw too small", "lddw %r0, -0x8000000000000001", 1, "does not fit in 64 bits"},

		{"ldx register operand", "ldxw %r0, %r1", 1, "expected a memory operand like [%r1+8]"},
		{"stx unclosed bracket", "stxw [%r1+2, %r0", 1, "expected a memory operand"},
		{"memory offset not a number", "ldxw %r0, [%r1+x]", 1, "bad offset"},
		{"memory offset too large", "stw [%r1+0x10000], 1", 1, "does not fit in 16 bits"},
		{"memory offset too small", "stw [%r1-32769], 1", 1, "does not fit in 16 bits"},
		{"memory bad register", "ldxb %r0, [%r11-1]", 1, `invalid register "%r11"`},
		{"memory empty", "ldxb %r0, []", 1, "invalid register"},
		{"atomic register operand", "lock add %r1, %r2", 1, "expected a memory operand"},

		{"undefined label", "mov %r0, 0\nja nowhere\nexit", 2, `undefined label "nowhere"`},
		{"undefined call label", "call local nowhere\nexit", 1, `undefined label "nowhere"`},
		{"undefined func label", "lddw %r1, func:nowhere\nexit", 1, `undefined label "nowhere"`},
		{"exit label without exit", "ja exit", 1, `undefined label "exit"`},
		{"duplicate label", "a:\nmov %r0, 0\na:\nexit", 3, `label "a" is defined twice`},
		{"duplicate label same line", "a: a: exit", 1, `label "a" is defined twice`},
		{"invalid label name", "1a: exit", 1, `invalid label name "1a"`},
		{"bad jump target", "ja 1+", 1, `bad jump target "1+"`},
		{"jump offset too far", "ja +32768", 1, `bad jump offset "+32768": does not fit in 16 bits`},
		{"jump offset +0xffff", "ja +0xffff", 1, `bad jump offset "+0xffff": does not fit in 16 bits`},
		{"ja32 offset too far", "ja32 +0x80000000", 1, `bad jump offset "+0x80000000": does not fit in 32 bits`},
		{"call offset too far", "call local +2147483648", 1, "does not fit in 32 bits"},
		{"jump offset too far back", "jeq %r0, 0, -32769", 1, "does not fit in 16 bits"},
		{"memory offset +0xffff", "stw [%r1+0xffff], 1", 1, "does not fit in 16 bits"},
		{"signed immediate too large", "mov %r0, +0x80000000", 1, "does not fit in 32 bits"},
		{"signed lddw too large", "lddw %r0, +0x8000000000000000", 1, "does not fit in 64 bits"},
		{"label too far for jeq", far, 1, `label "far" is 32768 instructions away, beyond the reach of a 16-bit offset`},

		{"fetch xchg", "lock fetch xchg [%r1], %r2", 1, `xchg always fetches; drop "fetch"`},
		{"fetch cmpxchg32", "lock fetch cmpxchg32 [%r1], %r2", 1, `cmpxchg always fetches`},
		{"unknown atomic", "lock nand [%r1], %r2", 1, `unknown atomic operation "nand"`},
		{"unknown call kind", "call far 5", 1, `unknown call kind "far" (helper, local or runtime)`},
		{"unknown lddw kind", "lddw %r1, map:3", 1, `unknown lddw operand kind "map"`},
		{"map_fd with offset", "lddw %r1, map_fd:3+8", 1, `bad map_fd operand "3+8"`},
		{"map_value bad offset", "lddw %r1, map_value:3+x", 1, `bad map_value offset "x"`},
		{"movsx immediate", "movsx864 %r1, 5", 1, "movsx864 needs a source register"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insns, err := Assemble(tt.src)
			if err == nil {
				t.Fatalf("Assemble accepted %q as %v", tt.src, insns)
			}
			var e *SyntaxError
			if !errors.As(err, &e) {
				t.Fatalf("error %q (%T) is not a *SyntaxError", err, err)
			}
			if e.Line != tt.line {
				t.Errorf("Line = %d, want %d (%v)", e.Line, tt.line, err)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", e.Msg, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

// Programs that parse but do not validate report the *Error of Validate.
func TestAssembleValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		index  int
		reason string
	}{
		{"write r10", "mov %r10, 1\nexit", 0, "r10 is the read-only frame pointer"},
		{"write fp", "ldxdw %fp, [%r1]\nexit", 0, "r10 is the read-only frame pointer"},
		{"jump past the end", "mov %r0, 0\nja +1\nexit", 1, "jump target 3 is outside the program"},
		{"label after the last instruction", "ja end\nexit\nend:", 0, "jump target 2 is outside the program"},
		{"jump into lddw", "ja +1\nlddw %r0, 1\nexit", 0, "second half of the lddw at 1"},
		{"func into lddw", "lddw %r0, func:+0\nexit", 0, "function target 1 is the second half of the lddw at 0"},
		{"movsx3232", "movsx3232 %r1, %r2\nexit", 0, "sign-extending move from 32 bits is not defined"},
		{"movsx from 4", "movsx464 %r1, %r2\nexit", 0, "sign-extending move from 4 bits is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assemble(tt.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) does not wrap an *Error", err, err)
			}
			if e.Index != tt.index || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got index %d reason %q, want index %d reason containing %q", e.Index, e.Reason, tt.index, tt.reason)
			}
		})
	}
}

func TestAssembleEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# nothing but a comment\n", "label:\n"} {
		insns, err := Assemble(src)
		if err == nil || !strings.Contains(err.Error(), "no instructions") {
			t.Errorf("Assemble(%q) = %v, %v, want a no instructions error", src, insns, err)
		}
	}
}

// assembleEqual checks that each source assembles to the same program as the
// first, and returns that program.
func assembleEqual(t *testing.T, srcs ...string) []Instruction {
	t.Helper()
	first, err := Assemble(srcs[0])
	if err != nil {
		t.Fatalf("Assemble(%q): %v", srcs[0], err)
	}
	for _, src := range srcs[1:] {
		got, err := Assemble(src)
		if err != nil {
			t.Fatalf("Assemble(%q): %v", src, err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Errorf("Assemble(%q) = %v, want %v (as %q)", src, got, first, srcs[0])
		}
	}
	return first
}

func TestAssembleSyntax(t *testing.T) {
	exit := Instruction{Opcode: OpExit}
	tests := []struct {
		name string
		srcs []string // all assemble to want
		want []Instruction
	}{
		{"comments and blank lines", []string{
			"# header\n\n  mov %r0, 1   # set r0\n\texit # done\n",
			"mov %r0, 1\nexit",
		}, []Instruction{{Opcode: ClassALU64 | ALUMov, Imm: 1}, exit}},
		{"tabs and CRLF", []string{
			"mov\t%r0,\t1\r\nexit\r\n",
			"MOV %R0, 1\nEXIT",
			"mov64 %r0, 1\nexit",
		}, []Instruction{{Opcode: ClassALU64 | ALUMov, Imm: 1}, exit}},
		{"labels on instruction lines", []string{
			"start: mov %r0, 1\njeq %r0, 1, done\nja start\ndone: exit",
			"start:\nmov %r0, 1\njeq %r0, 1, done\nja start\ndone:\nexit",
			"mov %r0, 1\njeq %r0, 1, +1\nja -3\nexit",
		}, []Instruction{
			{Opcode: ClassALU64 | ALUMov, Imm: 1},
			{Opcode: ClassJMP | JumpEQ, Imm: 1, Offset: 1},
			{Opcode: OpJA, Offset: -3},
			exit,
		}},
		{"several labels on one line", []string{
			"a: b: ja b\nexit",
			"a:\nb:\nja a\nexit",
			"ja -1\nexit",
		}, []Instruction{{Opcode: OpJA, Offset: -1}, exit}},
		{"implicit exit label is the first exit", []string{
			"jne %r0, 1, exit\nmov %r0, 2\nexit\nmov %r0, 3\nexit",
			"jne %r0, 1, +1\nmov %r0, 2\nexit\nmov %r0, 3\nexit",
		}, []Instruction{
			{Opcode: ClassJMP | JumpNE, Imm: 1, Offset: 1},
			{Opcode: ClassALU64 | ALUMov, Imm: 2}, exit,
			{Opcode: ClassALU64 | ALUMov, Imm: 3}, exit,
		}},
		{"implicit exit label after the jump", []string{
			"ja exit\nmov %r0, 2\nexit",
			"ja +1\nmov %r0, 2\nexit",
		}, []Instruction{{Opcode: OpJA, Offset: 1}, {Opcode: ClassALU64 | ALUMov, Imm: 2}, exit}},
		{"defined exit label wins", []string{
			"ja exit\nexit\nexit: exit",
			"ja +1\nexit\nexit",
		}, []Instruction{{Opcode: OpJA, Offset: 1}, exit, exit}},
		{"swap and bswap", []string{
			"swap16 %r1\nswap32 %r2\nswap64 %r3\nexit",
			"bswap16 %r1\nbswap32 %r2\nbswap64 %r3\nexit",
		}, []Instruction{
			{Opcode: ClassALU64 | ALUEnd, Dst: R1, Imm: 16},
			{Opcode: ClassALU64 | ALUEnd, Dst: R2, Imm: 32},
			{Opcode: ClassALU64 | ALUEnd, Dst: R3, Imm: 64},
			exit,
		}},
		{"le and be", []string{"le16 %r1\nbe64 %r2\nexit"}, []Instruction{
			{Opcode: ClassALU | ALUEnd | SrcK, Dst: R1, Imm: 16},
			{Opcode: ClassALU | ALUEnd | SrcX, Dst: R2, Imm: 64},
			exit,
		}},
		{"movsx", []string{"movsx832 %r1, %r2\nmovsx1632 %r1, %r2\nmovsx864 %r1, %r2\nmovsx1664 %r1, %r2\nmovsx3264 %r1, %r2\nexit"}, []Instruction{
			{Opcode: ClassALU | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 8},
			{Opcode: ClassALU | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 16},
			{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 8},
			{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 16},
			{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 32},
			exit,
		}},
		{"sdiv and smod", []string{"sdiv %r1, 3\nsmod32 %r1, %r2\nexit"}, []Instruction{
			{Opcode: ClassALU64 | ALUDiv, Dst: R1, Offset: 1, Imm: 3},
			{Opcode: ClassALU | ALUMod | SrcX, Dst: R1, Src: R2, Offset: 1},
			exit,
		}},
		{"helper calls", []string{
			"call 5\nexit",
			"call helper 5\nexit",
			"call 0x5\nexit",
		}, []Instruction{{Opcode: OpCall, Src: CallHelper, Imm: 5}, exit}},
		{"kfunc calls", []string{
			"call runtime 7\nexit",
			"call kfunc 7\nexit",
		}, []Instruction{{Opcode: OpCall, Src: CallKfunc, Imm: 7}, exit}},
		{"local calls", []string{
			"call local fn\nexit\nfn: exit",
			"call local +1\nexit\nexit",
		}, []Instruction{{Opcode: OpCall, Src: CallLocal, Imm: 1}, exit, exit}},
		{"callx", []string{
			"callx %r3\nexit",
			"call %r3\nexit",
			"call helper %r3\nexit",
		}, []Instruction{{Opcode: OpCallX, Dst: R3}, exit}},
		{"frame pointer alias", []string{
			"stw [%fp-4], 1\nexit",
			"stw [%r10-4], 1\nexit",
			"stw [%r10-0x4], 0x1\nexit",
		}, []Instruction{{Opcode: ClassST | ModeMEM | SizeW, Dst: R10, Offset: -4, Imm: 1}, exit}},
		{"memory operands", []string{"ldxb %r0, [%r1]\nldxh %r0, [%r1+0]\nldxw %r0, [%r1+32767]\nldxdw %r0, [%r1-32768]\nexit"}, []Instruction{
			{Opcode: ClassLDX | ModeMEM | SizeB, Src: R1},
			{Opcode: ClassLDX | ModeMEM | SizeH, Src: R1},
			{Opcode: ClassLDX | ModeMEM | SizeW, Src: R1, Offset: 32767},
			{Opcode: ClassLDX | ModeMEM | SizeDW, Src: R1, Offset: -32768},
			exit,
		}},
		{"atomics", []string{"lock add [%r1], %r2\nlock fetch xor32 [%r1+4], %r2\nlock xchg64 [%r1], %r2\nlock cmpxchg32 [%r1], %r2\nexit"}, []Instruction{
			{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicAdd},
			{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Offset: 4, Imm: AtomicXor | AtomicFetch},
			{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicXchg},
			{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Imm: AtomicCmpXchg},
			exit,
		}},
		{"negative and hex immediates", []string{
			"mov %r0, -1\nexit",
			"mov %r0, 0xffffffff\nexit",
			"mov %r0, 4294967295\nexit",
			"mov %r0, -0x1\nexit",
		}, []Instruction{{Opcode: ClassALU64 | ALUMov, Imm: -1}, exit}},
		{"explicit plus sign", []string{
			"mov %r0, +0x7fffffff\nstw [%r1+0x7fff], +1\nexit",
			"mov %r0, 2147483647\nstw [%r1+32767], 1\nexit",
		}, []Instruction{
			{Opcode: ClassALU64 | ALUMov, Imm: 0x7fffffff},
			{Opcode: ClassST | ModeMEM | SizeW, Dst: R1, Offset: 0x7fff, Imm: 1},
			exit,
		}},
		{"int32 minimum", []string{
			"mov32 %r0, 0x80000000\nexit",
			"mov32 %r0, -0x80000000\nexit",
			"mov32 %r0, -2147483648\nexit",
			"mov32 %r0, 2147483648\nexit",
		}, []Instruction{{Opcode: ClassALU | ALUMov, Imm: -0x80000000}, exit}},
		{"lddw constants", []string{
			"lddw %r0, 0xffffffffffffffff\nexit",
			"lddw %r0, -1\nexit",
			"lddw %r0, 18446744073709551615\nexit",
		}, []Instruction{{Opcode: OpLDDW, Imm: -1}, {Imm: -1}, exit}},
		{"lddw pseudo sources", []string{
			"lddw %r1, map_fd:3\nlddw %r1, map_value:3+8\nlddw %r1, map_idx:1\nlddw %r1, map_idx_value:1+4\nlddw %r1, btf_id:9\nlddw %r1, func:fn\nexit\nfn: exit",
			"lddw %r1, map_fd:0x3\nlddw %r1, map_value:3+0x8\nlddw %r1, map_idx:1\nlddw %r1, map_idx_value:1+4\nlddw %r1, btf_id:9\nlddw %r1, func:+2\nexit\nexit",
		}, []Instruction{
			{Opcode: OpLDDW, Dst: R1, Src: PseudoMapFD, Imm: 3}, {},
			{Opcode: OpLDDW, Dst: R1, Src: PseudoMapValue, Imm: 8<<32 | 3}, {Imm: 8},
			{Opcode: OpLDDW, Dst: R1, Src: PseudoMapIdx, Imm: 1}, {},
			{Opcode: OpLDDW, Dst: R1, Src: PseudoMapIdxVal, Imm: 4<<32 | 1}, {Imm: 4},
			{Opcode: OpLDDW, Dst: R1, Src: PseudoBTFID, Imm: 9}, {},
			{Opcode: OpLDDW, Dst: R1, Src: PseudoFunc, Imm: 2}, {},
			exit, exit,
		}},
		{"lddw pseudo without offset", []string{
			"lddw %r1, map_value:3\nexit",
			"lddw %r1, map_value:3+0\nexit",
		}, []Instruction{{Opcode: OpLDDW, Dst: R1, Src: PseudoMapValue, Imm: 3}, {}, exit}},
		{"lddw func backwards", []string{
			"fn: mov %r0, 0\nlddw %r1, func:fn\nexit",
			"mov %r0, 0\nlddw %r1, func:-2\nexit",
		}, []Instruction{{Opcode: ClassALU64 | ALUMov}, {Opcode: OpLDDW, Dst: R1, Src: PseudoFunc, Imm: 0xfffffffe}, {}, exit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assembleEqual(t, tt.srcs...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Assemble(%q) =\n%v\nwant\n%v", tt.srcs[0], got, tt.want)
			}
		})
	}
}

func TestAssembleFarJump(t *testing.T) {
	insns, err := Assemble("ja32 far\n" + strings.Repeat("mov %r0, 0\n", 40000) + "far: exit")
	if err != nil {
		t.Fatal(err)
	}
	if insns[0] != (Instruction{Opcode: OpJA32, Imm: 40000}) {
		t.Errorf("ja32 = %v", insns[0])
	}
	// 32767 instructions ahead is the farthest a conditional jump reaches.
	insns, err = Assemble("jeq %r1, 0, far\n" + strings.Repeat("mov %r0, 0\n", 32767) + "far: exit")
	if err != nil {
		t.Fatal(err)
	}
	if insns[0].Offset != 32767 {
		t.Errorf("jeq offset = %d", insns[0].Offset)
	}
}

func TestSyntaxErrorString(t *testing.T) {
	_, err := Assemble("exit\n  frob %r1  \n")
	want := `line 2: unknown mnemonic "frob": "frob %r1"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// Validation errors of assembled programs point at the source line.
func TestAssembleValidationErrorLine(t *testing.T) {
	_, err := Assemble("mov %r0, 1\n\n# comment\nja +1\nlddw %r0, 1\nexit\n")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 4 || !strings.Contains(se.Error(), "line 4: instruction 1 (ja +1): jump target 3 is the second half of the lddw at 2") {
		t.Errorf("got %v", err)
	}
}

func TestAssembleLenientOperands(t *testing.T) {
	got, err := Assemble("mov %r1, r2\nldxdw %r0, [%r1 + 8]\nstxw [ r10 - 4 ], %r0\nexit")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Assemble("mov %r1, %r2\nldxdw %r0, [%r1+8]\nstxw [%r10-4], %r0\nexit")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
