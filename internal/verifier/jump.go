package verifier

import (
	"github.com/ebpfhost/ebpfhost/isa"
)

// jump splits the path at a conditional jump: each side continues with the
// state narrowed by what the condition says, and a side the state rules
// out is not explored.
func (v *verifier) jump(st *state, pc int, ins isa.Instruction, trace *traceNode) (step, *Error) {
	target, _ := ins.Branch(pc)
	fall := step{pc: pc + 1}
	op := ins.Opcode.Op()
	is32 := ins.Opcode.Class() == isa.ClassJMP32
	a, err := v.readReg(st, pc, ins.Dst)
	if err != nil {
		return endPath, err
	}
	var b reg
	srcReg := ins.Opcode.Source() == isa.SrcX
	if srcReg {
		x, err := v.readReg(st, pc, ins.Src)
		if err != nil {
			return endPath, err
		}
		b = *x
	} else {
		imm := uint64(ins.Imm)
		if is32 {
			imm = uint64(uint32(imm))
		}
		b = scalarReg(constScalar(imm), pc)
	}

	var takenOK, fallOK bool
	var taken *state
	if a.t.isPointer() || b.t.isPointer() {
		takenOK, fallOK = v.pointerJump(st, ins, *a, b, is32, nil, true), v.pointerJump(st, ins, *a, b, is32, nil, false)
		if takenOK && fallOK {
			taken = st.clone()
			v.pointerJump(taken, ins, *a, b, is32, taken, true)
			v.pointerJump(st, ins, *a, b, is32, st, false)
		} else if takenOK {
			v.pointerJump(st, ins, *a, b, is32, st, true)
		} else if fallOK {
			v.pointerJump(st, ins, *a, b, is32, st, false)
		}
	} else {
		at, bt, okT := refine(op, is32, a.s, b.s, true)
		af, bf, okF := refine(op, is32, a.s, b.s, false)
		takenOK, fallOK = okT, okF
		apply := func(s *state, x, y scalar) {
			setScalar(s, ins.Dst, x)
			learnPktLen(s, ins.Dst)
			if srcReg {
				setScalar(s, ins.Src, y)
				learnPktLen(s, ins.Src)
			}
		}
		if takenOK && fallOK {
			taken = st.clone()
			apply(taken, at, bt)
			apply(st, af, bf)
		} else if takenOK {
			apply(st, at, bt)
		} else if fallOK {
			apply(st, af, bf)
		}
	}
	switch {
	case takenOK && fallOK:
		if pktKnown(taken) < pktKnown(st) {
			// Explore first the way that knows less of the packet (the
			// packet too short for an optional header): the other way
			// then usually finds it covers it where they join, instead
			// of the weaker way being explored again after the
			// stronger one, once for every such check in a row.
			stronger := new(state)
			*stronger = *st
			*st = *taken
			v.push(pc+1, stronger, v.traced(trace, pc, stronger), false)
			return step{pc: target}, nil
		}
		v.push(target, taken, v.traced(trace, pc, taken), false)
		return fall, nil
	case takenOK:
		return step{pc: target}, nil
	case fallOK:
		return fall, nil
	}
	return endPath, nil // neither side is possible: this path cannot happen
}

// setScalar narrows register r, and every copy of the same value (same
// id), to s.
func setScalar(st *state, r isa.Register, s scalar) {
	x := &st.cur().regs[r]
	id := x.id
	x.s = s
	if id == 0 {
		return
	}
	forEachReg(st, func(y *reg) {
		if y.t == tScalar && y.id == id {
			y.s = s
		}
	})
}

// learnPktLen records what a check proved about a packet length: when it
// is at least k > 0, k bytes from the pointer it was measured from are in
// the packet.
func learnPktLen(st *state, r isa.Register) {
	x := &st.cur().regs[r]
	if x.t != tScalar || !x.pl.ok || x.pl.shift != 0 || x.s.smin <= 0 {
		return
	}
	rng := x.pl.off + min(x.s.smin, 1<<32)
	if rng <= 0 {
		return
	}
	st.ensurePkt()
	st.pktRange[x.pl.id] = max(st.pktRange[x.pl.id], rng)
}

// forEachReg visits every register and spilled register of every frame.
func forEachReg(st *state, fn func(*reg)) {
	for _, f := range st.frames {
		for i := range f.regs {
			fn(&f.regs[i])
		}
		for i := range f.stack {
			if f.stack[i].kind[0] == slotSpill {
				// Spills are changed in place only when fn changes them
				// (the slots may be shared with other states).
				r := f.stack[i].spill
				fn(&r)
				if r != f.stack[i].spill {
					f.own()
					f.stack[i].spill = r
				}
			}
		}
	}
}

// pointerJump decides whether a comparison involving a pointer can go the
// given way (taken or not), and when out is non-nil records what that way
// teaches: a NULL check resolves a lookup result, and comparing a packet
// pointer with data_end proves how much of the packet is there.
func (v *verifier) pointerJump(st *state, ins isa.Instruction, a, b reg, is32 bool, out *state, taken bool) bool {
	op := ins.Opcode.Op()
	isZero := func(x reg) bool { return x.t == tScalar && x.s.isConst() && x.s.value() == 0 }

	// NULL checks.
	if (op == isa.JumpEQ || op == isa.JumpNE) && !is32 {
		p, z := a, b
		if !a.t.isPointer() {
			p, z = b, a
		}
		if isZero(z) {
			null := (op == isa.JumpEQ) == taken
			if p.t.orNull() {
				if out != nil {
					resolveNull(out, p, null)
				}
				return true
			}
			// A pointer that is not a lookup result is never NULL.
			return !null
		}
	}

	// Packet bounds: a packet pointer against data_end (or data_meta
	// against data).
	if !is32 {
		var pk reg
		var lessThanEnd, orEqual bool // what the chosen way says about pk vs end
		var known bool
		var endOff int64 // the "end" is data plus this for data_meta checks
		// data_meta is checked against data itself or data plus a
		// constant, never data plus a variable offset.
		dataEnd := func(x reg) bool { return x.id == 0 && x.s.isConst() && x.s.value() == 0 }
		switch {
		case a.t == tPacket && b.t == tPacketEnd:
			pk = a
			lessThanEnd, orEqual, known = cmpFacts(op, taken, false)
		case a.t == tPacketMeta && b.t == tPacket && dataEnd(b):
			pk, endOff = a, b.off
			lessThanEnd, orEqual, known = cmpFacts(op, taken, false)
		case a.t == tPacketEnd && b.t == tPacket:
			pk = b
			lessThanEnd, orEqual, known = cmpFacts(op, taken, true)
		case a.t == tPacket && b.t == tPacketMeta && dataEnd(a):
			pk, endOff = b, a.off
			lessThanEnd, orEqual, known = cmpFacts(op, taken, true)
		}
		if known && out != nil && lessThanEnd {
			rng := pk.off - endOff
			if !orEqual {
				rng++ // pk < end: the byte at pk is inside too
			}
			if rng <= 0 {
				return true // proves no byte is inside
			}
			if pk.t == tPacketMeta {
				out.metaRange = max(out.metaRange, rng)
			} else {
				out.ensurePkt()
				out.pktRange[pk.id] = max(out.pktRange[pk.id], rng)
			}
		}
	}
	return true // nothing rules either way out
}

// cmpFacts tells, for pointer comparison op taken or not (with the packet
// pointer on the left, or on the right when swapped), whether that way
// proves the packet pointer is at most the end (lessThanEnd) and whether
// equality is possible.
func cmpFacts(op uint8, taken, swapped bool) (lessThanEnd, orEqual, known bool) {
	// Normalize to "pk OP end" holding on this way.
	if !taken {
		switch op {
		case isa.JumpGT:
			op = isa.JumpLE
		case isa.JumpGE:
			op = isa.JumpLT
		case isa.JumpLT:
			op = isa.JumpGE
		case isa.JumpLE:
			op = isa.JumpGT
		default:
			return false, false, false
		}
	}
	if swapped { // end OP pk  is  pk OP' end
		switch op {
		case isa.JumpGT:
			op = isa.JumpLT
		case isa.JumpGE:
			op = isa.JumpLE
		case isa.JumpLT:
			op = isa.JumpGT
		case isa.JumpLE:
			op = isa.JumpGE
		}
	}
	switch op {
	case isa.JumpLT:
		return true, false, true
	case isa.JumpLE:
		return true, true, true
	}
	return false, false, true
}

// resolveNull turns every copy of a lookup result (same id) into NULL (a
// scalar 0) or into the pointer it is, on one way of a NULL check. A NULL
// ring buffer reservation holds no reference.
func resolveNull(st *state, p reg, null bool) {
	id := p.id
	forEachReg(st, func(y *reg) {
		if !y.t.orNull() || y.id != id {
			return
		}
		if null {
			*y = scalarReg(zero64, int(y.origin))
			return
		}
		switch y.t {
		case tMapValueOrNull:
			y.t = tMapValue
		case tMapHandleOrNull:
			y.t = tMapHandle
		case tMemOrNull:
			y.t = tMem
		}
	})
	if null && p.ref != 0 {
		st.release(p.ref)
	}
}

func (st *state) release(ref uint32) bool {
	for i, r := range st.refs {
		if r.id == ref {
			st.refs = append(st.refs[:i], st.refs[i+1:]...)
			return true
		}
	}
	return false
}

// pktKnown measures how much a state knows of the packet's length.
func pktKnown(st *state) int64 {
	n := st.metaRange
	for _, r := range st.pktRange {
		n += r
	}
	return n
}
