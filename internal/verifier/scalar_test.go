package verifier

import (
	"math"
	"math/rand"
	"testing"

	"github.com/ebpfhost/ebpfhost/isa"
)

// has reports whether the concrete value x is one s allows.
func (s scalar) has(x uint64) bool {
	lo := uint32(x)
	return s.umin <= x && x <= s.umax && s.smin <= int64(x) && int64(x) <= s.smax &&
		s.u32min <= lo && lo <= s.u32max && s.s32min <= int32(lo) && int32(lo) <= s.s32max &&
		x&^s.tn.mask == s.tn.value
}

// edgy returns a value near one of the boundaries the domains care about.
func edgy(r *rand.Rand) uint64 {
	bases := []uint64{0, 1, 7, 63, 64, 255, math.MaxInt32, 1 << 31, math.MaxUint32, 1 << 32,
		math.MaxInt64, 1 << 63, math.MaxUint64, 0xffffffff00000000}
	switch r.Intn(3) {
	case 0:
		return r.Uint64()
	case 1:
		return bases[r.Intn(len(bases))] + uint64(r.Intn(5)) - 2
	}
	return uint64(r.Int63n(200)) - 100
}

// around returns a scalar that allows x: random bounds on each side of x
// in every domain, and some of x's bits known.
func around(r *rand.Rand, x uint64) scalar {
	s := unknownScalar()
	if r.Intn(2) == 0 {
		s.umin, s.umax = x-min(x, uint64(r.Intn(300))), x+min(math.MaxUint64-x, uint64(r.Intn(300)))
	}
	if r.Intn(2) == 0 {
		v, d, e := int64(x), int64(r.Intn(300)), int64(r.Intn(300))
		s.smin, s.smax = math.MinInt64, math.MaxInt64
		if v >= math.MinInt64+d {
			s.smin = v - d
		}
		if v <= math.MaxInt64-e {
			s.smax = v + e
		}
	}
	if r.Intn(2) == 0 {
		lo := uint32(x)
		s.u32min, s.u32max = lo-min(lo, uint32(r.Intn(300))), lo+min(math.MaxUint32-lo, uint32(r.Intn(300)))
	}
	if r.Intn(2) == 0 {
		v, d, e := int32(x), int32(r.Intn(300)), int32(r.Intn(300))
		s.s32min, s.s32max = math.MinInt32, math.MaxInt32
		if v >= math.MinInt32+d {
			s.s32min = v - d
		}
		if v <= math.MaxInt32-e {
			s.s32max = v + e
		}
	}
	mask := r.Uint64() | r.Uint64()
	if r.Intn(4) == 0 {
		mask = math.MaxUint64
	}
	s.tn = tnum{x &^ mask, mask}
	s.sync()
	return s
}

// TestScalarSound checks the scalar domain against concrete values: for
// any abstraction of x and y, the result of an operation (or of a
// comparison's branch) allows the concrete result.
func TestScalarSound(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	jumps := []uint8{isa.JumpEQ, isa.JumpNE, isa.JumpGT, isa.JumpGE, isa.JumpLT, isa.JumpLE,
		isa.JumpSGT, isa.JumpSGE, isa.JumpSLT, isa.JumpSLE, isa.JumpSET}
	holds := func(op uint8, a, b uint64) bool {
		switch op {
		case isa.JumpEQ:
			return a == b
		case isa.JumpNE:
			return a != b
		case isa.JumpGT:
			return a > b
		case isa.JumpGE:
			return a >= b
		case isa.JumpLT:
			return a < b
		case isa.JumpLE:
			return a <= b
		case isa.JumpSGT:
			return int64(a) > int64(b)
		case isa.JumpSGE:
			return int64(a) >= int64(b)
		case isa.JumpSLT:
			return int64(a) < int64(b)
		case isa.JumpSLE:
			return int64(a) <= int64(b)
		}
		return a&b != 0 // JumpSET
	}
	for i := 0; i < 200_000; i++ {
		x, y := edgy(r), edgy(r)
		a, b := around(r, x), around(r, y)
		if !a.has(x) {
			t.Fatalf("sync lost %#x: %+v", x, a)
		}
		check := func(what string, s scalar, v uint64) {
			t.Helper()
			if !s.has(v) {
				t.Fatalf("%s of %#x (%+v) and %#x (%+v) = %#x, not in %+v", what, x, a, y, b, v, s)
			}
		}
		check("add", sAdd(a, b), x+y)
		check("sub", sSub(a, b), x-y)
		check("and", sAnd(a, b), x&y)
		check("or", sOr(a, b), x|y)
		check("zext32", zext32(a), uint64(uint32(x)))
		check("sext32", sext32(a), uint64(int64(int32(x))))
		check("sext 32", sext(a, 32), uint64(int64(int32(x))))
		for _, sh := range []uint64{1, 3, 29, 31, 32, 33} {
			c := constScalar(sh)
			check("lsh", sLsh(a, c, 64), x<<sh)
			check("rsh", sRsh(a, c, 64), x>>sh)
			check("arsh", sArsh(a, c, 64), uint64(int64(x)>>sh))
		}
		// The branch the concrete values take must stay possible and
		// keep them; 32-bit jumps compare the low halves.
		op := jumps[r.Intn(len(jumps))]
		is32 := r.Intn(2) == 0
		cx, cy := x, y
		if is32 {
			cx, cy = uint64(uint32(x)), uint64(uint32(y))
			if op == isa.JumpSGT || op == isa.JumpSGE || op == isa.JumpSLT || op == isa.JumpSLE {
				cx, cy = uint64(int64(int32(x))), uint64(int64(int32(y)))
			}
		}
		taken := holds(op, cx, cy)
		ra, rb, ok := refine(op, is32, a, b, taken)
		if !ok || !ra.has(x) || !rb.has(y) {
			t.Fatalf("refine(op %#x, is32 %v, taken %v) of %#x %+v and %#x %+v: ok %v, %+v %+v", op, is32, taken, x, a, y, b, ok, ra, rb)
		}
	}
}
