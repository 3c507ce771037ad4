package verifier

import (
	"math"

	"github.com/ebpfhost/ebpfhost/isa"
)

// refine narrows a and b (the operands of a conditional jump) for the
// branch where the condition holds (taken) or does not. ok is false when
// that branch cannot happen.
func refine(op uint8, is32 bool, a, b scalar, taken bool) (scalar, scalar, bool) {
	if is32 {
		// When the upper halves are known zero (and, for a signed
		// comparison, the low halves non-negative as int32), comparing the
		// low halves compares the registers; otherwise it narrows only
		// what is known of the low halves.
		signed := op == isa.JumpSGT || op == isa.JumpSGE || op == isa.JumpSLT || op == isa.JumpSLE
		if !a.fits32() || !b.fits32() || signed && (a.umax > math.MaxInt32 || b.umax > math.MaxInt32) {
			return refineLow(op, signed, a, b, taken)
		}
	}
	// Express the not-taken branch as the negated condition.
	if !taken {
		switch op {
		case isa.JumpEQ:
			op = isa.JumpNE
		case isa.JumpNE:
			op = isa.JumpEQ
		case isa.JumpGT:
			op = isa.JumpLE
		case isa.JumpGE:
			op = isa.JumpLT
		case isa.JumpLT:
			op = isa.JumpGE
		case isa.JumpLE:
			op = isa.JumpGT
		case isa.JumpSGT:
			op = isa.JumpSLE
		case isa.JumpSGE:
			op = isa.JumpSLT
		case isa.JumpSLT:
			op = isa.JumpSGE
		case isa.JumpSLE:
			op = isa.JumpSGT
		case isa.JumpSET:
			// a & b == 0: the bits b may have are clear in a.
			if b.isConst() {
				a.tn = tnum{a.tn.value &^ b.value(), a.tn.mask &^ b.value()}
				if a.tn.value&b.value() != 0 {
					return a, b, false
				}
				a.sync()
				return a, b, !a.empty()
			}
			if a.isConst() && b.isConst() && a.value()&b.value() != 0 {
				return a, b, false
			}
			return a, b, true
		}
	}
	switch op {
	case isa.JumpEQ:
		m := intersect(a, b)
		return m, m, !m.empty()
	case isa.JumpNE:
		if a.isConst() && b.isConst() {
			return a, b, a.value() != b.value()
		}
		if b.isConst() {
			a = excludeEnd(a, b.value())
		} else if a.isConst() {
			b = excludeEnd(b, a.value())
		}
		return a, b, !a.empty() && !b.empty()
	case isa.JumpGT: // a > b
		if b.umin == math.MaxUint64 || a.umax == 0 {
			return a, b, false
		}
		a.umin = max(a.umin, b.umin+1)
		b.umax = min(b.umax, a.umax-1)
	case isa.JumpGE:
		a.umin = max(a.umin, b.umin)
		b.umax = min(b.umax, a.umax)
	case isa.JumpLT: // a < b
		if a.umin == math.MaxUint64 || b.umax == 0 {
			return a, b, false
		}
		a.umax = min(a.umax, b.umax-1)
		b.umin = max(b.umin, a.umin+1)
	case isa.JumpLE:
		a.umax = min(a.umax, b.umax)
		b.umin = max(b.umin, a.umin)
	case isa.JumpSGT:
		if b.smin == math.MaxInt64 || a.smax == math.MinInt64 {
			return a, b, false
		}
		a.smin = max(a.smin, b.smin+1)
		b.smax = min(b.smax, a.smax-1)
	case isa.JumpSGE:
		a.smin = max(a.smin, b.smin)
		b.smax = min(b.smax, a.smax)
	case isa.JumpSLT:
		if a.smin == math.MaxInt64 || b.smax == math.MinInt64 {
			return a, b, false
		}
		a.smax = min(a.smax, b.smax-1)
		b.smin = max(b.smin, a.smin+1)
	case isa.JumpSLE:
		a.smax = min(a.smax, b.smax)
		b.smin = max(b.smin, a.smin)
	case isa.JumpSET:
		if a.isConst() && b.isConst() {
			return a, b, a.value()&b.value() != 0
		}
		if b.isConst() && a.tn.mask&b.value() == 0 && a.tn.value&b.value() == 0 {
			return a, b, false // every bit b tests is known clear in a
		}
		return a, b, true
	}
	if a.umin > a.umax || b.umin > b.umax || a.smin > a.smax || b.smin > b.smax {
		return a, b, false
	}
	a.sync()
	b.sync()
	return a, b, !a.empty() && !b.empty()
}

// refineLow is refine for a 32-bit comparison of registers whose upper
// halves may be anything: it compares the low halves as 64-bit values
// (zero-extended, or sign-extended for a signed comparison) and gives each
// register what that proved about its low half.
func refineLow(op uint8, signed bool, a, b scalar, taken bool) (scalar, scalar, bool) {
	view := zext32
	if signed {
		view = sext32
	}
	av, bv, ok := refine(op, false, view(a), view(b), taken)
	if !ok {
		return a, b, false
	}
	a, b = narrowLow(a, av, signed), narrowLow(b, bv, signed)
	return a, b, !a.empty() && !b.empty()
}

// narrowLow narrows s by v, what a comparison proved about s's low half
// extended to 64 bits (by sign when signed).
func narrowLow(s, v scalar, signed bool) scalar {
	if signed {
		s.s32min = max(s.s32min, int32(min(max(v.smin, math.MinInt32), math.MaxInt32)))
		s.s32max = min(s.s32max, int32(max(min(v.smax, math.MaxInt32), math.MinInt32)))
	} else {
		s.u32min = max(s.u32min, uint32(min(v.umin, math.MaxUint32)))
		s.u32max = min(s.u32max, uint32(min(v.umax, math.MaxUint32)))
	}
	if (s.tn.value^v.tn.value)&^(s.tn.mask|v.tn.mask)&low32Mask != 0 {
		s.u32min, s.u32max = 1, 0 // known low bits disagree: impossible
		return s
	}
	s.tn = tnIntersect(s.tn, tnum{v.tn.value & low32Mask, v.tn.mask&low32Mask | ^uint64(low32Mask)})
	if !s.empty() {
		s.sync()
	}
	return s
}

// intersect is what is known of a value satisfying both a and b.
func intersect(a, b scalar) scalar {
	r := scalar{
		umin: max(a.umin, b.umin), umax: min(a.umax, b.umax),
		smin: max(a.smin, b.smin), smax: min(a.smax, b.smax),
		u32min: max(a.u32min, b.u32min), u32max: min(a.u32max, b.u32max),
		s32min: max(a.s32min, b.s32min), s32max: min(a.s32max, b.s32max),
	}
	if (a.tn.value^b.tn.value)&^(a.tn.mask|b.tn.mask) != 0 {
		r.umin, r.umax = 1, 0 // known bits disagree
		return r
	}
	r.tn = tnIntersect(a.tn, b.tn)
	if !r.empty() {
		r.sync()
	}
	return r
}

// excludeEnd removes v from a when v is one end of a's range.
func excludeEnd(a scalar, v uint64) scalar {
	if a.umin == v && a.umin != math.MaxUint64 {
		a.umin++
	} else if a.umax == v && a.umax != 0 {
		a.umax--
	}
	if a.smin == int64(v) && a.smin != math.MaxInt64 {
		a.smin++
	} else if a.smax == int64(v) && a.smax != math.MinInt64 {
		a.smax--
	}
	if !a.empty() {
		a.sync()
	}
	return a
}
