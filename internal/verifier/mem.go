package verifier

import (
	"fmt"

	"github.com/ebpfhost/ebpfhost/isa"
)

// span is a byte range an access may touch, relative to the start of its
// region (the top of the frame, negative, for the stack).
type span struct {
	lo, hi   int64 // [lo, hi) over every possible offset
	fixed    bool  // the offset is known exactly
	frame    *frame
	ctxField int64 // for the context: the (fixed) offset
}

// checkMem proves that an access of size bytes at r+off stays inside the
// memory r points to, with the right permission, and returns the range.
func (v *verifier) checkMem(st *state, pc int, rn isa.Register, r *reg, off int64, size int, write bool) (span, *Error) {
	note := regNote(int(rn), r)
	kind := "read"
	if write {
		kind = "write"
	}
	base := r.off + off
	lo := base + int64(r.s.umin)
	hi := base + int64(r.s.umax) + int64(size)
	sp := span{lo: lo, hi: hi, fixed: r.s.isConst()}
	where := func() string {
		if sp.fixed {
			return fmt.Sprintf("at offset %d", lo)
		}
		return fmt.Sprintf("at offsets %d to %d", lo, hi-1)
	}
	switch r.t {
	case tScalar:
		return sp, newError(KindBadPointer, pc, fmt.Sprintf("r%d is a number (%s), not a pointer: it cannot be dereferenced", rn, r.s)).with(note)
	case tMapValueOrNull, tMemOrNull, tMapHandleOrNull:
		return sp, newError(KindNullDeref, pc, fmt.Sprintf("r%d may be NULL here: the result of %s at instruction %d is used without a check against NULL", rn, v.producer(int(r.origin)), r.origin)).with(note)
	case tMapHandle, tPacketEnd, tFunc:
		return sp, newError(KindBadPointer, pc, fmt.Sprintf("r%d is a %s, which cannot be dereferenced", rn, r.t)).with(note)
	case tCtx:
		if !sp.fixed || r.s.value() != 0 {
			return sp, newError(KindBadPointer, pc, "the context may only be accessed at fixed offsets").with(note)
		}
		ctx := v.p.Type.Context
		if lo < 0 || hi > int64(ctx.Size) {
			return sp, newError(KindOutOfBounds, pc, fmt.Sprintf("%s of %d bytes at offset %d is outside the %d-byte %s context", kind, size, lo, ctx.Size, v.p.Type.Name)).with(note)
		}
		if write && !ctx.IsWritable(int(lo), size) {
			return sp, newError(KindReadOnly, pc, fmt.Sprintf("the %s context is read-only at offset %d (write of %d bytes)", v.p.Type.Name, lo, size)).with(note)
		}
		sp.ctxField = lo
		return sp, nil
	case tStack:
		if int(r.frame) >= len(st.frames) {
			return sp, newError(KindBadPointer, pc, "pointer into the stack of a function that has returned").with(note)
		}
		sp.frame = st.frames[r.frame]
		if lo < -stackSize || hi > 0 {
			return sp, newError(KindOutOfBounds, pc, fmt.Sprintf("%s of %d bytes %s from r10 is outside the %d-byte stack frame", kind, size, where(), stackSize)).with(note)
		}
		return sp, nil
	case tMapValue:
		vs := int64(r.m.info.ValueSize)
		if lo < 0 || hi > vs {
			return sp, newError(KindOutOfBounds, pc, fmt.Sprintf("%s of %d bytes %s is outside the %d-byte value of map %s", kind, size, where(), vs, r.m.info.Name)).with(note)
		}
		if write && r.m.readOnly {
			return sp, newError(KindReadOnly, pc, fmt.Sprintf("map %s is read-only for programs", r.m.info.Name)).with(note)
		}
		return sp, nil
	case tMem, tReadonlyMem:
		if lo < 0 || hi > r.size {
			return sp, newError(KindOutOfBounds, pc, fmt.Sprintf("%s of %d bytes %s is outside the %d bytes the helper provided", kind, size, where(), r.size)).with(note)
		}
		if write && r.t == tReadonlyMem {
			return sp, newError(KindReadOnly, pc, "this memory is read-only").with(note)
		}
		return sp, nil
	case tPacket, tPacketMeta:
		rng := st.pktRange[r.id]
		if r.t == tPacketMeta {
			if !sp.fixed || r.s.value() != 0 {
				return sp, newError(KindBadPointer, pc, "the packet metadata may only be accessed at fixed offsets from data_meta").with(note)
			}
			rng = st.metaRange
		}
		if base < 0 || base+int64(size) > rng {
			reason := fmt.Sprintf("%s of %d bytes at packet offset %d", kind, size, base)
			if !sp.fixed {
				reason += fmt.Sprintf(" plus a variable %s", r.s)
			}
			if rng == 0 {
				reason += ", but nothing checked the packet's length against data_end on this path"
			} else {
				reason += fmt.Sprintf(", but only offsets below %d are known to be inside the packet (compare the pointer with data_end first)", rng)
			}
			return sp, newError(KindOutOfBounds, pc, reason).with(note)
		}
		return sp, nil
	}
	return sp, newError(KindBadPointer, pc, fmt.Sprintf("r%d (%s) cannot be dereferenced", rn, r.describe())).with(note)
}

// producer names what made the value at instruction pc.
func (v *verifier) producer(pc int) string {
	if pc < 0 || pc >= len(v.p.Insns) {
		return "the program's input"
	}
	ins := v.p.Insns[pc]
	name := "instruction"
	if ins.IsHelperCall() {
		if h, ok := v.p.helper(int32(ins.Imm)); ok {
			name = h.Name
		}
	}
	if v.p.Source != nil {
		if src := v.p.Source(pc); src != "" {
			return fmt.Sprintf("%s (%s)", name, src)
		}
	}
	return name
}

// slotOf returns, to be written, the slot and byte within it of stack
// offset o (from r10, negative), growing the frame's slots as needed.
func slotOf(f *frame, o int64) (*stackSlot, int) {
	f.own()
	i := int((-o - 1) / 8)
	for len(f.stack) <= i {
		f.stack = append(f.stack, stackSlot{})
	}
	return &f.stack[i], int(o + 8*int64(i+1))
}

var noSlot stackSlot // what a slot the frame never grew to holds

// readSlot returns, only to be read, the slot and byte of offset o.
func readSlot(f *frame, o int64) (*stackSlot, int) {
	i := int((-o - 1) / 8)
	j := int(o + 8*int64(i+1))
	if i >= len(f.stack) {
		return &noSlot, j
	}
	return &f.stack[i], j
}

func (v *verifier) load(st *state, pc int, ins isa.Instruction) *Error {
	r, err := v.readReg(st, pc, ins.Src)
	if err != nil {
		return err
	}
	src := *r
	size := ins.AccessSize()
	sp, err := v.checkMem(st, pc, ins.Src, &src, int64(ins.Offset), size, false)
	if err != nil {
		return err
	}
	signed := ins.Opcode.Mode() == isa.ModeMEMSX
	out, err := v.loadValue(st, pc, &src, sp, size)
	if err != nil {
		return err
	}
	if out.t == tScalar {
		out.s = truncate(out.s, size)
		if signed {
			out.s = sext(out.s, uint(8*size))
		}
	} else if signed {
		return newError(KindBadPointer, pc, "a sign-extending load of a pointer")
	}
	out.origin = int32(pc)
	st.cur().regs[ins.Dst] = out
	return nil
}

// loadValue is what an access that checkMem allowed reads.
func (v *verifier) loadValue(st *state, pc int, r *reg, sp span, size int) (reg, *Error) {
	switch r.t {
	case tCtx:
		ctx := v.p.Type.Context
		field := sp.ctxField
		ptrField := func(t regType) (reg, *Error) {
			if size != ctx.PointerSize {
				return reg{}, newError(KindBadPointer, pc, fmt.Sprintf("the context field at offset %d is a %d-byte pointer; it must be read whole", field, ctx.PointerSize))
			}
			if t == tPacket {
				st.ensurePkt()
			}
			return reg{t: t, s: zero64}, nil
		}
		switch field {
		case int64(ctx.Data):
			if ctx.Data >= 0 {
				return ptrField(tPacket)
			}
		case int64(ctx.End):
			if ctx.End >= 0 {
				return ptrField(tPacketEnd)
			}
		case int64(ctx.Meta):
			if ctx.Meta >= 0 {
				return ptrField(tPacketMeta)
			}
		}
		for _, f := range []int{ctx.Data, ctx.End, ctx.Meta} {
			if f >= 0 && sp.lo < int64(f+ctx.PointerSize) && sp.hi > int64(f) {
				return reg{}, newError(KindBadPointer, pc, fmt.Sprintf("reads part of the pointer field at context offset %d", f))
			}
		}
		return scalarReg(unknownScalar(), pc), nil
	case tStack:
		return v.stackRead(pc, sp, size)
	case tMapValue:
		if fz := r.m.info.Frozen; fz != nil && sp.fixed && sp.hi <= int64(len(fz)) {
			var x uint64
			for i := sp.hi - 1; i >= sp.lo; i-- {
				x = x<<8 | uint64(fz[i])
			}
			return scalarReg(constScalar(x), pc), nil
		}
	}
	return scalarReg(unknownScalar(), pc), nil
}

func (st *state) ensurePkt() {
	if st.pktRange == nil {
		st.pktRange = map[uint32]int64{}
	}
}

// stackRead reads [sp.lo, sp.hi) of a frame.
func (v *verifier) stackRead(pc int, sp span, size int) (reg, *Error) {
	f := sp.frame
	if sp.fixed && size == 8 && sp.lo%8 == 0 {
		slot, _ := readSlot(f, sp.lo)
		if slot.kind[0] == slotSpill {
			return slot.spill, nil
		}
	}
	allZero := true
	for o := sp.lo; o < sp.hi; o++ {
		slot, j := readSlot(f, o)
		switch slot.kind[j] {
		case slotUninit:
			return reg{}, newError(KindUninitStack, pc, fmt.Sprintf("reads stack byte r10%+d, which nothing wrote on this path", o))
		case slotSpill:
			if slot.spill.t != tScalar {
				return reg{}, newError(KindPointerLeak, pc, fmt.Sprintf("reads part of a pointer (%s) spilled to the stack at r10%+d as a number", slot.spill.t, o-int64(j)))
			}
			allZero = false
		case slotPtrPart:
			return reg{}, newError(KindPointerLeak, pc, fmt.Sprintf("reads stack byte r10%+d, which may still hold part of a pointer spilled there and then partly overwritten: reading it as a number would leak the address", o))
		case slotMisc:
			allZero = false
		}
	}
	if allZero {
		return scalarReg(zero64, pc), nil
	}
	return scalarReg(unknownScalar(), pc), nil
}

// stackWrite records a store of value over [sp.lo, sp.hi).
func (v *verifier) stackWrite(pc int, sp span, size int, value *reg) *Error {
	f := sp.frame
	if sp.fixed && size == 8 && sp.lo%8 == 0 {
		slot, _ := slotOf(f, sp.lo)
		slot.spill = *value
		for j := range slot.kind {
			slot.kind[j] = slotSpill
		}
		return nil
	}
	if value.t != tScalar {
		return newError(KindPointerLeak, pc, fmt.Sprintf("stores a pointer (%s) to the stack with a %d-byte or unaligned store: only whole, aligned 8-byte spills keep it a pointer", value.t, size))
	}
	kind := slotMisc
	if value.s.isConst() && value.s.value() == 0 {
		kind = slotZero
	}
	// Every byte in [lo, hi) may be written; only those every offset
	// writes, [dlo, dhi), certainly are.
	dlo, dhi := sp.hi-int64(size), sp.lo+int64(size)
	clobberStack(f, sp.lo, sp.hi, dlo, dhi, kind)
	return nil
}

// clobberStack records a write that may touch any byte of [lo, hi) and
// certainly writes [dlo, dhi) (empty when dlo >= dhi) with data of the
// given kind (slotMisc or slotZero). A spilled register it may touch is
// no longer one: what is left of a spilled pointer may only be
// overwritten, what is left of a number is data. A byte it may or may not
// write keeps what is certain of both: uninitialized stays uninitialized.
func clobberStack(f *frame, lo, hi, dlo, dhi int64, kind slotKind) {
	if lo >= hi {
		return
	}
	for i := int((-lo - 1) / 8); i >= int((-hi)/8) && i >= 0; i-- {
		if r, _ := readSlot(f, -8*int64(i+1)); r.kind[0] != slotSpill {
			continue
		}
		slot, _ := slotOf(f, -8*int64(i+1))
		rest := slotMisc
		if slot.spill.t != tScalar {
			rest = slotPtrPart
		}
		for k := range slot.kind {
			if slot.kind[k] == slotSpill {
				slot.kind[k] = rest
			}
		}
		slot.spill = reg{}
	}
	for o := lo; o < hi; o++ {
		slot, j := slotOf(f, o)
		switch {
		case o >= dlo && o < dhi:
			slot.kind[j] = kind
		case slot.kind[j] == slotUninit, slot.kind[j] == slotPtrPart:
		case slot.kind[j] == slotZero && kind == slotZero:
		default:
			slot.kind[j] = slotMisc
		}
	}
}

func (v *verifier) store(st *state, pc int, ins isa.Instruction) *Error {
	d, err := v.readReg(st, pc, ins.Dst)
	if err != nil {
		return err
	}
	dst := *d
	var value reg
	if ins.Opcode.Class() == isa.ClassST {
		value = scalarReg(constScalar(uint64(ins.Imm)), pc)
	} else {
		s, err := v.readReg(st, pc, ins.Src)
		if err != nil {
			return err
		}
		value = *s
	}
	size := ins.AccessSize()
	if size < 8 && value.t == tScalar {
		value.s = truncate(value.s, size)
	}
	sp, err := v.checkMem(st, pc, ins.Dst, &dst, int64(ins.Offset), size, true)
	if err != nil {
		return err
	}
	if dst.t == tStack {
		return v.stackWrite(pc, sp, size, &value)
	}
	if value.t != tScalar {
		return newError(KindPointerLeak, pc, fmt.Sprintf("stores a pointer (%s) into %s, where user space or other programs could read the address", value.t, regionName(dst.t))).with(regNote(int(ins.Src), &value))
	}
	return nil
}

func (v *verifier) atomic(st *state, pc int, ins isa.Instruction) *Error {
	d, err := v.readReg(st, pc, ins.Dst)
	if err != nil {
		return err
	}
	dst := *d
	s, err := v.readReg(st, pc, ins.Src)
	if err != nil {
		return err
	}
	if s.t != tScalar {
		return newError(KindPointerLeak, pc, fmt.Sprintf("atomic operation with a pointer operand (r%d, %s)", ins.Src, s.t))
	}
	size := ins.AccessSize()
	if ins.Imm == isa.AtomicCmpXchg {
		r0, err := v.readReg(st, pc, isa.R0)
		if err != nil {
			return err
		}
		if r0.t != tScalar {
			return newError(KindPointerLeak, pc, "cmpxchg compares with r0, which holds a pointer")
		}
	}
	switch dst.t {
	case tStack, tMapValue, tMem:
	default:
		return newError(KindBadPointer, pc, fmt.Sprintf("atomic operations work on the stack, map values and helper memory, not on %s", dst.t))
	}
	sp, err := v.checkMem(st, pc, ins.Dst, &dst, int64(ins.Offset), size, true)
	if err != nil {
		return err
	}
	aligned := sp.lo%int64(size) == 0 && dst.s.tn.value&uint64(size-1) == 0 && dst.s.tn.mask&uint64(size-1) == 0
	if !aligned {
		return newError(KindBadPointer, pc, fmt.Sprintf("atomic %d-byte access may be misaligned (offsets %d to %d)", size, sp.lo, sp.hi-int64(size)))
	}
	if dst.t == tStack {
		// A read-modify-write: the bytes must hold data already.
		old, err := v.stackRead(pc, sp, size)
		if err != nil {
			return err
		}
		if old.t != tScalar {
			return newError(KindPointerLeak, pc, fmt.Sprintf("atomic operation on a pointer (%s) spilled to the stack: it would turn the address into a number", old.t))
		}
		unknown := scalarReg(unknownScalar(), pc)
		if err := v.stackWrite(pc, sp, size, &unknown); err != nil {
			return err
		}
	}
	f := st.cur()
	switch {
	case ins.Imm == isa.AtomicCmpXchg:
		f.regs[isa.R0] = scalarReg(unknownScalar(), pc)
	case ins.Imm&isa.AtomicFetch != 0:
		r := unknownScalar()
		if size == 4 {
			r = rangeScalar(0, 1<<32-1)
		}
		f.regs[ins.Src] = scalarReg(r, pc)
	}
	return nil
}

// memArg checks memory a helper reads (write=false) or writes over
// [r, r+size) for every size in [minSize, maxSize]; the stack bytes a
// helper certainly writes (the first minSize) become initialized.
func (v *verifier) memArg(st *state, pc int, rn int, r *reg, minSize, maxSize int64, write bool, helper string) *Error {
	return v.memArgPtrs(st, pc, rn, r, minSize, maxSize, write, helper, nil)
}

// memArgPtrs is memArg for memory a helper reads that may hold pointers:
// ptrOK says whether the 8 bytes at an offset from the start (a multiple
// of 8) may be a whole spilled pointer, which the helper follows rather
// than copies (bpf_snprintf's %s arguments).
func (v *verifier) memArgPtrs(st *state, pc int, rn int, r *reg, minSize, maxSize int64, write bool, helper string, ptrOK func(off int64) bool) *Error {
	if maxSize == 0 {
		return nil
	}
	if maxSize >= maxVarOff {
		return newError(KindUnbounded, pc, fmt.Sprintf("%s: the size of the memory in r%d has no proven upper bound", helper, rn))
	}
	sp, err := v.checkMem(st, pc, isa.Register(rn), r, 0, int(maxSize), write)
	if err != nil {
		err.Reason = helper + ": " + err.Reason
		return err
	}
	if r.t != tStack {
		return nil
	}
	if write {
		start := sp.lo + int64(r.s.umax-r.s.umin) // the highest start
		clobberStack(sp.frame, sp.lo, sp.hi, start, sp.lo+minSize, slotMisc)
		return nil
	}
	for o := sp.lo; o < sp.hi; o++ {
		slot, j := readSlot(sp.frame, o)
		switch {
		case slot.kind[j] == slotUninit:
			return newError(KindUninitStack, pc, fmt.Sprintf("%s reads stack byte r10%+d (through r%d), which nothing wrote on this path", helper, o, rn))
		case slot.kind[j] == slotSpill && slot.spill.t != tScalar && ptrOK != nil && sp.fixed && (o-sp.lo)%8 == int64(j) && ptrOK(o-sp.lo-int64(j)):
			// a whole pointer where the helper expects one
		case slot.kind[j] == slotPtrPart, slot.kind[j] == slotSpill && slot.spill.t != tScalar:
			return newError(KindPointerLeak, pc, fmt.Sprintf("%s reads stack byte r10%+d (through r%d), which holds (part of) a pointer: the helper would copy the address where it can be read", helper, o, rn))
		}
	}
	return nil
}

// regionName names the memory a pointer type points to, for messages.
func regionName(t regType) string {
	switch t {
	case tCtx:
		return "the context"
	case tMapValue:
		return "a map value"
	case tMem:
		return "a ring buffer reservation"
	case tPacket, tPacketMeta:
		return "the packet"
	}
	return t.String() + " memory"
}
