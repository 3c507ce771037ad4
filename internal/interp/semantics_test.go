package interp

import (
	"fmt"
	"strings"
	"testing"
)

// resultCase is a program without inputs and the r0 it must return.
type resultCase struct {
	name string
	asm  string
	want uint64
}

// runResultCases runs every case in every mode.
func runResultCases(t *testing.T, cases []resultCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			insns := assemble(t, tc.asm)
			vm := newVM(t)
			for _, m := range modes {
				p, err := Compile(insns, m.opts)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				got, err := vm.Run(p)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				if got != tc.want {
					t.Errorf("%s: r0 = %#x, want %#x", m.name, got, tc.want)
				}
			}
		})
	}
}

func TestDivisionByZero(t *testing.T) {
	// r0 starts as x64 (upper half set, low half with its sign bit set)
	// and r1 as a register divisor whose low 32 bits are zero but whose
	// upper half is not, for the 32-bit register forms.
	const x64 = "lddw %r0, 0xfedcba9887654321\n"
	const (
		low32 = 0x87654321
		full  = 0xfedcba9887654321
	)
	cases := []resultCase{
		{"div64-imm", x64 + "div %r0, 0\nexit", 0},
		{"div64-reg", x64 + "mov %r1, 0\ndiv %r0, %r1\nexit", 0},
		{"sdiv64-imm", x64 + "sdiv %r0, 0\nexit", 0},
		{"sdiv64-reg", x64 + "mov %r1, 0\nsdiv %r0, %r1\nexit", 0},
		{"div32-imm", x64 + "div32 %r0, 0\nexit", 0},
		{"div32-reg", x64 + "mov %r1, 0\ndiv32 %r0, %r1\nexit", 0},
		{"div32-reg-high-divisor", x64 + "lddw %r1, 0x100000000\ndiv32 %r0, %r1\nexit", 0},
		{"sdiv32-imm", x64 + "sdiv32 %r0, 0\nexit", 0},
		{"sdiv32-reg", x64 + "mov %r1, 0\nsdiv32 %r0, %r1\nexit", 0},
		{"sdiv32-reg-high-divisor", x64 + "lddw %r1, 0xffffffff00000000\nsdiv32 %r0, %r1\nexit", 0},

		{"mod64-imm", x64 + "mod %r0, 0\nexit", full},
		{"mod64-reg", x64 + "mov %r1, 0\nmod %r0, %r1\nexit", full},
		{"smod64-imm", x64 + "smod %r0, 0\nexit", full},
		{"smod64-reg", x64 + "mov %r1, 0\nsmod %r0, %r1\nexit", full},
		{"mod32-imm", x64 + "mod32 %r0, 0\nexit", low32},
		{"mod32-reg", x64 + "mov %r1, 0\nmod32 %r0, %r1\nexit", low32},
		{"mod32-reg-high-divisor", x64 + "lddw %r1, 0x100000000\nmod32 %r0, %r1\nexit", low32},
		{"smod32-imm", x64 + "smod32 %r0, 0\nexit", low32},
		{"smod32-reg", x64 + "mov %r1, 0\nsmod32 %r0, %r1\nexit", low32},
		{"smod32-reg-high-divisor", x64 + "lddw %r1, 0xffffffff00000000\nsmod32 %r0, %r1\nexit", low32},
	}
	runResultCases(t, cases)
}

func TestSignedOverflow(t *testing.T) {
	// INT_MIN / -1 overflows: the quotient is INT_MIN and the remainder 0,
	// with no trap.
	const (
		min64 = "lddw %r0, 0x8000000000000000\n"
		// the low half is INT32_MIN; the upper half must be ignored
		min32 = "lddw %r0, 0xdeadbeef80000000\n"
		neg1  = "mov %r1, -1\n"
		// -1 in the low half only
		neg1x32 = "lddw %r1, 0x12345678ffffffff\n"
	)
	cases := []resultCase{
		{"sdiv64-imm", min64 + "sdiv %r0, -1\nexit", 0x8000000000000000},
		{"sdiv64-reg", min64 + neg1 + "sdiv %r0, %r1\nexit", 0x8000000000000000},
		{"smod64-imm", min64 + "smod %r0, -1\nexit", 0},
		{"smod64-reg", min64 + neg1 + "smod %r0, %r1\nexit", 0},
		{"sdiv32-imm", min32 + "sdiv32 %r0, -1\nexit", 0x80000000},
		{"sdiv32-reg", min32 + neg1x32 + "sdiv32 %r0, %r1\nexit", 0x80000000},
		{"smod32-imm", min32 + "smod32 %r0, -1\nexit", 0},
		{"smod32-reg", min32 + neg1x32 + "smod32 %r0, %r1\nexit", 0},

		// Signed division truncates toward zero; the remainder takes the
		// dividend's sign.
		{"sdiv64-trunc", "mov %r0, -7\nsdiv %r0, 2\nexit", 0xfffffffffffffffd},
		{"smod64-neg-dividend", "mov %r0, -7\nsmod %r0, 2\nexit", 0xffffffffffffffff},
		{"smod64-neg-divisor", "mov %r0, 7\nsmod %r0, -2\nexit", 1},
		{"sdiv32-trunc", "mov %r0, -7\nsdiv32 %r0, 2\nexit", 0xfffffffd},
		{"smod32-neg-dividend", "mov %r0, -7\nsmod32 %r0, 2\nexit", 0xffffffff},

		// Unsigned division sign-extends the immediate to 64 bits.
		{"div64-imm-neg1", "mov %r0, -1\ndiv %r0, -1\nexit", 1},
		{"div64-imm-neg1-smaller", "lddw %r0, 0xfffffffffffffffe\ndiv %r0, -1\nexit", 0},
		{"mod64-imm-neg1", "lddw %r0, 0xfffffffffffffffe\nmod %r0, -1\nexit", 0xfffffffffffffffe},
		{"div32-imm-neg1", "mov %r0, -1\ndiv32 %r0, -1\nexit", 1},
	}
	runResultCases(t, cases)
}

func TestShiftMasking(t *testing.T) {
	cases := []resultCase{
		{"lsh64-imm-65", "mov %r0, 1\nlsh %r0, 65\nexit", 2},
		{"lsh64-imm-64", "mov %r0, 1\nlsh %r0, 64\nexit", 1},
		{"lsh64-reg-65", "mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit", 2},
		{"lsh64-reg-high-bits", "mov %r0, 1\nlddw %r1, 0x100000001\nlsh %r0, %r1\nexit", 2},
		{"rsh64-imm-65", "lddw %r0, 0x8000000000000000\nrsh %r0, 65\nexit", 0x4000000000000000},
		{"rsh64-reg-65", "lddw %r0, 0x8000000000000000\nmov %r1, 65\nrsh %r0, %r1\nexit", 0x4000000000000000},
		{"arsh64-imm-65", "lddw %r0, 0x8000000000000000\narsh %r0, 65\nexit", 0xc000000000000000},
		{"arsh64-reg-65", "lddw %r0, 0x8000000000000000\nmov %r1, 65\narsh %r0, %r1\nexit", 0xc000000000000000},
		{"lsh32-imm-33", "mov %r0, 1\nlsh32 %r0, 33\nexit", 2},
		{"lsh32-imm-32", "mov %r0, 1\nlsh32 %r0, 32\nexit", 1},
		{"lsh32-reg-33", "mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit", 2},
		{"lsh32-drops-carry", "lddw %r0, 0xffffffff80000001\nlsh32 %r0, 1\nexit", 2},
		{"rsh32-imm-33", "lddw %r0, 0xffffffff80000000\nrsh32 %r0, 33\nexit", 0x40000000},
		{"rsh32-reg-33", "lddw %r0, 0xffffffff80000000\nmov %r1, 33\nrsh32 %r0, %r1\nexit", 0x40000000},
		{"arsh32-imm-33", "lddw %r0, 0xffffffff80000000\narsh32 %r0, 33\nexit", 0xc0000000},
		{"arsh32-reg-33", "mov32 %r0, 0x80000000\nmov %r1, 33\narsh32 %r0, %r1\nexit", 0xc0000000},
	}
	runResultCases(t, cases)
}

func TestALU32ZeroExtends(t *testing.T) {
	// Every 32-bit operation clears the upper half of its destination, even
	// when the result's bit 31 is set.
	const ones = "mov %r0, -1\n" // 0xffffffffffffffff
	cases := []resultCase{
		{"add32", ones + "add32 %r0, 0\nexit", 0xffffffff},
		{"add32-wraps", ones + "add32 %r0, 1\nexit", 0},
		{"add32-reg", ones + "mov %r1, 0\nadd32 %r0, %r1\nexit", 0xffffffff},
		{"sub32", "mov %r0, 0\nsub32 %r0, 1\nexit", 0xffffffff},
		{"sub32-reg", "mov %r0, 0\nmov %r1, 1\nsub32 %r0, %r1\nexit", 0xffffffff},
		{"mul32", ones + "mul32 %r0, 1\nexit", 0xffffffff},
		{"mul32-reg", ones + "mov %r1, 2\nmul32 %r0, %r1\nexit", 0xfffffffe},
		{"div32", ones + "div32 %r0, 1\nexit", 0xffffffff},
		{"or32", ones + "or32 %r0, 0\nexit", 0xffffffff},
		{"or32-reg", "lddw %r0, 0xffffffff00000000\nmov %r1, 1\nor32 %r0, %r1\nexit", 1},
		{"and32", ones + "and32 %r0, -1\nexit", 0xffffffff},
		{"and32-reg", ones + "mov %r1, -1\nand32 %r0, %r1\nexit", 0xffffffff},
		{"xor32", ones + "xor32 %r0, 0\nexit", 0xffffffff},
		{"xor32-reg", ones + "mov %r1, 0\nxor32 %r0, %r1\nexit", 0xffffffff},
		{"mov32-imm", "mov32 %r0, -1\nexit", 0xffffffff},
		{"mov32-reg", "mov %r1, -1\nmov32 %r0, %r1\nexit", 0xffffffff},
		{"neg32", "mov %r0, 1\nneg32 %r0\nexit", 0xffffffff},
		{"neg64", "mov %r0, 1\nneg %r0\nexit", 0xffffffffffffffff},
		{"lsh32", ones + "lsh32 %r0, 0\nexit", 0xffffffff},
		{"rsh32", ones + "rsh32 %r0, 0\nexit", 0xffffffff},
		{"arsh32", ones + "arsh32 %r0, 4\nexit", 0xffffffff},
		{"arsh32-reg", ones + "mov %r1, 4\narsh32 %r0, %r1\nexit", 0xffffffff},
		{"mod32", ones + "mod32 %r0, 0x7fffffff\nexit", 1},
		{"sdiv32", ones + "sdiv32 %r0, 1\nexit", 0xffffffff},
		{"smod32", "mov %r0, -7\nsmod32 %r0, 4\nexit", 0xfffffffd},
		{"mov64-imm-sign-extends", "mov %r0, -1\nexit", 0xffffffffffffffff},
	}
	runResultCases(t, cases)
}

func TestMovsx(t *testing.T) {
	cases := []resultCase{
		{"movsx864-neg", "mov %r1, 0x180\nmovsx864 %r0, %r1\nexit", 0xffffffffffffff80},
		{"movsx864-pos", "mov %r1, 0xff7f\nmovsx864 %r0, %r1\nexit", 0x7f},
		{"movsx1664-neg", "mov %r1, 0x18000\nmovsx1664 %r0, %r1\nexit", 0xffffffffffff8000},
		{"movsx1664-pos", "mov %r1, 0xf7fff\nmovsx1664 %r0, %r1\nexit", 0x7fff},
		{"movsx3264-neg", "lddw %r1, 0x180000000\nmovsx3264 %r0, %r1\nexit", 0xffffffff80000000},
		{"movsx3264-pos", "lddw %r1, 0xf7fffffff\nmovsx3264 %r0, %r1\nexit", 0x7fffffff},
		{"movsx832-neg", "mov %r1, 0x180\nmovsx832 %r0, %r1\nexit", 0xffffff80},
		{"movsx832-pos", "mov %r1, -0x81\nmovsx832 %r0, %r1\nexit", 0x7f},
		{"movsx1632-neg", "mov %r1, 0x18000\nmovsx1632 %r0, %r1\nexit", 0xffff8000},
		{"movsx1632-pos", "mov %r1, -0x8001\nmovsx1632 %r0, %r1\nexit", 0x7fff},
		{"movsx-same-reg", "mov %r0, 0xff\nmovsx864 %r0, %r0\nexit", 0xffffffffffffffff},
	}
	runResultCases(t, cases)
}

func TestByteSwap(t *testing.T) {
	const x = "lddw %r0, 0x0102030405060708\n"
	cases := []resultCase{
		{"le16", x + "le16 %r0\nexit", 0x0708},
		{"le32", x + "le32 %r0\nexit", 0x05060708},
		{"le64", x + "le64 %r0\nexit", 0x0102030405060708},
		{"be16", x + "be16 %r0\nexit", 0x0807},
		{"be32", x + "be32 %r0\nexit", 0x08070605},
		{"be64", x + "be64 %r0\nexit", 0x0807060504030201},
		{"bswap16", x + "bswap16 %r0\nexit", 0x0807},
		{"bswap32", x + "bswap32 %r0\nexit", 0x08070605},
		{"bswap64", x + "bswap64 %r0\nexit", 0x0807060504030201},
		{"be16-twice", x + "be16 %r0\nbe16 %r0\nexit", 0x0708},
	}
	runResultCases(t, cases)
}

// jumpRefs are the conditional jumps with the comparison each makes on the
// full 64-bit operands; the 32-bit forms compare the low halves.
var jumpRefs = []struct {
	name  string
	cmp   func(a, b uint64) bool
	cmp32 func(a, b uint32) bool
}{
	{"jeq", func(a, b uint64) bool { return a == b }, func(a, b uint32) bool { return a == b }},
	{"jne", func(a, b uint64) bool { return a != b }, func(a, b uint32) bool { return a != b }},
	{"jgt", func(a, b uint64) bool { return a > b }, func(a, b uint32) bool { return a > b }},
	{"jge", func(a, b uint64) bool { return a >= b }, func(a, b uint32) bool { return a >= b }},
	{"jlt", func(a, b uint64) bool { return a < b }, func(a, b uint32) bool { return a < b }},
	{"jle", func(a, b uint64) bool { return a <= b }, func(a, b uint32) bool { return a <= b }},
	{"jsgt", func(a, b uint64) bool { return int64(a) > int64(b) }, func(a, b uint32) bool { return int32(a) > int32(b) }},
	{"jsge", func(a, b uint64) bool { return int64(a) >= int64(b) }, func(a, b uint32) bool { return int32(a) >= int32(b) }},
	{"jslt", func(a, b uint64) bool { return int64(a) < int64(b) }, func(a, b uint32) bool { return int32(a) < int32(b) }},
	{"jsle", func(a, b uint64) bool { return int64(a) <= int64(b) }, func(a, b uint32) bool { return int32(a) <= int32(b) }},
	{"jset", func(a, b uint64) bool { return a&b != 0 }, func(a, b uint32) bool { return a&b != 0 }},
}

// boundaries are values around every signed and unsigned limit of 32 and
// 64 bits.
var boundaries = []uint64{
	0, 1, 2,
	0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000, 0x100000001, 0x17fffffff, 0x180000000,
	0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000001,
	0xffffffff00000000, 0xffffffff80000000,
	0xfffffffffffffffe, 0xffffffffffffffff,
}

func TestConditionalJumpBoundaries(t *testing.T) {
	vm := newVM(t)
	for _, op := range jumpRefs {
		for _, is32 := range []bool{false, true} {
			name := op.name
			if is32 {
				name += "32"
			}
			t.Run(name, func(t *testing.T) {
				for _, a := range boundaries {
					for _, b := range boundaries {
						want := op.cmp(a, b)
						if is32 {
							want = op.cmp32(uint32(a), uint32(b))
						}
						// register form
						checkJump(t, vm, fmt.Sprintf("%s %%r1, %%r2, taken", name), a, b, want)
						// immediate form: the 32-bit immediate is
						// sign-extended to 64 bits before comparing
						imm := int32(b)
						bExt := uint64(int64(imm))
						want = op.cmp(a, bExt)
						if is32 {
							want = op.cmp32(uint32(a), uint32(imm))
						}
						checkJump(t, vm, fmt.Sprintf("%s %%r1, %d, taken", name, imm), a, b, want)
					}
				}
			})
		}
	}
}

// checkJump runs jump with r1 = a and r2 = b in fast and checked+budget
// modes and checks whether it was taken.
func checkJump(t *testing.T, vm *VM, jump string, a, b uint64, want bool) {
	t.Helper()
	src := fmt.Sprintf("mov %%r0, 0\n%s\nexit\ntaken:\nmov %%r0, 1\nexit", jump)
	insns := assemble(t, src)
	for _, opts := range []Options{{}, {Checked: true, Budget: 100}} {
		p, err := Compile(insns, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := vm.Run(p, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if (got == 1) != want {
			t.Errorf("%s with r1=%#x r2=%#x (%+v): taken=%v, want %v", jump, a, b, opts, got == 1, want)
		}
	}
}

func TestSignedVersusUnsignedJumps(t *testing.T) {
	// A few cases spelled out, as a check on the reference functions above.
	cases := []resultCase{
		{"jgt-neg1-gt-1", "mov %r1, -1\nmov %r0, 0\njgt %r1, 1, +1\nexit\nmov %r0, 1\nexit", 1},
		{"jsgt-neg1-not-gt-1", "mov %r1, -1\nmov %r0, 0\njsgt %r1, 1, +1\nexit\nmov %r0, 1\nexit", 0},
		{"jlt-1-lt-imm-neg1", "mov %r1, 1\nmov %r0, 0\njlt %r1, -1, +1\nexit\nmov %r0, 1\nexit", 1},
		{"jslt-1-not-lt-imm-neg1", "mov %r1, 1\nmov %r0, 0\njslt %r1, -1, +1\nexit\nmov %r0, 1\nexit", 0},
		{"jeq-imm-sign-extended", "mov32 %r1, -1\nmov %r0, 0\njeq %r1, -1, +1\nexit\nmov %r0, 1\nexit", 0},
		{"jeq32-ignores-upper", "lddw %r1, 0x12345678ffffffff\nmov %r0, 0\njeq32 %r1, -1, +1\nexit\nmov %r0, 1\nexit", 1},
		{"jsgt32-low-half-negative", "lddw %r1, 0x0000000080000000\nmov %r0, 0\njsgt32 %r1, 0, +1\nexit\nmov %r0, 1\nexit", 0},
		{"jsgt64-positive", "lddw %r1, 0x0000000080000000\nmov %r0, 0\njsgt %r1, 0, +1\nexit\nmov %r0, 1\nexit", 1},
		{"jset32-upper-only", "lddw %r1, 0x100000000\nlddw %r2, 0x100000000\nmov %r0, 0\njset32 %r1, %r2, +1\nexit\nmov %r0, 1\nexit", 0},
	}
	runResultCases(t, cases)
}

func TestJa32LongOffset(t *testing.T) {
	// 40000 instructions are beyond the reach of ja's 16-bit offset.
	filler := strings.Repeat("add %r0, 1\n", 40000)
	cases := []resultCase{
		{"forward", "mov %r0, 7\nja32 done\n" + filler + "done:\nexit", 7},
		{"backward", "mov %r0, 0\nja32 far\nback:\nmov %r0, 9\nexit\nfar:\n" + filler + "ja32 back", 9},
		{"forward-relative", "mov %r0, 7\nja32 +40000\n" + filler + "exit", 7},
	}
	runResultCases(t, cases)
}

func TestAtomics(t *testing.T) {
	// Each program puts initial in the 8 bytes at [r10-8], src in r1 and cmp
	// in r0, performs op on [r10-8], and reports (memory, r1, r0) through
	// helper 1. 32-bit operations work on the low half and must leave the
	// upper half of the memory alone.
	const (
		initial = 0xaaaaaaaa_bbbbbbbb
		cmp     = 0x5555
	)
	cases := []struct {
		op                 string
		src                uint64
		r0                 uint64
		mem, newSrc, newR0 uint64
	}{
		{"lock add [%r10-8], %r1", 0x10, cmp, initial + 0x10, 0x10, cmp},
		{"lock fetch add [%r10-8], %r1", 0x10, cmp, initial + 0x10, initial, cmp},
		{"lock or [%r10-8], %r1", 0x4, cmp, initial | 0x4, 0x4, cmp},
		{"lock fetch or [%r10-8], %r1", 0x4, cmp, initial | 0x4, initial, cmp},
		{"lock and [%r10-8], %r1", 0xf0f0, cmp, initial & 0xf0f0, 0xf0f0, cmp},
		{"lock fetch and [%r10-8], %r1", 0xf0f0, cmp, initial & 0xf0f0, initial, cmp},
		{"lock xor [%r10-8], %r1", 0xffff, cmp, initial ^ 0xffff, 0xffff, cmp},
		{"lock fetch xor [%r10-8], %r1", 0xffff, cmp, initial ^ 0xffff, initial, cmp},
		{"lock xchg [%r10-8], %r1", 0x1234, cmp, 0x1234, initial, cmp},
		{"lock cmpxchg [%r10-8], %r1", 0x1234, initial, 0x1234, 0x1234, initial},      // success
		{"lock cmpxchg [%r10-8], %r1", 0x1234, initial + 1, initial, 0x1234, initial}, // failure
		{"lock cmpxchg [%r10-8], %r1", 0x1234, 0xbbbbbbbb, initial, 0x1234, initial},  // 64-bit compares all bits

		// 32-bit: carries stay in the low half, fetched values are
		// zero-extended, only the low half of the source counts.
		{"lock add32 [%r10-8], %r1", 0x12345678_44444445, cmp, 0xaaaaaaaa_00000000, 0x12345678_44444445, cmp},
		{"lock fetch add32 [%r10-8], %r1", 0x12345678_00000001, cmp, 0xaaaaaaaa_bbbbbbbc, 0xbbbbbbbb, cmp},
		{"lock or32 [%r10-8], %r1", 0xffffffff_00000004, cmp, 0xaaaaaaaa_bbbbbbbf, 0xffffffff_00000004, cmp},
		{"lock fetch or32 [%r10-8], %r1", 0xffffffff_00000004, cmp, 0xaaaaaaaa_bbbbbbbf, 0xbbbbbbbb, cmp},
		{"lock and32 [%r10-8], %r1", 0xffffffff_0000ffff, cmp, 0xaaaaaaaa_0000bbbb, 0xffffffff_0000ffff, cmp},
		{"lock fetch and32 [%r10-8], %r1", 0xffffffff_0000ffff, cmp, 0xaaaaaaaa_0000bbbb, 0xbbbbbbbb, cmp},
		{"lock xor32 [%r10-8], %r1", 0xffffffff_ffffffff, cmp, 0xaaaaaaaa_44444444, 0xffffffff_ffffffff, cmp},
		{"lock fetch xor32 [%r10-8], %r1", 0xffffffff_ffffffff, cmp, 0xaaaaaaaa_44444444, 0xbbbbbbbb, cmp},
		{"lock xchg32 [%r10-8], %r1", 0x12345678_00001234, cmp, 0xaaaaaaaa_00001234, 0xbbbbbbbb, cmp},
		{"lock cmpxchg32 [%r10-8], %r1", 0x1234, 0xffffffff_bbbbbbbb, 0xaaaaaaaa_00001234, 0x1234, 0xbbbbbbbb}, // success: low half equal
		{"lock cmpxchg32 [%r10-8], %r1", 0x1234, 0xbbbbbbbc, initial, 0x1234, 0xbbbbbbbb},                      // failure
	}
	for _, tc := range cases {
		src := fmt.Sprintf(`
			lddw %%r2, %#x
			stxdw [%%r10-8], %%r2
			lddw %%r1, %#x
			lddw %%r0, %#x
			%s
			mov %%r3, %%r0
			mov %%r2, %%r1
			ldxdw %%r1, [%%r10-8]
			call 1
			exit`, uint64(initial), tc.src, tc.r0, tc.op)
		for _, m := range modes {
			rec := &recorder{}
			p := compile(t, src, withHelpers(m.opts, map[int32]Helper{1: rec.helper}))
			if _, err := newVM(t).Run(p); err != nil {
				t.Fatalf("%s (%s): %v", tc.op, m.name, err)
			}
			got := rec.calls[0]
			want := [5]uint64{tc.mem, tc.newSrc, tc.newR0}
			if got != want {
				t.Errorf("%s with src=%#x r0=%#x (%s): memory, src, r0 = %#x, %#x, %#x; want %#x, %#x, %#x",
					tc.op, tc.src, tc.r0, m.name, got[0], got[1], got[2], want[0], want[1], want[2])
			}
		}
	}
}

func TestAtomicSameRegister(t *testing.T) {
	// The address is computed before the fetched value overwrites the
	// source register, even when source and destination are the same.
	runResultCases(t, []resultCase{{"fetch-add-src-is-dst", `
		mov %r1, %r10
		sub %r1, 8
		stxdw [%r1], %r1
		mov %r2, %r1
		lock fetch add [%r1], %r1
		ldxdw %r3, [%r2]
		mov %r0, %r2
		add %r0, %r2
		jne %r3, %r0, fail
		jne %r1, %r2, fail
		mov %r0, 1
		exit
	fail:
		mov %r0, 0
		exit`, 1}})
}

func TestSignExtendingLoads(t *testing.T) {
	const store = "lddw %r1, 0x7f807fff80008000\nstxdw [%r10-8], %r1\n"
	cases := []resultCase{
		{"ldxsb-zero", store + "ldxsb %r0, [%r10-8]\nexit", 0},
		{"ldxsb-neg", store + "ldxsb %r0, [%r10-7]\nexit", 0xffffffffffffff80},
		{"ldxsb-pos", store + "ldxsb %r0, [%r10-1]\nexit", 0x7f},
		{"ldxsh-neg", store + "ldxsh %r0, [%r10-8]\nexit", 0xffffffffffff8000},
		{"ldxsh-pos", store + "ldxsh %r0, [%r10-4]\nexit", 0x7fff},
		{"ldxsh-pos2", store + "ldxsh %r0, [%r10-2]\nexit", 0x7f80},
		{"ldxsw-neg", store + "ldxsw %r0, [%r10-8]\nexit", 0xffffffff80008000},
		{"ldxsw-pos", store + "ldxsw %r0, [%r10-4]\nexit", 0x7f807fff},
		{"ldxb-zero-extends", store + "ldxb %r0, [%r10-7]\nexit", 0x80},
		{"ldxh-zero-extends", store + "ldxh %r0, [%r10-8]\nexit", 0x8000},
		{"ldxw-zero-extends", store + "ldxw %r0, [%r10-8]\nexit", 0x80008000},
	}
	runResultCases(t, cases)
}

func TestStoresAndLoadsWidths(t *testing.T) {
	// Narrow stores write only their width; stores of immediates truncate
	// the sign-extended immediate.
	const fill = "lddw %r1, 0x1111111111111111\nstxdw [%r10-8], %r1\n"
	cases := []resultCase{
		{"stb", fill + "stb [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit", 0x11111111111111ff},
		{"sth", fill + "sth [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit", 0x111111111111ffff},
		{"stw", fill + "stw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit", 0x11111111ffffffff},
		{"stdw-sign-extends", fill + "stdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit", 0xffffffffffffffff},
		{"stxb", fill + "mov %r2, 0x2ff\nstxb [%r10-8], %r2\nldxdw %r0, [%r10-8]\nexit", 0x11111111111111ff},
		{"stxh", fill + "mov %r2, 0x2ffff\nstxh [%r10-7], %r2\nldxdw %r0, [%r10-8]\nexit", 0x1111111111ffff11},
		{"stxw", fill + "mov %r2, -1\nstxw [%r10-4], %r2\nldxdw %r0, [%r10-8]\nexit", 0xffffffff11111111},
	}
	runResultCases(t, cases)
}

func TestBasicALU(t *testing.T) {
	// The ordinary cases of the operations the tests above visit only at
	// their edges.
	cases := []resultCase{
		{"mul64-imm", "mov %r0, 7\nmul %r0, -3\nexit", 0xffffffffffffffeb},
		{"mul64-reg", "lddw %r0, 0x100000001\nmov %r1, 3\nmul %r0, %r1\nexit", 0x300000003},
		{"div64-reg", "mov %r0, 100\nmov %r1, 7\ndiv %r0, %r1\nexit", 14},
		{"mod64-reg", "mov %r0, 100\nmov %r1, 7\nmod %r0, %r1\nexit", 2},
		{"div32-reg", "lddw %r0, 0x100000064\nmov %r1, 7\ndiv32 %r0, %r1\nexit", 14},
		{"mod32-reg", "lddw %r0, 0x100000064\nmov %r1, 7\nmod32 %r0, %r1\nexit", 2},
		{"sdiv64-reg", "mov %r0, -100\nmov %r1, 7\nsdiv %r0, %r1\nexit", 0xfffffffffffffff2},
		{"smod64-reg", "mov %r0, -100\nmov %r1, 7\nsmod %r0, %r1\nexit", 0xfffffffffffffffe},
		{"or64-imm", "mov %r0, 0x10\nor %r0, -0x100\nexit", 0xffffffffffffff10},
		{"or64-reg", "mov %r0, 0x10\nmov %r1, 0x3\nor %r0, %r1\nexit", 0x13},
		{"and64-imm", "mov %r0, -1\nand %r0, 0x0ff0\nexit", 0x0ff0},
		{"and64-reg", "mov %r0, -1\nlddw %r1, 0xf0000000000000f0\nand %r0, %r1\nexit", 0xf0000000000000f0},
		{"xor64-imm", "mov %r0, 0xff\nxor %r0, -1\nexit", 0xffffffffffffff00},
		{"xor64-reg", "mov %r0, 0xff\nmov %r1, 0x0f\nxor %r0, %r1\nexit", 0xf0},
		{"sub64-wraps", "mov %r0, 0\nsub %r0, 1\nexit", 0xffffffffffffffff},
		{"add64-reg", "mov %r0, -1\nmov %r1, 2\nadd %r0, %r1\nexit", 1},
	}
	runResultCases(t, cases)
}
