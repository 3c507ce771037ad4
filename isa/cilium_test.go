package isa

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
)

func TestFromCilium(t *testing.T) {
	tests := []struct {
		name  string
		insns asm.Instructions
		want  []Instruction // without the exit FromCilium's input ends with
	}{
		{"mov imm", asm.Instructions{asm.Mov.Imm(asm.R0, -5)},
			[]Instruction{{Opcode: ClassALU64 | ALUMov | SrcK, Dst: R0, Imm: -5}}},
		{"add32 reg", asm.Instructions{asm.Add.Reg32(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU | ALUAdd | SrcX, Dst: R1, Src: R2}}},
		{"sdiv imm", asm.Instructions{asm.SDiv.Imm(asm.R1, 3)},
			[]Instruction{{Opcode: ClassALU64 | ALUDiv | SrcK, Dst: R1, Offset: 1, Imm: 3}}},
		{"sdiv32 reg", asm.Instructions{asm.SDiv.Reg32(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU | ALUDiv | SrcX, Dst: R1, Src: R2, Offset: 1}}},
		{"smod reg", asm.Instructions{asm.SMod.Reg(asm.R3, asm.R4)},
			[]Instruction{{Opcode: ClassALU64 | ALUMod | SrcX, Dst: R3, Src: R4, Offset: 1}}},
		{"smod32 imm", asm.Instructions{asm.SMod.Imm32(asm.R3, -7)},
			[]Instruction{{Opcode: ClassALU | ALUMod | SrcK, Dst: R3, Offset: 1, Imm: -7}}},
		{"sdiv by opcode", asm.Instructions{{
			OpCode:   asm.OpCode(asm.ALU64Class).SetALUOp(asm.SDiv).SetSource(asm.ImmSource),
			Dst:      asm.R1,
			Constant: 10,
		}}, []Instruction{{Opcode: ClassALU64 | ALUDiv | SrcK, Dst: R1, Offset: 1, Imm: 10}}},
		{"smod32 by opcode", asm.Instructions{{
			OpCode: asm.OpCode(asm.ALUClass).SetALUOp(asm.SMod).SetSource(asm.RegSource),
			Dst:    asm.R1,
			Src:    asm.R2,
		}}, []Instruction{{Opcode: ClassALU | ALUMod | SrcX, Dst: R1, Src: R2, Offset: 1}}},
		{"div stays unsigned", asm.Instructions{asm.Div.Imm(asm.R1, 3)},
			[]Instruction{{Opcode: ClassALU64 | ALUDiv | SrcK, Dst: R1, Imm: 3}}},
		{"movsx8", asm.Instructions{asm.MovSX8.Reg(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 8}}},
		{"movsx16", asm.Instructions{asm.MovSX16.Reg(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 16}}},
		{"movsx32", asm.Instructions{asm.MovSX32.Reg(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 32}}},
		{"movsx8 32-bit", asm.Instructions{asm.MovSX8.Reg32(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 8}}},
		{"movsx16 32-bit", asm.Instructions{asm.MovSX16.Reg32(asm.R1, asm.R2)},
			[]Instruction{{Opcode: ClassALU | ALUMov | SrcX, Dst: R1, Src: R2, Offset: 16}}},
		{"lddw", asm.Instructions{asm.LoadImm(asm.R1, 0x1122334455667788, asm.DWord)},
			[]Instruction{{Opcode: OpLDDW, Dst: R1, Imm: 0x1122334455667788}, {Imm: 0x11223344}}},
		{"lddw negative", asm.Instructions{asm.LoadImm(asm.R1, -2, asm.DWord)},
			[]Instruction{{Opcode: OpLDDW, Dst: R1, Imm: -2}, {Imm: -1}}},
		{"lddw map value", asm.Instructions{asm.LoadMapValue(asm.R2, 7, 16)},
			[]Instruction{{Opcode: OpLDDW, Dst: R2, Src: PseudoMapValue, Imm: 16<<32 | 7}, {Imm: 16}}},
		{"ldxw", asm.Instructions{asm.LoadMem(asm.R0, asm.R1, 4, asm.Word)},
			[]Instruction{{Opcode: ClassLDX | ModeMEM | SizeW, Dst: R0, Src: R1, Offset: 4}}},
		{"ldxsh", asm.Instructions{asm.LoadMemSX(asm.R0, asm.R1, -2, asm.Half)},
			[]Instruction{{Opcode: ClassLDX | ModeMEMSX | SizeH, Dst: R0, Src: R1, Offset: -2}}},
		{"stdw imm", asm.Instructions{{OpCode: asm.StoreImmOp(asm.DWord), Dst: asm.RFP, Offset: -8, Constant: 42}},
			[]Instruction{{Opcode: ClassST | ModeMEM | SizeDW, Dst: R10, Offset: -8, Imm: 42}}},
		{"stxb", asm.Instructions{asm.StoreMem(asm.RFP, -1, asm.R3, asm.Byte)},
			[]Instruction{{Opcode: ClassSTX | ModeMEM | SizeB, Dst: R10, Src: R3, Offset: -1}}},
		{"atomic add", asm.Instructions{asm.AddAtomic.Mem(asm.R1, asm.R2, asm.DWord, 8)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Offset: 8, Imm: AtomicAdd}}},
		{"atomic fetch xor32", asm.Instructions{asm.FetchXor.Mem(asm.R1, asm.R2, asm.Word, 0)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Imm: AtomicXor | AtomicFetch}}},
		{"atomic cmpxchg", asm.Instructions{asm.CmpXchg.Mem(asm.R1, asm.R2, asm.DWord, 0)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicCmpXchg}}},
		{"atomic xchg32", asm.Instructions{asm.Xchg.Mem(asm.R1, asm.R2, asm.Word, -8)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Offset: -8, Imm: AtomicXchg}}},
		{"atomic or", asm.Instructions{asm.OrAtomic.Mem(asm.R1, asm.R2, asm.DWord, 0)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicOr}}},
		{"xadd", asm.Instructions{asm.StoreXAdd(asm.R1, asm.R2, asm.Word)},
			[]Instruction{{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Imm: AtomicAdd}}},
		{"byte swap", asm.Instructions{asm.HostTo(asm.BE, asm.R1, asm.Half)},
			[]Instruction{{Opcode: ClassALU | ALUEnd | SrcX, Dst: R1, Imm: 16}}},
		{"jump with offset", asm.Instructions{{
			OpCode: asm.JEq.Op(asm.ImmSource), Dst: asm.R1, Constant: 0, Offset: 0,
		}}, []Instruction{{Opcode: ClassJMP | JumpEQ | SrcK, Dst: R1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(tt.insns, asm.Return())
			got, err := FromCilium(in)
			if err != nil {
				t.Fatalf("FromCilium(%v): %v", in, err)
			}
			want := append(tt.want, Instruction{Opcode: OpExit})
			if len(got) != len(want) {
				t.Fatalf("FromCilium = %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("slot %d = %v (%+v), want %v (%+v)", i, got[i], got[i], want[i], want[i])
				}
			}
		})
	}
}

func TestFromCiliumHelperCall(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cilium/ebpf's helper ids are platform tagged; FnMapLookupElem is a Linux helper")
	}
	got, err := FromCilium(asm.Instructions{
		asm.LoadMapPtr(asm.R1, 5),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.Return(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{
		{Opcode: OpLDDW, Dst: R1, Src: PseudoMapFD, Imm: 5}, {},
		{Opcode: ClassALU64 | ALUMov | SrcX, Dst: R2, Src: R10},
		{Opcode: ClassALU64 | ALUAdd | SrcK, Dst: R2, Imm: -4},
		{Opcode: OpCall, Src: CallHelper, Imm: 1},
		{Opcode: OpExit},
	}
	if len(got) != len(want) {
		t.Fatalf("FromCilium = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("slot %d = %v, want %v", i, got[i], want[i])
		}
	}
	if !got[4].IsHelperCall() || got[4].String() != "call 1" {
		t.Errorf("helper call = %v", got[4])
	}
}

func TestFromCiliumErrors(t *testing.T) {
	tests := []struct {
		name   string
		insns  asm.Instructions
		index  int // -1: not an *Error
		reason string
	}{
		{"invalid opcode", asm.Instructions{asm.Return(), {OpCode: asm.InvalidOpCode}}, -1, "instruction 1"},
		{"write r10", asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Mov.Reg(asm.RFP, asm.R1), asm.Return()}, 1, "r10 is the read-only frame pointer"},
		{"legacy packet access", asm.Instructions{asm.LoadAbs(14, asm.Half), asm.Return()}, 0, "is not supported"},
		{"jump outside", asm.Instructions{{OpCode: asm.Ja.Op(asm.ImmSource), Offset: 5}, asm.Return()}, 0, "jump target 6 is outside the program"},
		{"empty", nil, -1, "empty program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromCilium(tt.insns)
			if err == nil {
				t.Fatal("FromCilium accepted the program")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
			var e *Error
			if isErr := errors.As(err, &e); isErr != (tt.index >= 0) {
				t.Fatalf("error %v (%T): *Error %v, want %v", err, err, isErr, tt.index >= 0)
			}
			if e != nil && e.Index != tt.index {
				t.Errorf("Index = %d, want %d", e.Index, tt.index)
			}
		})
	}
}

// Instructions cilium/ebpf decoded from bytecode (as from an ELF file) carry
// the atomic operation both in the opcode and in Constant; the conversion
// must neither lose nor invent bits.
func TestFromCiliumUnmarshalled(t *testing.T) {
	tests := []struct {
		name   string
		code   []byte
		want   Instruction
		reason string // non-empty: FromCilium must fail with this
	}{
		{"fetch xor", raw(ClassSTX|ModeATOMIC|SizeW, 1, 2, 4, AtomicXor|AtomicFetch),
			Instruction{Opcode: ClassSTX | ModeATOMIC | SizeW, Dst: R1, Src: R2, Offset: 4, Imm: AtomicXor | AtomicFetch}, ""},
		{"cmpxchg", raw(ClassSTX|ModeATOMIC|SizeDW, 1, 2, 0, AtomicCmpXchg),
			Instruction{Opcode: ClassSTX | ModeATOMIC | SizeDW, Dst: R1, Src: R2, Imm: AtomicCmpXchg}, ""},
		{"sdiv", raw(ClassALU64|ALUDiv|SrcX, 1, 2, 1, 0),
			Instruction{Opcode: ClassALU64 | ALUDiv | SrcX, Dst: R1, Src: R2, Offset: 1}, ""},
		{"unknown atomic bits", raw(ClassSTX|ModeATOMIC|SizeDW, 1, 2, 0, 0x200), Instruction{}, "unknown atomic operation 0x200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insns, err := asm.AppendInstructions(nil, bytes.NewReader(code(tt.code, rawExit)), binary.LittleEndian, "linux")
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromCilium(insns)
			if tt.reason != "" {
				if err == nil || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("FromCilium = %v, %v; want an error containing %q", got, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want {
				t.Errorf("FromCilium = %v, want %v", got[0], tt.want)
			}
		})
	}
}

// Calls and function pointers that name a symbol are resolved.
func TestFromCiliumReferences(t *testing.T) {
	got, err := FromCilium(asm.Instructions{
		asm.Call.Label("fn"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("fn"),
		asm.Return(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != (Instruction{Opcode: OpCall, Src: CallLocal, Imm: 1}) {
		t.Errorf("call = %v, want call local +1", got[0])
	}
}
