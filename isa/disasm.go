package isa

import (
	"fmt"
	"strconv"
	"strings"
)

var aluNames = map[uint8]string{
	ALUAdd: "add", ALUSub: "sub", ALUMul: "mul", ALUDiv: "div", ALUOr: "or",
	ALUAnd: "and", ALULsh: "lsh", ALURsh: "rsh", ALUNeg: "neg", ALUMod: "mod",
	ALUXor: "xor", ALUMov: "mov", ALUArsh: "arsh",
}

var jumpNames = map[uint8]string{
	JumpEQ: "jeq", JumpGT: "jgt", JumpGE: "jge", JumpSET: "jset", JumpNE: "jne",
	JumpSGT: "jsgt", JumpSGE: "jsge", JumpLT: "jlt", JumpLE: "jle", JumpSLT: "jslt", JumpSLE: "jsle",
}

var atomicNames = map[int64]string{
	AtomicAdd: "add", AtomicOr: "or", AtomicAnd: "and", AtomicXor: "xor",
	AtomicXchg: "xchg", AtomicCmpXchg: "cmpxchg",
}

var sizeSuffix = map[uint8]string{SizeB: "b", SizeH: "h", SizeW: "w", SizeDW: "dw"}

// String returns the instruction in the assembler syntax of the
// bpf_conformance suite, with relative jump targets ("+3").
func (ins Instruction) String() string { return ins.format(nil) }

// immString prints a 32-bit immediate the way people write it: small values
// in signed decimal, others in hex.
func immString(v int64) string {
	if v >= -0xffff && v <= 0xffff {
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprintf("0x%x", uint32(v))
}

func offString(off int64) string {
	if off < 0 {
		return strconv.FormatInt(off, 10)
	}
	return "+" + strconv.FormatInt(off, 10)
}

func memString(r Register, off int16) string {
	if off == 0 {
		return fmt.Sprintf("[%%r%d]", r)
	}
	return fmt.Sprintf("[%%r%d%s]", r, offString(int64(off)))
}

// format renders ins; target, when non-nil, renders a jump offset (relative to
// the next instruction) as a label instead of a number.
func (ins Instruction) format(target func(rel int64) string) string {
	rel := func(off int64) string {
		if target != nil {
			return target(off)
		}
		return offString(off)
	}
	op := ins.Opcode
	switch op.Class() {
	case ClassLD:
		if op != OpLDDW {
			return fmt.Sprintf(".invalid 0x%02x", uint8(op))
		}
		switch ins.Src {
		case PseudoImm64:
			return fmt.Sprintf("lddw %%r%d, 0x%x", ins.Dst, uint64(ins.Imm))
		case PseudoMapFD:
			return fmt.Sprintf("lddw %%r%d, map_fd:%d", ins.Dst, int32(ins.Imm))
		case PseudoMapValue:
			return fmt.Sprintf("lddw %%r%d, map_value:%d+%d", ins.Dst, int32(ins.Imm), uint32(uint64(ins.Imm)>>32))
		case PseudoBTFID:
			return fmt.Sprintf("lddw %%r%d, btf_id:%d", ins.Dst, int32(ins.Imm))
		case PseudoFunc:
			return fmt.Sprintf("lddw %%r%d, func:%s", ins.Dst, rel(int64(int32(ins.Imm))))
		case PseudoMapIdx:
			return fmt.Sprintf("lddw %%r%d, map_idx:%d", ins.Dst, int32(ins.Imm))
		case PseudoMapIdxVal:
			return fmt.Sprintf("lddw %%r%d, map_idx_value:%d+%d", ins.Dst, int32(ins.Imm), uint32(uint64(ins.Imm)>>32))
		}
		return fmt.Sprintf(".invalid lddw source %d", ins.Src)
	case ClassLDX:
		s := "ldx"
		if op.Mode() == ModeMEMSX {
			s = "ldxs"
		}
		return fmt.Sprintf("%s%s %%r%d, %s", s, sizeSuffix[op.Size()], ins.Dst, memString(ins.Src, ins.Offset))
	case ClassST:
		return fmt.Sprintf("st%s %s, %s", sizeSuffix[op.Size()], memString(ins.Dst, ins.Offset), immString(ins.Imm))
	case ClassSTX:
		if op.Mode() == ModeATOMIC {
			name, ok := atomicNames[ins.Imm&^AtomicFetch]
			if ins.Imm == AtomicXchg || ins.Imm == AtomicCmpXchg {
				name, ok = atomicNames[ins.Imm]
			}
			if !ok {
				return fmt.Sprintf(".invalid atomic 0x%x", ins.Imm)
			}
			fetch := ""
			if ins.Imm&AtomicFetch != 0 && ins.Imm != AtomicXchg && ins.Imm != AtomicCmpXchg {
				fetch = "fetch "
			}
			if op.Size() == SizeW {
				name += "32"
			}
			return fmt.Sprintf("lock %s%s %s, %%r%d", fetch, name, memString(ins.Dst, ins.Offset), ins.Src)
		}
		return fmt.Sprintf("stx%s %s, %%r%d", sizeSuffix[op.Size()], memString(ins.Dst, ins.Offset), ins.Src)
	case ClassALU, ClassALU64:
		suffix := ""
		if op.Class() == ClassALU {
			suffix = "32"
		}
		switch op.Op() {
		case ALUNeg:
			if op.Source() != SrcK {
				return fmt.Sprintf(".invalid 0x%02x", uint8(op))
			}
			return fmt.Sprintf("neg%s %%r%d", suffix, ins.Dst)
		case ALUEnd:
			if op.Class() == ClassALU64 && op.Source() != SrcK {
				return fmt.Sprintf(".invalid 0x%02x", uint8(op))
			}
			name := "le"
			switch {
			case op.Class() == ClassALU64:
				name = "bswap"
			case op.Source() == SrcX:
				name = "be"
			}
			return fmt.Sprintf("%s%d %%r%d", name, ins.Imm, ins.Dst)
		}
		name, ok := aluNames[op.Op()]
		if !ok {
			return fmt.Sprintf(".invalid 0x%02x", uint8(op))
		}
		if ins.IsSignedDivMod() {
			name = "s" + name
		}
		if bits, ok := ins.IsMovSX(); ok {
			name = fmt.Sprintf("movsx%d", bits)
			if suffix == "" {
				suffix = "64"
			}
		}
		if op.Source() == SrcX {
			return fmt.Sprintf("%s%s %%r%d, %%r%d", name, suffix, ins.Dst, ins.Src)
		}
		return fmt.Sprintf("%s%s %%r%d, %s", name, suffix, ins.Dst, immString(ins.Imm))
	case ClassJMP, ClassJMP32:
		suffix := ""
		if op.Class() == ClassJMP32 {
			suffix = "32"
		}
		switch op.Op() {
		case JumpA:
			if suffix != "" {
				return "ja32 " + rel(int64(int32(ins.Imm)))
			}
			return "ja " + rel(int64(ins.Offset))
		case JumpExit:
			return "exit"
		case JumpCall:
			switch {
			case op.Source() == SrcX:
				return fmt.Sprintf("call %%r%d", ins.Dst)
			case ins.Src == CallLocal:
				return "call local " + rel(int64(int32(ins.Imm)))
			case ins.Src == CallKfunc:
				return fmt.Sprintf("call runtime %d", int32(ins.Imm))
			}
			return fmt.Sprintf("call %d", int32(ins.Imm))
		}
		name, ok := jumpNames[op.Op()]
		if !ok {
			return fmt.Sprintf(".invalid 0x%02x", uint8(op))
		}
		if op.Source() == SrcX {
			return fmt.Sprintf("%s%s %%r%d, %%r%d, %s", name, suffix, ins.Dst, ins.Src, rel(int64(ins.Offset)))
		}
		return fmt.Sprintf("%s%s %%r%d, %s, %s", name, suffix, ins.Dst, immString(ins.Imm), rel(int64(ins.Offset)))
	}
	return fmt.Sprintf(".invalid 0x%02x", uint8(op))
}

// Disassemble renders a program as assembler text that Assemble turns back
// into the same instructions. Jump and call targets become labels (L<index>)
// so the text stays readable and editable.
func Disassemble(insns []Instruction) string {
	var b strings.Builder
	for _, l := range DisassembleLines(insns, nil) {
		if l.Label != "" {
			b.WriteString(l.Label)
			b.WriteString(":\n")
		}
		if l.Text != "" {
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Line is one disassembled instruction slot.
type Line struct {
	Index int    // slot index
	Label string // label of this slot when something jumps here, else ""
	Text  string // the instruction; empty for the second slot of an lddw
}

// DisassembleLines renders each slot of a program with labels for jump and
// call targets, for tools that lay out their own listing. names, which may
// be nil, gives labels to use for some slots (function names from an
// object's symbols); other targets are labelled L<index>.
func DisassembleLines(insns []Instruction, names map[int]string) []Line {
	labels := map[int]string{}
	mark := func(t int) {
		if t < 0 || t >= len(insns) {
			return
		}
		if name, ok := names[t]; ok && isIdent(name) {
			labels[t] = name
		} else {
			labels[t] = "L" + strconv.Itoa(t)
		}
	}
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		if t, ok := ins.Branch(i); ok {
			mark(t)
		}
		if ins.IsLDDW() && ins.Src == PseudoFunc {
			mark(i + 1 + int(int32(ins.Imm)))
		}
		i += ins.Width() - 1
	}
	out := make([]Line, 0, len(insns))
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		pc := i
		text := ins.format(func(rel int64) string {
			if l, ok := labels[pc+1+int(rel)]; ok {
				return l
			}
			return offString(rel)
		})
		out = append(out, Line{Index: i, Label: labels[i], Text: text})
		if ins.IsLDDW() && i+1 < len(insns) {
			i++
			out = append(out, Line{Index: i, Label: labels[i]})
		}
	}
	return out
}
