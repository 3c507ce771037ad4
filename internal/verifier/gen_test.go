package verifier_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Random programs for the soundness checks: genProgram turns bytes into
// a program built from the pieces verified programs are made of (packet
// pointers and checks against data_end, stack and map value accesses at
// constant and variable offsets, map lookups with or without NULL
// checks, ring buffer reservations, helper calls with memory arguments,
// atomics, pointer arithmetic, forward and backward jumps), so that a
// good share of them verify and exercise the verifier's reasoning rather
// than its first check. The bytes drive every choice, so the fuzzer's
// mutations of them make small changes to the program.

// byteSource hands out choices from fuzz bytes (zeros once they run out).
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) n(k int) int {
	if k <= 1 {
		return 0
	}
	var v int
	if s.i < len(s.b) {
		v = int(s.b[s.i])
		s.i++
	}
	if k > 256 && s.i < len(s.b) {
		v = v<<8 | int(s.b[s.i])
		s.i++
	}
	return v % k
}

func (s *byteSource) pick(xs ...string) string { return xs[s.n(len(xs))] }

var genImms = []int64{0, 1, 2, 3, 4, 7, 8, 13, 14, 15, 16, 20, 31, 32, 34, 42, 54, 63, 64, 255, 256, 511, 512, 4095, 1 << 16, 1<<31 - 1, -1, -2, -8, -16, -512, -1 << 31}

func (s *byteSource) imm() int64 { return genImms[s.n(len(genImms))] }

// reg picks a register to read; dst one to write (rarely the packet
// pointers r2 and r3 or the context in r6).
func (s *byteSource) reg() string { return fmt.Sprintf("%%r%d", s.n(11)) }

func (s *byteSource) dst() string {
	return s.pick("%r0", "%r4", "%r5", "%r7", "%r8", "%r9", "%r0", "%r4", "%r5", "%r7", "%r8", "%r9", "%r2", "%r3", "%r6")
}

func (s *byteSource) size() string { return s.pick("b", "h", "w", "dw") }

func (s *byteSource) off() int64 {
	return []int64{0, 0, 1, 2, 4, 8, 12, 13, 14, 16, 20, -1, -4, -8, -16, -24, -32, -64, -512}[s.n(19)]
}

// genProgram builds a program from b; it may not assemble (the caller
// skips those) and need not verify.
func genProgram(b []byte) string {
	s := &byteSource{b: b}
	n := 2 + s.n(24)
	var out strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&out, "\t"+f+"\n", a...) }
	// The packet pointers in r2 and r3, the context kept in r6, a stack
	// pointer in r7, numbers elsewhere; after a call, r1 to r5 again.
	w("ldxw %%r2, [%%r1+0]")
	w("ldxw %%r3, [%%r1+4]")
	w("mov %%r6, %%r1")
	w("mov %%r7, %%r10")
	w("add %%r7, -32")
	w("mov %%r0, %d", s.imm())
	w("mov %%r8, %d", s.imm())
	w("mov %%r9, %d", s.imm())
	for i := 1; i <= 4; i++ {
		w("stdw [%%r10-%d], %d", 8*i, s.imm())
	}
	after := func() {
		w("mov %%r1, %%r6")
		w("ldxw %%r2, [%%r6+0]")
		w("ldxw %%r3, [%%r6+4]")
		w("mov %%r4, %d", s.imm())
		w("mov %%r5, %d", s.imm())
	}
	after()
	label := func(i int) string {
		if i >= n {
			return "end"
		}
		return fmt.Sprintf("l%d", i)
	}
	alu := []string{"add", "sub", "mul", "div", "mod", "or", "and", "lsh", "rsh", "arsh", "xor"}
	jmp := []string{"jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&out, "%s:\n", label(i))
		switch s.n(24) {
		case 0:
			w("mov %s, %d", s.dst(), s.imm())
		case 1:
			w("mov%s %s, %s", s.pick("", "", "32"), s.dst(), s.reg())
		case 2:
			w("%s%s %s, %d", alu[s.n(len(alu))], s.pick("", "", "32"), s.pick("%r0", "%r4", "%r5", "%r8", "%r9", s.dst()), s.imm())
		case 3:
			w("%s%s %s, %s", alu[s.n(len(alu))], s.pick("", "", "32"), s.pick("%r0", "%r4", "%r5", "%r8", "%r9", s.dst()), s.pick("%r0", "%r4", "%r5", "%r8", "%r9", s.reg()))
		case 4:
			w("ldxw %s, [%%r6+%d]", s.dst(), []int{0, 4, 8, 12, 16}[s.n(5)])
		case 5:
			r := s.dst()
			w("mov %s, %%r10", r)
			w("add %s, %d", r, -8*int64(1+s.n(64)))
		case 6:
			w("ldx%s %s, [%s%+d]", s.size(), s.dst(), s.pick("%r2", "%r7", "%r10", "%r0", "%r8", "%r9", s.reg()), s.off())
		case 7:
			w("stx%s [%s%+d], %s", s.size(), s.pick("%r2", "%r7", "%r10", "%r0", "%r8", "%r9", s.reg()), s.off(), s.reg())
		case 8:
			w("st%s [%s%+d], %d", s.size(), s.pick("%r2", "%r7", "%r10", "%r0", "%r8", "%r9", s.reg()), s.off(), s.imm())
		case 9, 10:
			w("%s %s, %d, %s", jmp[s.n(len(jmp))], s.reg(), s.imm(), label(i+1+s.n(6)))
		case 11, 12:
			w("%s%s %s, %s, %s", jmp[s.n(len(jmp))], s.pick("", "", "", "32"), s.reg(), s.reg(), label(i+1+s.n(6)))
		case 13: // a packet bound check
			r := s.dst()
			w("mov %s, %%r2", r)
			w("add %s, %d", r, s.off()+16)
			w("jgt %s, %%r3, %s", r, label(i+1+s.n(6)))
		case 14: // a map lookup, its result in r0
			w("stw [%%r10-4], %d", s.n(6))
			w("lddw %%r1, map_idx:%d", []int{0, 1, 6, 4, 3}[s.n(5)])
			w("mov %%r2, %%r10")
			w("add %%r2, -4")
			w("call 1")
			if s.n(3) != 0 {
				w("jeq %%r0, 0, %s", label(i+1+s.n(4)))
			}
			w("mov %s, %%r0", s.pick("%r7", "%r8", "%r9", "%r0"))
			after()
		case 15:
			w("call %d", []int{5, 7, 8}[s.n(3)])
			after()
		case 16: // a ring buffer reservation, submitted or not
			w("lddw %%r1, map_idx:2")
			w("mov %%r2, %d", []int{8, 16, 64}[s.n(3)])
			w("mov %%r3, 0")
			w("call 131")
			if s.n(4) != 0 {
				w("jeq %%r0, 0, %s", label(i+1))
				w("st%s [%%r0%+d], 1", s.size(), s.off())
				w("mov %%r1, %%r0")
				w("mov %%r2, 0")
				w("call %d", 132+s.n(2))
			}
			after()
		case 17: // a helper with memory arguments
			w("mov %%r1, %s", s.reg())
			w("mov %%r2, %s", s.pick("8", "16", "%r4", "%r5", "%r8"))
			w("mov %%r3, %s", s.reg())
			w("mov %%r4, %s", s.pick("8", "16", "%r4", "%r5", "%r8"))
			w("call %d", []int{32790, 32791, 28}[s.n(3)])
			after()
		case 18:
			w("lddw %s, map_idx_value:%d+%d", s.dst(), 3+s.n(2), s.n(20))
		case 19:
			w("lock %s%s [%s%+d], %s", s.pick("", "fetch "), s.pick("add", "or", "and", "xor", "xchg", "cmpxchg")+s.pick("", "32"), s.pick("%r7", "%r10", "%r0", "%r8", "%r9", s.reg()), s.off(), s.pick("%r0", "%r4", "%r5", "%r8", "%r9", s.reg()))
		case 20:
			w("%s %s, %s", s.pick("add", "sub"), s.dst(), s.reg())
		case 21:
			w("%s %s", s.pick("le16", "be16", "le32", "be64", "neg", "neg32"), s.dst())
		case 22: // a backward jump: a loop, bounded or not
			if i > 0 {
				w("%s %s, %d, %s", jmp[s.n(len(jmp))], s.reg(), s.imm(), label(i-1-s.n(min(i, 6))))
			}
		case 23:
			w("ldxb %s, [%%r2%+d]", s.dst(), s.off())
		}
	}
	out.WriteString("end:\n\tmov %r0, 2\n\texit\n")
	return out.String()
}

// FuzzSoundnessGen is FuzzSoundness over generated programs (see
// genProgram): go test -run '^$' -fuzz '^FuzzSoundnessGen$' ./internal/verifier
func FuzzSoundnessGen(f *testing.F) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 64; i++ {
		b := make([]byte, 96)
		rng.Read(b)
		f.Add(b, testPackets[4])
	}
	rt := newRuntime(f, fuzzBudget)
	f.Cleanup(func() { rt.Close() })
	f.Fuzz(func(t *testing.T, code, pkt []byte) {
		if len(pkt) > 4096 {
			return
		}
		src := genProgram(code)
		insns, err := isa.Assemble(src)
		if err != nil {
			return
		}
		if msg := soundness(rt, insns, pkt); msg != "" {
			t.Fatalf("%s\nprogram:\n%s", msg, src)
		}
	})
}

// TestRandomProgramsRunClean runs the soundness check on a fixed set of
// generated programs, and reports how many verified.
func TestRandomProgramsRunClean(t *testing.T) {
	n := 3000
	if testing.Short() || raceEnabled {
		n = 300
	}
	rt := newRuntime(t, fuzzBudget)
	defer rt.Close()
	rng := rand.New(rand.NewSource(20240602))
	var built, verified int
	for i := 0; i < n; i++ {
		b := make([]byte, 32+rng.Intn(160))
		rng.Read(b)
		src := genProgram(b)
		insns, err := isa.Assemble(src)
		if err != nil {
			continue
		}
		built++
		if _, err := verifyQuiet(insns); err == nil {
			verified++
		}
		if msg := soundness(rt, insns, testPackets[rng.Intn(len(testPackets))]); msg != "" {
			t.Errorf("program %d: %s\nprogram:\n%s", i, msg, src)
		}
	}
	t.Logf("%d programs generated, %d assembled, %d verified and ran clean", n, built, verified)
}

func verifyQuiet(insns []isa.Instruction) (*verifier.Result, error) {
	return verifier.Verify(asmProgram("gen", insns), &verifier.Options{MaxSteps: fuzzSteps})
}
