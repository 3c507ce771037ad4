package verifier_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Soundness: whatever the verifier accepts must run in the checked
// interpreter without a single access outside the memory it was given
// and without a helper finding an argument the verifier should have
// refused. FuzzSoundness checks it on random and mutated bytecode;
// TestMutantsRunClean on a fixed set of mutants of the corpus.

// fuzzSteps bounds the verification of a fuzzed program before it is
// loaded: programs that need more are not run (the runtime verifies with
// the full budget, which a random loop can take minutes to exhaust: the
// time to reject a loop grows with the square of the steps).
const fuzzSteps = 10_000

// mutantSteps is the same bound for the mutants of corpus programs, some
// of which need tens of thousands of steps.
const mutantSteps = 50_000

// fuzzBudget bounds each run of an accepted program; exhausting it is no
// violation (a verified loop may well run longer).
const fuzzBudget = 100_000

// soundness verifies a program over the assembly maps and, when the
// verifier accepts it, loads it into the checked runtime the normal way
// (which verifies it again) and runs it on the packet and a few others.
// It returns what went wrong, or "" when nothing did.
func soundness(rt *core.Runtime, insns []isa.Instruction, pkt []byte) string {
	p := asmProgram("fuzz", insns)
	_, err := verifier.Verify(p, &verifier.Options{MaxSteps: fuzzSteps})
	if err != nil {
		var ve *verifier.Error
		if !errors.As(err, &ve) {
			return fmt.Sprintf("verification failed without a *verifier.Error: %v", err)
		}
		if ve.Kind == verifier.KindTooComplex {
			return ""
		}
		// The log is built on a second run: it must fail the same way.
		_, lerr := verifier.Verify(p, &verifier.Options{MaxSteps: fuzzSteps, Log: true})
		var le *verifier.Error
		if !errors.As(lerr, &le) || le.Kind != ve.Kind || le.PC != ve.PC {
			return fmt.Sprintf("verifying with a log gives %v, without %v", lerr, err)
		}
		return ""
	}
	coll, err := rt.LoadCollection(asmCollection(insns))
	if err != nil {
		return fmt.Sprintf("verified with a budget of %d steps, but loading failed: %v", fuzzSteps, err)
	}
	defer coll.Close()
	prog := coll.Programs["prog"]
	run := func(pkt []byte) error {
		_, err := prog.TestRun(&core.TestRunOptions{Data: pkt})
		return err
	}
	var fails []string
	if err := run(pkt); err != nil && !errors.Is(err, interp.ErrBudgetExceeded) {
		fails = append(fails, fmt.Sprintf("fuzzed packet (%d bytes): %v", len(pkt), err))
	}
	for _, i := range []int{0, 4, 17} { // empty, IPv4 TCP, 1500 bytes
		if err := run(testPackets[i]); err != nil && !errors.Is(err, interp.ErrBudgetExceeded) {
			fails = append(fails, fmt.Sprintf("packet %d (%d bytes): %v", i, len(testPackets[i]), err))
		}
	}
	if knownFailure(fails) != "" {
		return ""
	}
	return strings.Join(fails, "\n")
}

// seedsFlag rewrites the seed corpus (see TestWriteFuzzSeeds).
var seedsFlag = flag.Bool("seeds", false, "rewrite testdata/fuzz/FuzzSoundness from the C corpus")

func FuzzSoundness(f *testing.F) {
	for _, c := range asmCorpus {
		if c.expect.Known != "" || c.insns != nil {
			continue
		}
		insns, err := isa.Assemble(c.src)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(isa.Encode(insns), testPackets[4])
	}
	// One checked runtime serves every input: creating one per input
	// would dominate the time.
	rt := newRuntime(f, fuzzBudget)
	f.Cleanup(func() { rt.Close() })
	f.Fuzz(func(t *testing.T, code, pkt []byte) {
		if len(code) > 8*4096 || len(pkt) > 4096 {
			return
		}
		insns, err := isa.Decode(code)
		if err != nil {
			return
		}
		if msg := soundness(rt, insns, pkt); msg != "" {
			t.Fatalf("%s\nprogram:\n%s", msg, isa.Disassemble(insns))
		}
	})
}

// FuzzVerify feeds arbitrary bytecode to the verifier: it must never
// panic, must answer with a *verifier.Error when it rejects, and must
// reach the same verdict with a log as without.
func FuzzVerify(f *testing.F) {
	for _, c := range asmCorpus {
		f.Add(isa.Encode(c.instructions(f)))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, code []byte) {
		if len(code) > 8*4096 {
			return
		}
		insns, err := isa.Decode(code)
		if err != nil {
			// Undecodable programs must still be refused cleanly when
			// handed over as whatever Decode could not make sense of.
			insns = rawInstructions(code)
		}
		p := asmProgram("fuzz", insns)
		_, err = verifier.Verify(p, &verifier.Options{MaxSteps: fuzzSteps})
		_, lerr := verifier.Verify(p, &verifier.Options{MaxSteps: fuzzSteps, Log: true})
		var ve, le *verifier.Error
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("rejected without a *verifier.Error: %v", err)
		}
		if (err == nil) != (lerr == nil) {
			t.Fatalf("with a log: %v; without: %v", lerr, err)
		}
		if err != nil && (!errors.As(lerr, &le) || le.Kind != ve.Kind || le.PC != ve.PC) {
			t.Fatalf("with a log: %v; without: %v", lerr, err)
		}
	})
}

// rawInstructions splits code into 8-byte slots without any validation,
// the way a careless loader might hand them over.
func rawInstructions(code []byte) []isa.Instruction {
	var out []isa.Instruction
	for i := 0; i+8 <= len(code); i += 8 {
		b := code[i : i+8]
		out = append(out, isa.Instruction{
			Opcode: isa.Opcode(b[0]),
			Dst:    isa.Register(b[1] & 0xf),
			Src:    isa.Register(b[1] >> 4),
			Offset: int16(uint16(b[2]) | uint16(b[3])<<8),
			Imm:    int64(int32(uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24)),
		})
	}
	return out
}

// knownFailures recognizes, by the runtime's message, failures that are
// no violation (none today: a bad bpf_trace_printk format now makes the
// helper return -EINVAL, as on Linux, instead of failing the program).
// Everything a verified program does wrong is a verifier bug.
var knownFailures = []struct{ message, issue string }{}

// knownFailure returns the known issue that explains every failure, or "".
func knownFailure(fails []string) string {
	issue := ""
	for _, f := range fails {
		match := ""
		for _, k := range knownFailures {
			if strings.Contains(f, k.message) {
				match = k.issue
			}
		}
		if match == "" {
			return ""
		}
		issue = match
	}
	return issue
}

// mutate changes one field of one instruction of a copy of insns.
func mutate(rng *rand.Rand, insns []isa.Instruction) []isa.Instruction {
	out := append([]isa.Instruction(nil), insns...)
	i := rng.Intn(len(out))
	ins := &out[i]
	switch rng.Intn(6) {
	case 0: // another opcode of the same class, or any opcode
		if rng.Intn(2) == 0 {
			ins.Opcode = isa.Opcode(uint8(ins.Opcode)&0x07 | uint8(rng.Intn(32))<<3)
		} else {
			ins.Opcode = isa.Opcode(rng.Intn(256))
		}
	case 1:
		ins.Dst = isa.Register(rng.Intn(11))
	case 2:
		ins.Src = isa.Register(rng.Intn(11))
	case 3:
		ins.Offset += int16(rng.Intn(33) - 16)
	case 4:
		ins.Imm += int64(rng.Intn(33) - 16)
		if !ins.IsLDDW() {
			ins.Imm = int64(int32(ins.Imm))
		}
	case 5:
		edge := []int64{0, 1, -1, 2, 7, 8, 15, 16, 63, 64, 255, 256, 511, 512, 513, 4095, 1 << 16, 1<<31 - 1, -1 << 31}
		ins.Imm = edge[rng.Intn(len(edge))]
	}
	return out
}

// mutantSeed fixes the mutants TestMutantsRunClean checks.
const mutantSeed = 20240601

// TestMutantsRunClean mutates every program of the corpus that verifies,
// one field of one instruction at a time (and then a second one), and
// runs every mutant the verifier still accepts in a checked runtime, with
// the maps of its own object.
func TestMutantsRunClean(t *testing.T) {
	perProgram := 60
	if testing.Short() || raceEnabled {
		perProgram = 10
	}
	rt := newRuntime(t, fuzzBudget)
	defer rt.Close()

	type subject struct {
		name string
		spec *loader.CollectionSpec
		prog string
	}
	var subjects []subject
	for _, c := range asmCorpus {
		if c.expect.accept() && c.expect.Known == "" {
			subjects = append(subjects, subject{"asm/" + c.name, asmCollection(c.instructions(t)), "prog"})
		}
	}
	for _, src := range cCorpus(t) {
		if e := readExpect(t, src); !e.accept() || e.Known != "" || e.Platform != "" {
			continue
		}
		spec, err := loader.LoadFile(objectOf(src))
		if err != nil {
			t.Fatal(err)
		}
		for name := range spec.Programs {
			subjects = append(subjects, subject{"c/" + filepath.Base(src) + "/" + name, spec, name})
		}
	}

	rng := rand.New(rand.NewSource(mutantSeed))
	var verified, ran, known int
	for _, s := range subjects {
		orig := s.spec.Programs[s.prog]
		for n := 0; n < perProgram; n++ {
			insns := mutate(rng, orig.Instructions)
			if n%2 == 1 {
				insns = mutate(rng, insns)
			}
			if isa.Validate(insns) != nil {
				continue
			}
			ps := *orig
			ps.Instructions = insns
			spec := *s.spec
			spec.Programs = map[string]*loader.ProgramSpec{}
			for k, v := range s.spec.Programs {
				spec.Programs[k] = v
			}
			spec.Programs[s.prog] = &ps
			vp := verifierPrograms(&spec)
			var p *verifier.Program
			for _, q := range vp {
				if q.Name == s.prog {
					p = q
				}
			}
			if _, err := verifier.Verify(p, &verifier.Options{MaxSteps: mutantSteps}); err != nil {
				continue
			}
			verified++
			coll, err := rt.LoadCollection(&spec)
			if err != nil {
				// Another program of the object may be the one refused.
				continue
			}
			prog := coll.Programs[s.prog]
			fails := runAll(func(pkt []byte) error {
				_, err := prog.TestRun(&core.TestRunOptions{Data: pkt})
				return err
			})
			coll.Close()
			ran++
			if issue := knownFailure(fails); issue != "" {
				known++
				t.Logf("%s, mutant %d: fails as a known issue lets it: %s", s.name, n, issue)
				continue
			}
			if len(fails) > 0 {
				t.Errorf("%s, mutant %d: the verifier accepted it, and it fails in checked mode:\n%s\nprogram:\n%s",
					s.name, n, strings.Join(fails, "\n"), isa.Disassemble(insns))
			}
		}
	}
	t.Logf("%d programs, %d mutants each: %d verified, %d loaded and run on %d packets, %d failing through known issues", len(subjects), perProgram, verified, ran, len(testPackets), known)
}

// TestWriteFuzzSeeds writes the seed corpus of FuzzSoundness from the C
// corpus (go test -run TestWriteFuzzSeeds -seeds): each program's
// instructions with an IPv4 TCP packet. Their map references index the
// assembly maps when fuzzed.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*seedsFlag {
		t.Skip("run with -seeds to rewrite testdata/fuzz/FuzzSoundness")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzSoundness")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, src := range cCorpus(t) {
		spec, err := loader.LoadFile(objectOf(src))
		if err != nil {
			t.Fatal(err)
		}
		for name, ps := range spec.Programs {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", isa.Encode(ps.Instructions), testPackets[4])
			file := filepath.Join(dir, "corpus-"+name)
			if err := os.WriteFile(file, []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
