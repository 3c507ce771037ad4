package interp

import (
	"errors"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

// modes are the four ways a program can be compiled. Semantics must not
// depend on the mode.
var modes = []struct {
	name string
	opts Options
}{
	{"fast", Options{}},
	{"checked", Options{Checked: true}},
	{"budget", Options{Budget: 1 << 20}},
	{"checked+budget", Options{Checked: true, Budget: 1 << 20}},
}

// withHelpers returns opts with helpers set.
func withHelpers(opts Options, helpers map[int32]Helper) Options {
	opts.Helpers = helpers
	return opts
}

func assemble(t testing.TB, src string) []isa.Instruction {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatalf("assembling:\n%s\n%v", src, err)
	}
	return insns
}

func compile(t testing.TB, src string, opts Options) *Program {
	t.Helper()
	p, err := Compile(assemble(t, src), opts)
	if err != nil {
		t.Fatalf("compiling:\n%s\n%v", src, err)
	}
	return p
}

func newVM(t testing.TB) *VM {
	t.Helper()
	vm, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vm.Close(); err != nil {
			t.Error(err)
		}
	})
	return vm
}

// alloc returns n bytes of runtime-owned memory, freed when the test ends.
func alloc(t testing.TB, n int) *mem.Block {
	t.Helper()
	b, err := mem.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Free(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// recorder is a helper that remembers the r1 to r5 of every call and
// returns ret.
type recorder struct {
	calls [][5]uint64
	ret   uint64
}

func (rec *recorder) helper(_ *VM, r1, r2, r3, r4, r5 uint64) uint64 {
	rec.calls = append(rec.calls, [5]uint64{r1, r2, r3, r4, r5})
	return rec.ret
}

// unwindHelper behaves like the conformance suite's helper 5: it returns
// r1, and when r1 is zero it stops the program with r0 = 0.
func unwindHelper(vm *VM, r1, _, _, _, _ uint64) uint64 {
	if r1 == 0 {
		vm.Unwind(0)
	}
	return r1
}

// asFault returns err as a *Fault or fails the test.
func asFault(t testing.TB, err error) *Fault {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got error %v (%T), want a *Fault", err, err)
	}
	return f
}

// wantFault checks that err is a *Fault at instruction pc whose reason
// contains reason.
func wantFault(t testing.TB, err error, pc int, reason string) *Fault {
	t.Helper()
	f := asFault(t, err)
	if f.PC != pc {
		t.Errorf("fault at instruction %d, want %d: %v", f.PC, pc, f)
	}
	if !strings.Contains(f.Reason, reason) {
		t.Errorf("fault reason %q does not mention %q", f.Reason, reason)
	}
	return f
}
