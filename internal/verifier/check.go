package verifier

import (
	"fmt"
	"math"
	"sort"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/isa"
)

const (
	defaultMaxSteps = 1_000_000
	stackSize       = 512
	maxFrames       = 8
	// maxVarOff bounds the variable part of a pointer's offset, so that
	// offset arithmetic can never wrap.
	maxVarOff = 1 << 29
	// maxDonePerPC bounds the finished states kept at one instruction, and
	// maxStates all states kept, so memory stays bounded on programs with
	// many distinct paths. Unfinished states are the ones the paths still
	// pending need (a loop's iterations, until the loop is done), so they
	// count only against the total.
	maxDonePerPC = 64
	maxStates    = 1 << 16
	// maxLoopMisses is how many later arrivals an unfinished state is
	// compared with before it is dropped.
	maxLoopMisses = 8
	// maxKeptBytes bounds the memory of the states kept for pruning;
	// beyond it no more are kept (verification goes on, pruning less).
	maxKeptBytes = 64 << 20
	// maxPending bounds the paths waiting to be explored (as Linux's
	// limit on a sequence of jumps): each holds a state.
	maxPending = 8192
)

type stored struct {
	st    *state
	depth int
	done  bool
	// miss counts the states compared with this unfinished one that it
	// neither matched nor covered (see prune).
	miss int
}

// work is a path waiting to be explored.
type work struct {
	pc       int
	st       *state
	trace    *traceNode
	cbReturn bool // arriving back at a helper call from its callback
}

// traceNode is one step of a path, for Options.Log.
type traceNode struct {
	pc     int
	text   string
	parent *traceNode
}

type verifier struct {
	p        *Program
	opts     *Options
	res      *Result
	cfg      *cfg
	explored map[int][]*stored
	undone   []*stored
	pending  []work
	nextID   uint32
	maxSteps int
	log      bool
	kept     int // states kept in explored
	bytes    int // their memory, roughly
}

func newVerifier(p *Program, opts *Options, res *Result) *verifier {
	max := opts.MaxSteps
	if max <= 0 {
		max = defaultMaxSteps
	}
	return &verifier{p: p, opts: opts, res: res, explored: map[int][]*stored{}, maxSteps: max, log: opts.Log}
}

func (v *verifier) newID() uint32 {
	v.nextID++
	return v.nextID
}

func (v *verifier) run() *Error {
	c, err := analyze(v.p)
	if err != nil {
		return err
	}
	v.cfg = c
	v.pending = append(v.pending, work{pc: 0, st: v.initialState()})
	for len(v.pending) > 0 {
		w := v.pending[len(v.pending)-1]
		v.pending = v.pending[:len(v.pending)-1]
		v.markDone(len(v.pending))
		if err := v.explore(w); err != nil {
			return err
		}
	}
	return nil
}

// markDone marks the kept states whose every continuation has been
// explored: those kept while more paths were pending than now are.
func (v *verifier) markDone(pending int) {
	for len(v.undone) > 0 && v.undone[len(v.undone)-1].depth > pending {
		v.undone[len(v.undone)-1].done = true
		v.undone = v.undone[:len(v.undone)-1]
	}
}

func (v *verifier) initialState() *state {
	f := &frame{callsite: -1}
	f.regs[isa.R1] = reg{t: tCtx, s: zero64, origin: -1}
	if v.p.Type == nil || v.p.Type.Context.Size == 0 {
		f.regs[isa.R1] = reg{t: tScalar, s: unknownScalar(), origin: -1}
	}
	f.regs[isa.R10] = reg{t: tStack, s: zero64, origin: -1}
	return &state{frames: []*frame{f}}
}

// explore follows one path until it ends, is pruned or fails.
func (v *verifier) explore(w work) *Error {
	pc, st, trace := w.pc, w.st, w.trace
	cbReturn := w.cbReturn
	for {
		v.res.Steps++
		if v.res.Steps > v.maxSteps {
			return v.fail(trace, newError(KindTooComplex, pc, fmt.Sprintf("more than %d instructions processed over all paths: loops whose bound cannot be proven, or too many branches", v.maxSteps)))
		}
		if v.cfg.prune[pc] {
			pruned, err := v.prune(pc, st, cbReturn)
			if err != nil {
				return v.fail(trace, err)
			}
			if pruned {
				v.res.Pruned++
				return nil
			}
		}
		cbReturn = false
		next, err := v.exec(st, pc, trace)
		if len(v.pending) > maxPending {
			return v.fail(trace, newError(KindTooComplex, pc, fmt.Sprintf("more than %d branches wait to be explored", maxPending)))
		}
		if v.log {
			trace = &traceNode{pc: pc, text: v.describeStep(st, pc), parent: trace}
		}
		if err != nil {
			return v.fail(trace, err)
		}
		if next.pc < 0 {
			return nil
		}
		if next.cbReturn {
			cbReturn = true
		}
		pc = next.pc
	}
}

// prune compares the state with those kept at pc: a finished one covering
// it ends the path; an unfinished identical one is a loop that makes no
// progress. Otherwise the state is kept.
func (v *verifier) prune(pc int, st *state, cbReturn bool) (bool, *Error) {
	live := v.cfg.live[pc]
	list := v.explored[pc]
	for _, s := range list {
		// A finished state covering this one, or an unfinished one from an
		// earlier run of a callback (the helper bounds the runs, and that
		// run's exploration covers what this one would do), ends the path.
		if s.done || cbReturn || !sameActivation(s.st, st) {
			if s.st.subsumes(st, live, false) {
				return true, nil
			}
			continue
		}
		if s.st.subsumes(st, live, true) {
			return false, newError(KindInfiniteLoop, pc, "this loop never ends: the program comes back here in exactly the state it was in before, so nothing bounds it")
		}
		s.miss++
	}
	// An unfinished state that several later arrivals did not repeat is
	// an earlier iteration of a loop that makes progress: comparing each
	// new iteration with every earlier one would make a long loop cost
	// the square of its iterations, so it is dropped (as Linux drops
	// states that keep missing). A loop whose state comes back after more
	// iterations than that is not recognized as infinite; it still ends
	// at the budget of processed instructions.
	kept := list[:0]
	done := 0
	for _, s := range list {
		switch {
		case s.done:
			done++
		case s.miss > maxLoopMisses:
			v.kept--
			v.bytes -= s.st.size()
			continue
		}
		kept = append(kept, s)
	}
	list = kept
	if done >= maxDonePerPC {
		// Enough finished states here; drop the oldest.
		for i, s := range list {
			if s.done {
				list = append(list[:i], list[i+1:]...)
				v.kept--
				v.bytes -= s.st.size()
				break
			}
		}
	}
	v.explored[pc] = list
	if v.kept >= maxStates || v.bytes+st.size() > maxKeptBytes {
		return false, nil
	}
	v.kept++
	v.bytes += st.size()
	keep := st.clone()
	keep.forStore(live)
	s := &stored{st: keep, depth: len(v.pending)}
	v.explored[pc] = append(list, s)
	v.undone = append(v.undone, s)
	v.res.States++
	return false, nil
}

// fail attaches the path's log to an error.
func (v *verifier) fail(trace *traceNode, e *Error) *Error {
	if v.log {
		var steps []string
		for t := trace; t != nil; t = t.parent {
			steps = append(steps, t.text)
		}
		for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
			steps[i], steps[j] = steps[j], steps[i]
		}
		e.Log = steps
	}
	return e
}

func (v *verifier) describeStep(st *state, pc int) string {
	uses, defs := usesDefs(v.p, pc)
	text := fmt.Sprintf("%4d: %-32s", pc, insnText(v.p, pc))
	f := st.cur()
	sep := ""
	for r := 0; r < 11; r++ {
		if (uses|defs)&(1<<r) != 0 && r != int(isa.R10) && f.regs[r].t != tNotInit {
			text += fmt.Sprintf("%sr%d=%s", sep, r, f.regs[r].describe())
			sep = " "
		}
	}
	if ins := v.p.Insns[pc]; ins.IsConditionalJump() && len(st.pktRange) > 0 {
		// What the path knows of the packet after a check.
		ids := make([]int, 0, len(st.pktRange))
		for id := range st.pktRange {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
		for _, id := range ids {
			text += fmt.Sprintf("%spacket(id %d) has %d bytes", sep, id, st.pktRange[uint32(id)])
			sep = " "
		}
	}
	if v.p.Source != nil {
		if src := v.p.Source(pc); src != "" {
			text += "    ; " + src
		}
	}
	return text
}

// step is where a path goes after an instruction: pc < 0 ends it.
type step struct {
	pc       int
	cbReturn bool
}

var endPath = step{pc: -1}

// traced adds instruction pc, as it left state st, to a path's log.
func (v *verifier) traced(trace *traceNode, pc int, st *state) *traceNode {
	if !v.log {
		return trace
	}
	return &traceNode{pc: pc, text: v.describeStep(st, pc), parent: trace}
}

// push queues another path.
func (v *verifier) push(pc int, st *state, trace *traceNode, cbReturn bool) {
	v.pending = append(v.pending, work{pc: pc, st: st, trace: trace, cbReturn: cbReturn})
}

// regErr describes register r for an error.
func regNote(r int, x *reg) string { return fmt.Sprintf("r%d = %s", r, x.describe()) }

func (v *verifier) readReg(st *state, pc int, r isa.Register) (*reg, *Error) {
	x := &st.cur().regs[r]
	if x.t == tNotInit {
		reason := fmt.Sprintf("r%d is read here, but nothing was written to it on this path", r)
		if x.origin > 0 {
			reason = fmt.Sprintf("r%d is read here, but it no longer holds a value: %s at instruction %d made it invalid", r, v.invalidatedBy(int(x.origin)), x.origin)
		}
		if r >= 1 && r <= 5 && x.origin == 0 {
			reason += " (r1 to r5 do not survive a call)"
		}
		return nil, newError(KindUninitRegister, pc, reason)
	}
	return x, nil
}

func (v *verifier) invalidatedBy(pc int) string {
	ins := v.p.Insns[pc]
	if ins.IsHelperCall() {
		if h, ok := v.p.helper(int32(ins.Imm)); ok {
			return h.Name
		}
	}
	if ins.IsExit() {
		return "the return of a function that sets no value (void)"
	}
	return "the call"
}

// exec applies instruction pc to st and says where the path goes.
func (v *verifier) exec(st *state, pc int, trace *traceNode) (step, *Error) {
	ins := v.p.Insns[pc]
	op := ins.Opcode
	next := step{pc: pc + ins.Width()}
	switch op.Class() {
	case isa.ClassLD:
		return next, v.lddw(st, pc, ins)
	case isa.ClassLDX:
		return next, v.load(st, pc, ins)
	case isa.ClassST, isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC {
			return next, v.atomic(st, pc, ins)
		}
		return next, v.store(st, pc, ins)
	case isa.ClassALU, isa.ClassALU64:
		return next, v.alu(st, pc, ins)
	}
	switch {
	case ins.IsExit():
		return v.exit(st, pc)
	case op == isa.OpJA || op == isa.OpJA32:
		t, _ := ins.Branch(pc)
		return step{pc: t}, nil
	case ins.IsLocalCall():
		return v.callLocal(st, pc, ins)
	case ins.IsHelperCall():
		return v.callHelper(st, pc, ins, trace)
	case op == isa.OpCallX:
		return endPath, newError(KindUnsupported, pc, "callx (an indirect call) cannot be verified: its target is not known before the program runs")
	case op == isa.OpCall:
		return endPath, newError(KindUnsupported, pc, "kernel function calls (kfuncs) are not supported")
	case ins.IsConditionalJump():
		return v.jump(st, pc, ins, trace)
	}
	return endPath, newError(KindUnsupported, pc, "unsupported instruction")
}

func (v *verifier) lddw(st *state, pc int, ins isa.Instruction) *Error {
	f := st.cur()
	switch ins.Src {
	case isa.PseudoImm64:
		f.regs[ins.Dst] = scalarReg(constScalar(uint64(ins.Imm)), pc)
	case isa.PseudoMapIdx, isa.PseudoMapIdxVal:
		idx := int(uint32(ins.Imm))
		if idx >= len(v.p.Maps) {
			return newError(KindBadPointer, pc, fmt.Sprintf("map reference %d, but the program uses %d maps", idx, len(v.p.Maps)))
		}
		m := &mapRef{idx: idx, info: &v.p.Maps[idx], readOnly: v.p.Maps[idx].ReadOnly}
		if ins.Src == isa.PseudoMapIdx {
			f.regs[ins.Dst] = reg{t: tMapHandle, m: m, s: zero64, origin: int32(pc)}
			return nil
		}
		off := int64(uint32(uint64(ins.Imm) >> 32))
		if m.info.Type != maps.Array || m.info.MaxEntries != 1 {
			return newError(KindBadPointer, pc, fmt.Sprintf("direct access to the value of map %s needs a one-entry array, not %s", m.info.Name, m.info.Type))
		}
		if off >= int64(m.info.ValueSize) {
			return newError(KindOutOfBounds, pc, fmt.Sprintf("offset %d is outside the %d-byte value of map %s", off, m.info.ValueSize, m.info.Name))
		}
		f.regs[ins.Dst] = reg{t: tMapValue, m: m, off: off, s: zero64, origin: int32(pc)}
	case isa.PseudoFunc:
		t := pc + 1 + int(int32(ins.Imm))
		f.regs[ins.Dst] = reg{t: tFunc, fn: t, s: zero64, origin: int32(pc)}
	default:
		return newError(KindUnsupported, pc, fmt.Sprintf("lddw with source %d is not supported (map references must be resolved by the loader)", ins.Src))
	}
	return nil
}

// alu handles the ALU and ALU64 classes.
func (v *verifier) alu(st *state, pc int, ins isa.Instruction) *Error {
	op := ins.Opcode
	f := st.cur()
	is32 := op.Class() == isa.ClassALU
	dst := &f.regs[ins.Dst]

	// The second operand.
	var src reg
	if op.Source() == isa.SrcX && op.Op() != isa.ALUEnd && op.Op() != isa.ALUNeg {
		x, err := v.readReg(st, pc, ins.Src)
		if err != nil {
			return err
		}
		src = *x
	} else {
		imm := uint64(ins.Imm)
		if is32 {
			imm = uint64(uint32(imm))
		}
		src = scalarReg(constScalar(imm), pc)
	}

	if op.Op() == isa.ALUMov {
		if bits, ok := ins.IsMovSX(); ok {
			if src.t != tScalar {
				return newError(KindBadPointer, pc, fmt.Sprintf("sign-extending move of r%d, which is a pointer (%s)", ins.Src, src.describe()))
			}
			r := sext(truncate(src.s, bits/8), uint(bits))
			if is32 {
				r = zext32(r)
			}
			*dst = scalarReg(r, pc)
			return nil
		}
		if is32 {
			if src.t != tScalar {
				return newError(KindBadPointer, pc, fmt.Sprintf("32-bit move of r%d, which is a pointer (%s): the upper half of the address would be lost", ins.Src, src.describe()))
			}
			pl := src.pl
			*dst = scalarReg(zext32(src.s), pc)
			if pl.ok && pl.shift == 0 && src.s.fits32() && op.Source() == isa.SrcX {
				dst.pl = pl // the value is unchanged
			}
			return nil
		}
		if src.t == tScalar && op.Source() == isa.SrcX {
			// A copy: narrowing either by a later check narrows both.
			if src.id == 0 {
				src.id = v.newID()
				f.regs[ins.Src].id = src.id
			}
			src.origin = int32(pc)
		}
		*dst = src
		return nil
	}

	if _, err := v.readReg(st, pc, ins.Dst); err != nil {
		return err
	}

	if dst.t.isPointer() || src.t.isPointer() {
		return v.pointerALU(st, pc, ins, dst, &src, is32)
	}

	if op.Op() == isa.ALUEnd {
		// le on this little-endian machine truncates; be and bswap swap.
		swap := op.Class() == isa.ClassALU64 || op.Source() == isa.SrcX
		var r scalar
		switch {
		case dst.s.isConst():
			r = constScalar(endian(swap, ins.Imm, dst.s.value()))
		case !swap:
			r = truncate(dst.s, int(ins.Imm/8))
		case ins.Imm < 64:
			r = rangeScalar(0, 1<<ins.Imm-1)
		default:
			r = unknownScalar()
		}
		*dst = scalarReg(r, pc)
		return nil
	}

	a, b := dst.s, src.s
	pl := shiftPktLen(ins, dst)
	if is32 {
		a, b = low32(a), low32(b)
	}
	var r scalar
	width := uint(64)
	if is32 {
		width = 32
	}
	switch op.Op() {
	case isa.ALUAdd:
		r = sAdd(a, b)
	case isa.ALUSub:
		r = sSub(a, b)
	case isa.ALUMul:
		r = sMul(a, b)
	case isa.ALUDiv:
		if ins.IsSignedDivMod() {
			r = unknownScalar()
		} else {
			r = sDiv(a, b)
		}
	case isa.ALUMod:
		if ins.IsSignedDivMod() {
			r = unknownScalar()
		} else {
			r = sMod(a, b)
		}
	case isa.ALUOr:
		r = sOr(a, b)
	case isa.ALUAnd:
		r = sAnd(a, b)
	case isa.ALUXor:
		r = sXor(a, b)
	case isa.ALULsh:
		r = sLsh(a, b, width)
	case isa.ALURsh:
		r = sRsh(a, b, width)
	case isa.ALUArsh:
		if is32 {
			r = unknownScalar()
		} else {
			r = sArsh(a, b, width)
		}
	case isa.ALUNeg:
		r = sSub(zero64, a)
	default:
		r = unknownScalar()
	}
	// Constants are folded exactly, whatever the operation.
	if a.isConst() && b.isConst() {
		r = constScalar(evalConst(ins, a.value(), b.value()))
	}
	if is32 {
		r = zext32(r)
	}
	*dst = scalarReg(r, pc)
	dst.pl = pl
	return nil
}

// shiftPktLen is the packet-length tag of the result of a shift that keeps
// the value a packet length: x <<= 32 of a length below 2^31, then x s>>=
// 32 or x >>= 32, as C compilers sign- or zero-extend an int length.
func shiftPktLen(ins isa.Instruction, dst *reg) pktLen {
	pl := dst.pl
	op := ins.Opcode
	if !pl.ok || op.Class() != isa.ClassALU64 || op.Source() != isa.SrcK || ins.Imm != 32 {
		return pktLen{}
	}
	switch {
	case op.Op() == isa.ALULsh && pl.shift == 0 && dst.s.umax < 1<<31:
		pl.shift = 32
	case (op.Op() == isa.ALUArsh || op.Op() == isa.ALURsh) && pl.shift == 32:
		pl.shift = 0
	default:
		return pktLen{}
	}
	return pl
}

// pointerALU allows what C compiles pointer arithmetic to: pointer plus or
// minus a bounded number, and the distance between two packet pointers.
func (v *verifier) pointerALU(st *state, pc int, ins isa.Instruction, dst, src *reg, is32 bool) *Error {
	op := ins.Opcode.Op()
	which := func() (int, *reg) {
		if dst.t.isPointer() {
			return int(ins.Dst), dst
		}
		return int(ins.Src), src
	}
	pr, p := which()
	if is32 {
		return newError(KindBadPointer, pc, fmt.Sprintf("32-bit arithmetic on r%d, which is a pointer (%s)", pr, p.describe())).with(regNote(pr, p))
	}
	if op == isa.ALUSub && dst.t.isPointer() && src.t.isPointer() {
		if dst.t == tPacketEnd && src.t == tPacket {
			*dst = v.packetLength(st, src, pc)
			return nil
		}
		if samePointerBase(dst, src) {
			*dst = scalarReg(unknownScalar(), pc)
			return nil
		}
		return newError(KindBadPointer, pc, fmt.Sprintf("subtracting pointers into different memory (r%d %s, r%d %s)", ins.Dst, dst.t, ins.Src, src.t))
	}
	if op != isa.ALUAdd && op != isa.ALUSub {
		return newError(KindBadPointer, pc, fmt.Sprintf("r%d is a pointer (%s): only adding or subtracting a number is allowed on pointers", pr, p.describe())).with(regNote(pr, p))
	}
	if dst.t.isPointer() && src.t.isPointer() {
		return newError(KindBadPointer, pc, fmt.Sprintf("adding two pointers (r%d and r%d)", ins.Dst, ins.Src))
	}
	ptr, num := *dst, *src
	if !dst.t.isPointer() {
		if op == isa.ALUSub {
			return newError(KindBadPointer, pc, fmt.Sprintf("subtracting a pointer (r%d, %s) from a number", ins.Src, src.describe()))
		}
		ptr, num = *src, *dst
	}
	switch ptr.t {
	case tPacketEnd, tMapHandle, tFunc:
		return newError(KindBadPointer, pc, fmt.Sprintf("arithmetic on a %s is not allowed", ptr.t))
	case tMapValueOrNull, tMapHandleOrNull, tMemOrNull:
		return newError(KindNullDeref, pc, fmt.Sprintf("arithmetic on a pointer that may be NULL (%s, from instruction %d): check it against 0 first", ptr.describe(), ptr.origin))
	}
	if num.s.isConst() {
		c := int64(num.s.value())
		if op == isa.ALUSub {
			c = -c
		}
		noff := ptr.off + c
		if noff > maxVarOff || noff < -maxVarOff {
			return newError(KindOutOfBounds, pc, fmt.Sprintf("pointer offset %d is far outside any memory", noff))
		}
		ptr.off = noff
		ptr.origin = int32(pc)
		*dst = ptr
		return nil
	}
	if op == isa.ALUSub {
		return newError(KindBadPointer, pc, "subtracting a variable number from a pointer is not supported; add a bounded offset instead")
	}
	if num.s.umax >= maxVarOff || num.s.smin < 0 && num.s.smax >= 0 && num.s.umax >= maxVarOff {
		reason := fmt.Sprintf("adding a number without a proven upper bound (%s) to a pointer (%s): check it against a limit first", num.s, ptr.t)
		return newError(KindUnbounded, pc, reason)
	}
	nv := sAdd(ptr.s, num.s)
	if nv.umax >= maxVarOff {
		return newError(KindUnbounded, pc, fmt.Sprintf("the variable part of the pointer's offset (%s) is no longer bounded", nv))
	}
	ptr.s = nv
	ptr.origin = int32(pc)
	if ptr.t == tPacket || ptr.t == tPacketMeta {
		ptr.id = v.newID() // a new variable offset: its bounds checks are its own
	}
	*dst = ptr
	return nil
}

// packetLength is end - p for a packet pointer p: the bytes from p to the
// end of the packet, tagged as such. It is at least 0 when a check proved
// p inside the packet, and at most the context's MaxData when it has one.
func (v *verifier) packetLength(st *state, p *reg, pc int) reg {
	r := scalarReg(unknownScalar(), pc)
	rng, checked := st.pktRange[p.id]
	if p.off >= 0 && rng >= p.off && (checked || p.id == 0) {
		// The check proved data + var + rng <= end: at least rng - off
		// bytes follow p.
		lo, hi := uint64(rng-p.off), uint64(math.MaxInt64)
		if md := int64(v.p.Type.Context.MaxData); md > 0 {
			hi = uint64(max(md-p.off, 0))
		}
		r.s = rangeScalar(lo, max(lo, hi))
	}
	r.pl = pktLen{ok: true, id: p.id, off: p.off}
	return r
}

func samePointerBase(a, b *reg) bool {
	if a.t != b.t {
		pk := func(t regType) bool { return t == tPacket || t == tPacketEnd || t == tPacketMeta }
		return pk(a.t) && pk(b.t)
	}
	switch a.t {
	case tStack:
		return a.frame == b.frame
	case tMapValue:
		return a.m.idx == b.m.idx
	case tPacket, tPacketEnd, tPacketMeta, tCtx:
		return true
	}
	return false
}

func (e *Error) with(notes ...string) *Error {
	e.Registers = append(e.Registers, notes...)
	return e
}

// evalConst computes an ALU instruction on known operands exactly as the
// interpreter does (the defined results of division by zero included).
func evalConst(ins isa.Instruction, a, b uint64) uint64 {
	op := ins.Opcode
	if op.Class() == isa.ClassALU {
		x, y := uint32(a), uint32(b)
		switch op.Op() {
		case isa.ALUAdd:
			return uint64(x + y)
		case isa.ALUSub:
			return uint64(x - y)
		case isa.ALUMul:
			return uint64(x * y)
		case isa.ALUDiv:
			if y == 0 {
				return 0
			}
			if ins.IsSignedDivMod() {
				return uint64(uint32(int32(x) / int32(y)))
			}
			return uint64(x / y)
		case isa.ALUMod:
			if y == 0 {
				return uint64(x)
			}
			if ins.IsSignedDivMod() {
				return uint64(uint32(int32(x) % int32(y)))
			}
			return uint64(x % y)
		case isa.ALUOr:
			return uint64(x | y)
		case isa.ALUAnd:
			return uint64(x & y)
		case isa.ALUXor:
			return uint64(x ^ y)
		case isa.ALULsh:
			return uint64(x << (y & 31))
		case isa.ALURsh:
			return uint64(x >> (y & 31))
		case isa.ALUArsh:
			return uint64(uint32(int32(x) >> (y & 31)))
		case isa.ALUNeg:
			return uint64(-x)
		case isa.ALUEnd:
			return endian(op.Source() == isa.SrcX, ins.Imm, a)
		}
		return 0
	}
	switch op.Op() {
	case isa.ALUAdd:
		return a + b
	case isa.ALUSub:
		return a - b
	case isa.ALUMul:
		return a * b
	case isa.ALUDiv:
		if b == 0 {
			return 0
		}
		if ins.IsSignedDivMod() {
			return uint64(int64(a) / int64(b))
		}
		return a / b
	case isa.ALUMod:
		if b == 0 {
			return a
		}
		if ins.IsSignedDivMod() {
			return uint64(int64(a) % int64(b))
		}
		return a % b
	case isa.ALUOr:
		return a | b
	case isa.ALUAnd:
		return a & b
	case isa.ALUXor:
		return a ^ b
	case isa.ALULsh:
		return a << (b & 63)
	case isa.ALURsh:
		return a >> (b & 63)
	case isa.ALUArsh:
		return uint64(int64(a) >> (b & 63))
	case isa.ALUNeg:
		return -a
	case isa.ALUEnd:
		return endian(true, ins.Imm, a)
	}
	return 0
}

func endian(swap bool, width int64, a uint64) uint64 {
	switch width {
	case 16:
		v := uint16(a)
		if swap {
			v = v>>8 | v<<8
		}
		return uint64(v)
	case 32:
		v := uint32(a)
		if swap {
			v = v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
		}
		return uint64(v)
	}
	if !swap {
		return a
	}
	var r uint64
	for i := 0; i < 8; i++ {
		r = r<<8 | (a>>(8*i))&0xff
	}
	return r
}
