package isa

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SyntaxError is an assembler error tied to a line of the source.
type SyntaxError struct {
	Line int    // 1-based line number
	Text string // the line as written
	Msg  string
	// Err is the validation error (an *Error) when the line parsed but the
	// instruction it produced is invalid.
	Err error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %s: %q", e.Line, e.Msg, strings.TrimSpace(e.Text))
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// fixup is a jump, call or function load whose target is a label.
type fixup struct {
	slot  int
	label string
	line  int
	text  string
}

type assembler struct {
	insns  []Instruction
	labels map[string]int
	// firstExit is the slot of the first exit, which the conformance suite's
	// files may jump to as the label "exit" without defining it.
	firstExit int
	fixups    []fixup
	line      int
	text      string
	slotLine  []int // source line of each slot
}

// Assemble turns assembler text in the syntax of the bpf_conformance suite
// into validated instructions:
//
//	mov %r0, 1              add32 %r1, %r2           neg %r3
//	ldxdw %r0, [%r1+2]      stw [%r10-4], 7          stxb [%r1], %r2
//	lddw %r0, 0x1122334455667788
//	lock fetch add [%r10-8], %r1    lock cmpxchg32 [%r1], %r2
//	jeq %r1, 5, L1          ja -3                    ja32 done
//	call 5                  call local func          call %r2
//	exit                    L1:                      # comments
//
// Labels name the next instruction; "exit" names the first exit when no such
// label is defined. lddw also takes map_fd:N, map_value:N+OFF, map_idx:N,
// map_idx_value:N+OFF, btf_id:N and func:LABEL operands.
func Assemble(src string) ([]Instruction, error) {
	a := &assembler{labels: map[string]int{}, firstExit: -1}
	lines := strings.Split(src, "\n")
	for n, raw := range lines {
		a.line, a.text = n+1, raw
		line := raw
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		// Labels, possibly followed by an instruction on the same line.
		for {
			i := strings.IndexByte(line, ':')
			if i < 0 || strings.ContainsAny(line[:i], " \t,[") {
				break
			}
			name := line[:i]
			if !isIdent(name) {
				return nil, a.errorf("invalid label name %q", name)
			}
			if _, dup := a.labels[name]; dup {
				return nil, a.errorf("label %q is defined twice", name)
			}
			a.labels[name] = len(a.insns)
			line = strings.TrimSpace(line[i+1:])
		}
		if line == "" {
			continue
		}
		if err := a.instruction(line); err != nil {
			return nil, err
		}
	}
	if len(a.insns) == 0 {
		return nil, fmt.Errorf("no instructions")
	}
	for _, f := range a.fixups {
		target, ok := a.labels[f.label]
		if !ok && f.label == "exit" && a.firstExit >= 0 {
			target, ok = a.firstExit, true
		}
		if !ok {
			return nil, &SyntaxError{Line: f.line, Text: f.text, Msg: fmt.Sprintf("undefined label %q", f.label)}
		}
		rel := target - f.slot - 1
		ins := &a.insns[f.slot]
		if ins.Opcode == OpJA || ins.IsConditionalJump() {
			if rel < math.MinInt16 || rel > math.MaxInt16 {
				return nil, &SyntaxError{Line: f.line, Text: f.text, Msg: fmt.Sprintf("label %q is %d instructions away, beyond the reach of a 16-bit offset (use ja32)", f.label, rel)}
			}
			ins.Offset = int16(rel)
		} else if ins.IsLDDW() {
			ins.Imm = int64(uint32(int32(rel)))
		} else {
			ins.Imm = int64(int32(rel))
		}
	}
	if err := Validate(a.insns); err != nil {
		if e, ok := err.(*Error); ok && e.Index < len(a.slotLine) {
			line := a.slotLine[e.Index]
			return nil, &SyntaxError{Line: line, Text: lines[line-1], Err: e,
				Msg: fmt.Sprintf("instruction %d (%s): %s", e.Index, e.Instruction, e.Reason)}
		}
		return nil, err
	}
	return a.insns, nil
}

func (a *assembler) errorf(format string, args ...any) error {
	return &SyntaxError{Line: a.line, Text: a.text, Msg: fmt.Sprintf(format, args...)}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

func (a *assembler) emit(ins Instruction) {
	a.insns = append(a.insns, ins)
	a.slotLine = append(a.slotLine, a.line)
	if ins.IsLDDW() {
		a.insns = append(a.insns, Instruction{Imm: int64(int32(uint64(ins.Imm) >> 32))})
		a.slotLine = append(a.slotLine, a.line)
	}
}

// splitOperands splits "a, b, c" into trimmed operands.
func splitOperands(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

var aluByName = map[string]uint8{
	"add": ALUAdd, "sub": ALUSub, "mul": ALUMul, "div": ALUDiv, "sdiv": ALUDiv,
	"or": ALUOr, "and": ALUAnd, "lsh": ALULsh, "rsh": ALURsh, "mod": ALUMod,
	"smod": ALUMod, "xor": ALUXor, "mov": ALUMov, "arsh": ALUArsh,
}

var jumpByName = map[string]uint8{
	"jeq": JumpEQ, "jgt": JumpGT, "jge": JumpGE, "jset": JumpSET, "jne": JumpNE,
	"jsgt": JumpSGT, "jsge": JumpSGE, "jlt": JumpLT, "jle": JumpLE, "jslt": JumpSLT, "jsle": JumpSLE,
}

var sizeByName = map[string]uint8{"b": SizeB, "h": SizeH, "w": SizeW, "dw": SizeDW}

var atomicByName = map[string]int64{
	"add": AtomicAdd, "or": AtomicOr, "and": AtomicAnd, "xor": AtomicXor,
	"xchg": AtomicXchg, "cmpxchg": AtomicCmpXchg,
}

func (a *assembler) instruction(line string) error {
	mnemonic, rest := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		mnemonic, rest = line[:i], line[i+1:]
	}
	mnemonic = strings.ToLower(mnemonic)
	rest = strings.TrimSpace(rest)
	ops := splitOperands(rest)

	switch mnemonic {
	case "exit":
		if err := a.want(ops, 0); err != nil {
			return err
		}
		if a.firstExit < 0 {
			a.firstExit = len(a.insns)
		}
		a.emit(Instruction{Opcode: OpExit})
		return nil
	case "call":
		return a.call(rest)
	case "callx":
		r, err := a.reg(rest)
		if err != nil {
			return err
		}
		a.emit(Instruction{Opcode: OpCallX, Dst: r})
		return nil
	case "ja", "ja32":
		if err := a.want(ops, 1); err != nil {
			return err
		}
		ins := Instruction{Opcode: OpJA}
		if mnemonic == "ja32" {
			ins.Opcode = OpJA32
		}
		off, err := a.target(ops[0], ins.Opcode == OpJA)
		if err != nil {
			return err
		}
		if ins.Opcode == OpJA {
			ins.Offset = int16(off)
		} else {
			ins.Imm = off
		}
		a.emit(ins)
		return nil
	case "lddw":
		return a.lddw(ops)
	case "lock":
		return a.atomic(rest)
	}

	// Conditional jumps: jeq, jeq32, ...
	base, is32 := strings.CutSuffix(mnemonic, "32")
	if op, ok := jumpByName[base]; ok {
		if err := a.want(ops, 3); err != nil {
			return err
		}
		class := uint8(ClassJMP)
		if is32 {
			class = ClassJMP32
		}
		dst, err := a.reg(ops[0])
		if err != nil {
			return err
		}
		ins := Instruction{Opcode: Opcode(class | op), Dst: dst}
		if err := a.source(&ins, ops[1]); err != nil {
			return err
		}
		off, err := a.target(ops[2], true)
		if err != nil {
			return err
		}
		ins.Offset = int16(off)
		a.emit(ins)
		return nil
	}

	// Loads and stores: ldxw, ldxsb, stw, stxdw.
	if ins, ok, err := a.loadStore(mnemonic, ops); ok || err != nil {
		if err != nil {
			return err
		}
		a.emit(ins)
		return nil
	}

	// Byte swaps: le16, be32, bswap64 (also swap64).
	for _, p := range []struct {
		prefix string
		opcode Opcode
	}{{"le", ClassALU | ALUEnd | SrcK}, {"be", ClassALU | ALUEnd | SrcX}, {"bswap", ClassALU64 | ALUEnd | SrcK}, {"swap", ClassALU64 | ALUEnd | SrcK}} {
		if w, ok := strings.CutPrefix(mnemonic, p.prefix); ok && (w == "16" || w == "32" || w == "64") {
			if err := a.want(ops, 1); err != nil {
				return err
			}
			dst, err := a.reg(ops[0])
			if err != nil {
				return err
			}
			width, _ := strconv.Atoi(w)
			a.emit(Instruction{Opcode: p.opcode, Dst: dst, Imm: int64(width)})
			return nil
		}
	}

	return a.alu(mnemonic, ops)
}

func (a *assembler) alu(mnemonic string, ops []string) error {
	class := uint8(ClassALU64)
	name := mnemonic
	if base, ok := strings.CutSuffix(mnemonic, "32"); ok && !strings.HasPrefix(mnemonic, "movsx") {
		class, name = ClassALU, base
	} else if base, ok := strings.CutSuffix(mnemonic, "64"); ok && !strings.HasPrefix(mnemonic, "movsx") {
		name = base
	}
	var off int16
	if rest, ok := strings.CutPrefix(name, "movsx"); ok {
		// movsx<from><to>: movsx832, movsx1664, movsx3264, ...
		var from, to string
		switch {
		case len(rest) == 3:
			from, to = rest[:1], rest[1:]
		case len(rest) == 4:
			from, to = rest[:2], rest[2:]
		default:
			return a.errorf("unknown mnemonic %q", mnemonic)
		}
		switch to {
		case "32":
			class = ClassALU
		case "64":
			class = ClassALU64
		default:
			return a.errorf("unknown mnemonic %q", mnemonic)
		}
		bits, err := strconv.Atoi(from)
		if err != nil {
			return a.errorf("unknown mnemonic %q", mnemonic)
		}
		off, name = int16(bits), "mov"
	}
	if name == "neg" {
		if err := a.want(ops, 1); err != nil {
			return err
		}
		dst, err := a.reg(ops[0])
		if err != nil {
			return err
		}
		a.emit(Instruction{Opcode: Opcode(class | ALUNeg), Dst: dst})
		return nil
	}
	op, ok := aluByName[name]
	if !ok {
		return a.errorf("unknown mnemonic %q", mnemonic)
	}
	if name == "sdiv" || name == "smod" {
		off = 1
	}
	if err := a.want(ops, 2); err != nil {
		return err
	}
	dst, err := a.reg(ops[0])
	if err != nil {
		return err
	}
	ins := Instruction{Opcode: Opcode(class | op), Dst: dst, Offset: off}
	if err := a.source(&ins, ops[1]); err != nil {
		return err
	}
	if off != 0 && name == "mov" && ins.Opcode.Source() != SrcX {
		return a.errorf("%s needs a source register", mnemonic)
	}
	a.emit(ins)
	return nil
}

func (a *assembler) loadStore(mnemonic string, ops []string) (Instruction, bool, error) {
	var class, mode uint8
	var rest string
	switch {
	case strings.HasPrefix(mnemonic, "ldxs"):
		class, mode, rest = ClassLDX, ModeMEMSX, mnemonic[4:]
		if rest == "dw" {
			return Instruction{}, false, nil
		}
	case strings.HasPrefix(mnemonic, "ldx"):
		class, mode, rest = ClassLDX, ModeMEM, mnemonic[3:]
	case strings.HasPrefix(mnemonic, "stx"):
		class, mode, rest = ClassSTX, ModeMEM, mnemonic[3:]
	case strings.HasPrefix(mnemonic, "st"):
		class, mode, rest = ClassST, ModeMEM, mnemonic[2:]
	default:
		return Instruction{}, false, nil
	}
	size, ok := sizeByName[rest]
	if !ok {
		return Instruction{}, false, nil
	}
	if err := a.want(ops, 2); err != nil {
		return Instruction{}, true, err
	}
	ins := Instruction{Opcode: Opcode(class | mode | size)}
	var err error
	switch class {
	case ClassLDX:
		if ins.Dst, err = a.reg(ops[0]); err != nil {
			return ins, true, err
		}
		ins.Src, ins.Offset, err = a.mem(ops[1])
	case ClassST:
		if ins.Dst, ins.Offset, err = a.mem(ops[0]); err != nil {
			return ins, true, err
		}
		ins.Imm, err = a.imm32(ops[1])
	case ClassSTX:
		if ins.Dst, ins.Offset, err = a.mem(ops[0]); err != nil {
			return ins, true, err
		}
		ins.Src, err = a.reg(ops[1])
	}
	return ins, true, err
}

// atomic parses "lock [fetch] op[32] [reg+off], reg".
func (a *assembler) atomic(rest string) error {
	words := strings.Fields(rest)
	fetch := false
	if len(words) > 0 && strings.EqualFold(words[0], "fetch") {
		fetch = true
		words = words[1:]
	}
	if len(words) == 0 {
		return a.errorf("lock needs an operation: lock [fetch] add|or|and|xor|xchg|cmpxchg[32] [reg+off], reg")
	}
	name := strings.ToLower(words[0])
	size := uint8(SizeDW)
	if base, ok := strings.CutSuffix(name, "32"); ok {
		name, size = base, SizeW
	} else if base, ok := strings.CutSuffix(name, "64"); ok {
		name = base
	}
	imm, ok := atomicByName[name]
	if !ok {
		return a.errorf("unknown atomic operation %q", words[0])
	}
	if fetch {
		if imm == AtomicXchg || imm == AtomicCmpXchg {
			return a.errorf("%s always fetches; drop \"fetch\"", name)
		}
		imm |= AtomicFetch
	}
	ops := splitOperands(strings.Join(words[1:], " "))
	if err := a.want(ops, 2); err != nil {
		return err
	}
	dst, off, err := a.mem(ops[0])
	if err != nil {
		return err
	}
	src, err := a.reg(ops[1])
	if err != nil {
		return err
	}
	a.emit(Instruction{Opcode: Opcode(ClassSTX | ModeATOMIC | size), Dst: dst, Src: src, Offset: off, Imm: imm})
	return nil
}

// call parses "call N", "call helper N", "call local TARGET",
// "call runtime N" and "call %rN".
func (a *assembler) call(rest string) error {
	words := strings.Fields(rest)
	kind := "helper"
	if len(words) == 2 {
		kind, words = strings.ToLower(words[0]), words[1:]
	}
	if len(words) != 1 {
		return a.errorf("call takes one target: call N, call local LABEL, call runtime N or call %%rN")
	}
	target := words[0]
	switch kind {
	case "helper":
		if strings.HasPrefix(target, "%") {
			r, err := a.reg(target)
			if err != nil {
				return err
			}
			a.emit(Instruction{Opcode: OpCallX, Dst: r})
			return nil
		}
		id, err := a.imm32(target)
		if err != nil {
			return err
		}
		a.emit(Instruction{Opcode: OpCall, Src: CallHelper, Imm: id})
	case "runtime", "kfunc":
		id, err := a.imm32(target)
		if err != nil {
			return err
		}
		a.emit(Instruction{Opcode: OpCall, Src: CallKfunc, Imm: id})
	case "local":
		off, err := a.target(target, false)
		if err != nil {
			return err
		}
		a.emit(Instruction{Opcode: OpCall, Src: CallLocal, Imm: off})
	default:
		return a.errorf("unknown call kind %q (helper, local or runtime)", kind)
	}
	return nil
}

func (a *assembler) lddw(ops []string) error {
	if err := a.want(ops, 2); err != nil {
		return err
	}
	dst, err := a.reg(ops[0])
	if err != nil {
		return err
	}
	ins := Instruction{Opcode: OpLDDW, Dst: dst}
	kind, val, pseudo := strings.Cut(ops[1], ":")
	if !pseudo {
		v, err := parseInt(ops[1], 64)
		if err != nil {
			return a.errorf("bad 64-bit immediate %q: %v", ops[1], err)
		}
		ins.Imm = v
		a.emit(ins)
		return nil
	}
	// map_value:3+8 and map_idx_value:0+8 carry an offset in the high half.
	parseRef := func(withOffset bool) (int64, error) {
		ref, off := val, "0"
		if withOffset {
			if i := strings.LastIndexByte(val, '+'); i > 0 {
				ref, off = val[:i], val[i+1:]
			}
		}
		r, err := parseInt(ref, 32)
		if err != nil {
			return 0, a.errorf("bad %s operand %q: %v", kind, val, err)
		}
		o, err := parseInt(off, 32)
		if err != nil {
			return 0, a.errorf("bad %s offset %q: %v", kind, off, err)
		}
		return int64(uint64(uint32(r)) | uint64(uint32(o))<<32), nil
	}
	switch kind {
	case "map_fd":
		ins.Src = PseudoMapFD
		ins.Imm, err = parseRef(false)
	case "map_value":
		ins.Src = PseudoMapValue
		ins.Imm, err = parseRef(true)
	case "map_idx":
		ins.Src = PseudoMapIdx
		ins.Imm, err = parseRef(false)
	case "map_idx_value":
		ins.Src = PseudoMapIdxVal
		ins.Imm, err = parseRef(true)
	case "btf_id":
		ins.Src = PseudoBTFID
		ins.Imm, err = parseRef(false)
	case "func":
		ins.Src = PseudoFunc
		var off int64
		off, err = a.target(val, false)
		ins.Imm = int64(uint32(int32(off)))
	default:
		return a.errorf("unknown lddw operand kind %q (map_fd, map_value, map_idx, map_idx_value, btf_id, func)", kind)
	}
	if err != nil {
		return err
	}
	a.emit(ins)
	return nil
}

func (a *assembler) want(ops []string, n int) error {
	if len(ops) != n {
		return a.errorf("expected %d operand(s), found %d", n, len(ops))
	}
	return nil
}

func (a *assembler) reg(s string) (Register, error) {
	s = strings.TrimSpace(s)
	name := strings.TrimPrefix(strings.ToLower(s), "%")
	if name == "fp" {
		return R10, nil
	}
	if n, ok := strings.CutPrefix(name, "r"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 0 && v <= 10 && strconv.Itoa(v) == n {
			return Register(v), nil
		}
	}
	return 0, a.errorf("invalid register %q (registers are %%r0 to %%r10)", s)
}

// source sets the second operand of an ALU or jump: a register or an imm.
func (a *assembler) source(ins *Instruction, s string) error {
	if isRegister(s) {
		r, err := a.reg(s)
		if err != nil {
			return err
		}
		ins.Opcode |= SrcX
		ins.Src = r
		return nil
	}
	v, err := a.imm32(s)
	if err != nil {
		return err
	}
	ins.Imm = v
	return nil
}

// isRegister reports whether an operand names a register ("%r1", "r1",
// "%fp") rather than an immediate.
func isRegister(s string) bool {
	s = strings.ToLower(strings.TrimPrefix(s, "%"))
	if s == "fp" {
		return true
	}
	n, ok := strings.CutPrefix(s, "r")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// imm32 parses an immediate that must fit 32 bits, written signed or
// unsigned ("-1" and "0xffffffff" are the same value), and returns it
// sign-extended.
func (a *assembler) imm32(s string) (int64, error) {
	v, err := parseInt(s, 32)
	if err != nil {
		return 0, a.errorf("bad immediate %q: %v", s, err)
	}
	return v, nil
}

// mem parses "[%rN]", "[%rN+off]" or "[%rN-off]".
func (a *assembler) mem(s string) (Register, int16, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return 0, 0, a.errorf("expected a memory operand like [%%r1+8], found %q", s)
	}
	in := strings.Join(strings.Fields(s[1:len(s)-1]), "")
	i := strings.IndexAny(in, "+-")
	if i < 0 {
		r, err := a.reg(in)
		return r, 0, err
	}
	r, err := a.reg(in[:i])
	if err != nil {
		return 0, 0, err
	}
	off, err := parseInt(strings.TrimSpace(in[i:]), 16)
	if err != nil {
		return 0, 0, a.errorf("bad offset in %q: %v", s, err)
	}
	return r, int16(off), nil
}

// target parses a jump target: "+N", "-N" or a label resolved later.
func (a *assembler) target(s string, short bool) (int64, error) {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		bits := 32
		if short {
			bits = 16
		}
		v, err := parseInt(s, bits)
		if err != nil {
			return 0, a.errorf("bad jump offset %q: %v", s, err)
		}
		return v, nil
	}
	if !isIdent(s) {
		return 0, a.errorf("bad jump target %q: expected +N, -N or a label", s)
	}
	a.fixups = append(a.fixups, fixup{slot: len(a.insns), label: s, line: a.line, text: a.text})
	return 0, nil
}

// parseInt parses a decimal or 0x-hex integer, optionally signed, that fits
// in bits as either a signed or an unsigned value (only as a signed one when
// written with a sign), and returns it sign-extended from that width.
func parseInt(s string, bits int) (int64, error) {
	s = strings.TrimSpace(s)
	neg, plus := false, false
	body := s
	if strings.HasPrefix(body, "-") {
		neg, body = true, body[1:]
	} else {
		body, plus = strings.CutPrefix(body, "+")
	}
	base := 10
	if strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X") {
		base, body = 16, body[2:]
	}
	if body == "" {
		return 0, fmt.Errorf("not a number")
	}
	u, err := strconv.ParseUint(body, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("does not fit in %d bits", bits)
		}
		return 0, fmt.Errorf("not a number")
	}
	if neg {
		if bits < 64 && u > 1<<(bits-1) || bits == 64 && u > 1<<63 {
			return 0, fmt.Errorf("does not fit in %d bits", bits)
		}
		return -int64(u), nil
	}
	// An explicit "+" makes the value signed: "+0xffff" is not -1.
	if plus && u > 1<<(bits-1)-1 {
		return 0, fmt.Errorf("does not fit in %d bits", bits)
	}
	if bits < 64 {
		if u >= 1<<bits {
			return 0, fmt.Errorf("does not fit in %d bits", bits)
		}
		// Sign-extend from the width: 0xffffffff is -1 as a 32-bit value.
		shift := 64 - bits
		return int64(u<<shift) >> shift, nil
	}
	return int64(u), nil
}
