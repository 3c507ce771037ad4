package verifier

import (
	"fmt"
	"math"
	"math/bits"
)

// tnum is a "tristate number": the bits in mask are unknown, the others
// are those of value (value&mask == 0). It tracks which bits of a register
// are known, which bounds alone lose (after and, or, shifts).
type tnum struct{ value, mask uint64 }

var tnUnknown = tnum{0, math.MaxUint64}

func tnConst(v uint64) tnum { return tnum{v, 0} }

// tnRange is the most precise tnum holding every value in [min, max].
func tnRange(min, max uint64) tnum {
	chi := min ^ max
	b := bits.Len64(chi)
	if b > 63 {
		return tnUnknown
	}
	delta := uint64(1)<<b - 1
	return tnum{min &^ delta, delta}
}

func (a tnum) isConst() bool { return a.mask == 0 }

func tnAdd(a, b tnum) tnum {
	sm := a.mask + b.mask
	sv := a.value + b.value
	sigma := sm + sv
	chi := sigma ^ sv
	mu := chi | a.mask | b.mask
	return tnum{sv &^ mu, mu}
}

func tnSub(a, b tnum) tnum {
	dv := a.value - b.value
	alpha := dv + a.mask
	beta := dv - b.mask
	chi := alpha ^ beta
	mu := chi | a.mask | b.mask
	return tnum{dv &^ mu, mu}
}

func tnAnd(a, b tnum) tnum {
	alpha := a.value | a.mask
	beta := b.value | b.mask
	v := a.value & b.value
	return tnum{v, alpha & beta &^ v}
}

func tnOr(a, b tnum) tnum {
	v := a.value | b.value
	mu := a.mask | b.mask
	return tnum{v, mu &^ v}
}

func tnXor(a, b tnum) tnum {
	v := a.value ^ b.value
	mu := a.mask | b.mask
	return tnum{v &^ mu, mu}
}

func tnLsh(a tnum, s uint) tnum { return tnum{a.value << s, a.mask << s} }
func tnRsh(a tnum, s uint) tnum { return tnum{a.value >> s, a.mask >> s} }
func tnArsh(a tnum, s uint) tnum {
	return tnum{uint64(int64(a.value) >> s), uint64(int64(a.mask) >> s)}
}

// tnMul multiplies by long multiplication over the known and unknown bits.
func tnMul(a, b tnum) tnum {
	accV := a.value * b.value
	accM := tnum{}
	for a.value != 0 || a.mask != 0 {
		if a.value&1 != 0 {
			accM = tnAdd(accM, tnum{0, b.mask})
		} else if a.mask&1 != 0 {
			accM = tnAdd(accM, tnum{0, b.value | b.mask})
		}
		a = tnRsh(a, 1)
		b = tnLsh(b, 1)
	}
	return tnAdd(tnum{accV, 0}, accM)
}

// tnIntersect combines two facts about the same value.
func tnIntersect(a, b tnum) tnum {
	v := a.value | b.value
	mu := a.mask & b.mask
	return tnum{v &^ mu, mu}
}

// tnIn reports whether every value b allows, a allows too.
func tnIn(a, b tnum) bool {
	if b.mask&^a.mask != 0 {
		return false
	}
	return b.value&^a.mask == a.value
}

func tnCast32(a tnum) tnum { return tnum{a.value & math.MaxUint32, a.mask & math.MaxUint32} }

// scalar is what the verifier knows about a number: unsigned and signed
// 64-bit bounds, the same for its low 32 bits, and the known bits, kept
// consistent with each other. The 32-bit bounds carry what a 32-bit
// comparison (jmp32, which clang emits with -mcpu=v3) proves about the
// low half of a register whose upper half is unknown, to where the program
// then zero- or sign-extends that half (w1 = w1, r1 <<= 32; r1 >>= 32).
// Every literal of this type must set all of them: a zero u32max means
// "the low half is 0".
type scalar struct {
	umin, umax     uint64
	smin, smax     int64
	u32min, u32max uint32
	s32min, s32max int32
	tn             tnum
}

func unknownScalar() scalar {
	return scalar{0, math.MaxUint64, math.MinInt64, math.MaxInt64, 0, math.MaxUint32, math.MinInt32, math.MaxInt32, tnUnknown}
}

func constScalar(v uint64) scalar {
	return scalar{v, v, int64(v), int64(v), uint32(v), uint32(v), int32(v), int32(v), tnConst(v)}
}

// rangeScalar is a value known to be in [min, max] (unsigned).
func rangeScalar(min, max uint64) scalar {
	s := unknownScalar()
	s.umin, s.umax, s.tn = min, max, tnRange(min, max)
	s.sync()
	return s
}

func (s scalar) isConst() bool { return s.tn.isConst() }
func (s scalar) value() uint64 { return s.tn.value }

// sync propagates what each representation knows to the others, as
// Linux's reg_bounds_sync does: 64-bit bounds and known bits, then the
// low half, then 64-bit again with what the low half added.
func (s *scalar) sync() {
	s.sync64()
	s.sync32()
	s.sync64()
}

const low32Mask = math.MaxUint32

// sync32 derives the low half's bounds from the rest and gives back what
// they add: known low bits, and the whole value when the upper half is
// known.
func (s *scalar) sync32() {
	s.u32min = max(s.u32min, uint32(s.tn.value))
	s.u32max = min(s.u32max, uint32(s.tn.value|s.tn.mask))
	// A 64-bit range within one 4 GiB block (the same upper half at both
	// ends, so everywhere between) bounds the low half; for the signed
	// range the ends share their sign too, so it is ordered as unsigned.
	if s.umin <= s.umax && s.umin>>32 == s.umax>>32 {
		s.u32min = max(s.u32min, uint32(s.umin))
		s.u32max = min(s.u32max, uint32(s.umax))
	}
	if s.smin <= s.smax && uint64(s.smin)>>32 == uint64(s.smax)>>32 {
		s.u32min = max(s.u32min, uint32(s.smin))
		s.u32max = min(s.u32max, uint32(s.smax))
	}
	if s.s32min >= 0 || s.s32max < 0 {
		s.u32min = max(s.u32min, uint32(s.s32min))
		s.u32max = min(s.u32max, uint32(s.s32max))
	}
	if s.u32min > s.u32max {
		return // empty: nothing more to derive
	}
	if int32(s.u32min) <= int32(s.u32max) { // does not cross the int32 sign bit
		s.s32min = max(s.s32min, int32(s.u32min))
		s.s32max = min(s.s32max, int32(s.u32max))
	}
	r := tnRange(uint64(s.u32min), uint64(s.u32max))
	s.tn = tnIntersect(s.tn, tnum{r.value, r.mask | ^uint64(low32Mask)})
	// With the upper half known, the value is that half plus the low one:
	// ordered by the low half, as unsigned and (its sign being fixed) as
	// signed.
	if s.tn.mask>>32 == 0 {
		hi := s.tn.value &^ low32Mask
		lo, hiv := hi|uint64(s.u32min), hi|uint64(s.u32max)
		s.umin, s.umax = max(s.umin, lo), min(s.umax, hiv)
		s.smin, s.smax = max(s.smin, int64(lo)), min(s.smax, int64(hiv))
	}
}

func (s *scalar) sync64() {
	// Known bits bound the unsigned range; the range narrows the bits.
	s.umin = max(s.umin, s.tn.value)
	s.umax = min(s.umax, s.tn.value|s.tn.mask)
	if s.umin <= s.umax {
		s.tn = tnIntersect(s.tn, tnRange(s.umin, s.umax))
	}
	// Signed and unsigned bounds agree when the sign is known.
	if s.smin >= 0 || s.smax < 0 {
		s.umin = max(s.umin, uint64(s.smin))
		s.umax = min(s.umax, uint64(s.smax))
	}
	if int64(s.umin) <= int64(s.umax) { // the unsigned range does not cross the sign bit
		s.smin = max(s.smin, int64(s.umin))
		s.smax = min(s.smax, int64(s.umax))
	}
	// Known sign bit.
	if s.tn.mask&(1<<63) == 0 {
		if s.tn.value&(1<<63) != 0 {
			s.smax = min(s.smax, -1)
		} else {
			s.smin = max(s.smin, 0)
		}
	}
}

// empty reports whether no value satisfies the bounds (an impossible
// branch).
func (s scalar) empty() bool {
	return s.umin > s.umax || s.smin > s.smax || s.u32min > s.u32max || s.s32min > s.s32max || s.tn.value&s.tn.mask != 0
}

// in reports whether every value t allows, s allows too.
func (s scalar) in(t scalar) bool {
	return s.umin <= t.umin && t.umax <= s.umax && s.smin <= t.smin && t.smax <= s.smax &&
		s.u32min <= t.u32min && t.u32max <= s.u32max && s.s32min <= t.s32min && t.s32max <= s.s32max &&
		tnIn(s.tn, t.tn)
}

// fits32 reports whether the value's upper 32 bits are known zero.
func (s scalar) fits32() bool { return s.umax <= math.MaxUint32 }

func (s scalar) String() string {
	if s.isConst() {
		v := s.value()
		if int64(v) < 0 && int64(v) > -4096 {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprintf("%d", v)
	}
	out := ""
	add := func(f string, a ...any) {
		if out != "" {
			out += ","
		}
		out += fmt.Sprintf(f, a...)
	}
	if s.umin != 0 || s.umax != math.MaxUint64 {
		if s.umax == math.MaxUint64 {
			add("umin=%d", s.umin)
		} else {
			add("%d..%d", s.umin, s.umax)
		}
	}
	if (s.smin != math.MinInt64 || s.smax != math.MaxInt64) && !(s.smin >= 0 && uint64(s.smin) == s.umin && uint64(s.smax) == s.umax) {
		add("s%d..%d", s.smin, s.smax)
	}
	if out == "" {
		return "unknown"
	}
	return out
}

// add returns a+b.
func sAdd(a, b scalar) scalar {
	r := unknownScalar()
	if sm, ok := addOK(a.smin, b.smin); ok {
		if sx, ok := addOK(a.smax, b.smax); ok {
			r.smin, r.smax = sm, sx
		}
	}
	if a.umax+b.umax >= a.umax && a.umin+b.umin >= a.umin { // no unsigned overflow
		r.umin, r.umax = a.umin+b.umin, a.umax+b.umax
	}
	r.tn = tnAdd(a.tn, b.tn)
	r.sync()
	return r
}

func addOK(a, b int64) (int64, bool) {
	c := a + b
	return c, !((a > 0 && b > 0 && c < 0) || (a < 0 && b < 0 && c >= 0))
}

func sSub(a, b scalar) scalar {
	r := unknownScalar()
	if sm, ok := addOK(a.smin, -b.smax); ok && b.smax != math.MinInt64 {
		if sx, ok := addOK(a.smax, -b.smin); ok && b.smin != math.MinInt64 {
			r.smin, r.smax = sm, sx
		}
	}
	if a.umin >= b.umax { // no unsigned underflow
		r.umin, r.umax = a.umin-b.umax, a.umax-b.umin
	}
	r.tn = tnSub(a.tn, b.tn)
	r.sync()
	return r
}

func sMul(a, b scalar) scalar {
	r := unknownScalar()
	if hi, lo := bits.Mul64(a.umax, b.umax); hi == 0 {
		r.umin, r.umax = a.umin*b.umin, lo
	}
	r.tn = tnMul(a.tn, b.tn)
	r.sync()
	return r
}

func sAnd(a, b scalar) scalar {
	r := unknownScalar()
	r.tn = tnAnd(a.tn, b.tn)
	r.umax = min(a.umax, b.umax)
	r.sync()
	return r
}

func sOr(a, b scalar) scalar {
	r := unknownScalar()
	r.tn = tnOr(a.tn, b.tn)
	r.umin = max(a.umin, b.umin)
	r.sync()
	return r
}

func sXor(a, b scalar) scalar {
	r := unknownScalar()
	r.tn = tnXor(a.tn, b.tn)
	r.sync()
	return r
}

// shift amounts are masked by the instruction; a variable amount makes the
// result unknown unless it is small and known.
func sLsh(a, b scalar, width uint) scalar {
	if !b.isConst() {
		return unknownScalar()
	}
	s := uint(b.value()) & (width - 1)
	r := unknownScalar()
	r.tn = tnLsh(a.tn, s)
	if a.umax <= math.MaxUint64>>s {
		r.umin, r.umax = a.umin<<s, a.umax<<s
	}
	if s == 32 && width == 64 {
		// Exactly the low half moved up (the first step of a zero or
		// sign extension): ordered by it as uint32, and as int32.
		r.umin, r.umax = max(r.umin, uint64(a.u32min)<<32), min(r.umax, uint64(a.u32max)<<32)
		r.smin, r.smax = int64(a.s32min)<<32, int64(a.s32max)<<32
	}
	r.sync()
	return r
}

func sRsh(a, b scalar, width uint) scalar {
	if !b.isConst() {
		r := unknownScalar()
		r.umax = a.umax // shifting right never grows an unsigned value
		r.sync()
		return r
	}
	s := uint(b.value()) & (width - 1)
	r := unknownScalar()
	r.tn = tnRsh(a.tn, s)
	r.umin, r.umax = a.umin>>s, a.umax>>s
	r.sync()
	return r
}

func sArsh(a, b scalar, width uint) scalar {
	if !b.isConst() {
		return unknownScalar()
	}
	s := uint(b.value()) & (width - 1)
	r := unknownScalar()
	r.tn = tnArsh(a.tn, s)
	r.smin, r.smax = a.smin>>s, a.smax>>s
	r.sync()
	return r
}

// sDiv and sMod: division by zero yields 0 and the dividend respectively
// (the instruction set defines it), so the bounds stay sound.
func sDiv(a, b scalar) scalar {
	if b.isConst() && b.value() != 0 {
		return rangeScalar(a.umin/b.value(), a.umax/b.value())
	}
	return rangeScalar(0, a.umax)
}

func sMod(a, b scalar) scalar {
	if b.umin > 0 {
		return rangeScalar(0, min(a.umax, b.umax-1))
	}
	return rangeScalar(0, a.umax) // mod by zero leaves the dividend
}

// zext32 is the result of a 32-bit operation: the low half, zero-extended.
func zext32(a scalar) scalar {
	if a.fits32() {
		return a
	}
	r := unknownScalar()
	r.umin, r.umax = uint64(a.u32min), uint64(a.u32max)
	r.u32min, r.u32max, r.s32min, r.s32max = a.u32min, a.u32max, a.s32min, a.s32max
	r.tn = tnCast32(a.tn)
	r.sync()
	return r
}

// sext32 is the low half sign-extended: what a signed 32-bit comparison
// compares.
func sext32(a scalar) scalar {
	r := unknownScalar()
	r.smin, r.smax = int64(a.s32min), int64(a.s32max)
	r.u32min, r.u32max, r.s32min, r.s32max = a.u32min, a.u32max, a.s32min, a.s32max
	// The low bits are a's; the upper ones copy bit 31 when it is known.
	r.tn = tnum{a.tn.value & low32Mask, a.tn.mask&low32Mask | ^uint64(low32Mask)}
	if a.tn.mask&(1<<31) == 0 {
		r.tn = tnArsh(tnLsh(tnCast32(a.tn), 32), 32)
	}
	r.sync()
	return r
}

// low32 is what a 32-bit operation sees of a 64-bit value.
func low32(a scalar) scalar { return zext32(a) }

// sext returns the value sign-extended from bits (8, 16 or 32).
func sext(a scalar, b uint) scalar {
	lim := uint64(1)<<(b-1) - 1
	if a.umax <= lim { // the sign bit of the narrow value is clear: no change
		return a
	}
	if a.isConst() {
		v := a.value() << (64 - b)
		return constScalar(uint64(int64(v) >> (64 - b)))
	}
	if b == 32 {
		return sext32(a)
	}
	r := unknownScalar()
	r.smin, r.smax = -int64(lim)-1, int64(lim)
	r.sync()
	return r
}

// truncate returns the value of a load or cast of size bytes.
func truncate(a scalar, size int) scalar {
	if size >= 8 {
		return a
	}
	lim := uint64(1)<<(8*size) - 1
	if a.umax <= lim {
		return a
	}
	r := rangeScalar(0, lim)
	r.tn = tnIntersect(r.tn, tnum{a.tn.value & lim, a.tn.mask & lim})
	r.sync()
	return r
}
