package interp

import (
	"errors"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

// fuzzHelpers are harmless helpers for fuzzed programs: 1 adds r1 and r2,
// 5 is the conformance suite's unwind helper, and 2 calls r1 as a callback
// with r2 and r3 and ignores its failure, so that a program can hand
// CallFunction anything it likes.
var fuzzHelpers = map[int32]Helper{
	1: func(_ *VM, r1, r2, _, _, _ uint64) uint64 { return r1 + r2 },
	2: func(vm *VM, fn, r2, r3, _, _ uint64) uint64 {
		r0, err := vm.CallFunction(fn, r2, r3)
		if err != nil {
			return 0xbad
		}
		return r0
	},
	5: unwindHelper,
}

// FuzzChecked runs arbitrary valid bytecode in checked mode with a budget:
// whatever the program does, the run must end with a result, a *Fault or
// ErrBudgetExceeded, and never crash the process. (The fast mode trusts
// its input, which the verifier will have proven safe; it is not fuzzed.)
func FuzzChecked(f *testing.F) {
	for _, src := range []string{
		"mov %r0, %r2\nexit",
		"ldxb %r0, [%r1+0]\nexit",
		"add %r1, %r2\nldxb %r0, [%r1+0]\nexit",
		"stdw [%r10-520], 1\nexit",
		"ja -1",
		"call local f\nexit\nf:\ncall local f\nexit",
		"mov %r1, 0\ncall 5\nmov %r0, 1\nexit",
		"lddw %r1, func:cb\nmov %r2, 7\ncall 2\nexit\ncb:\nmov %r0, %r1\nexit",
	} {
		f.Add(isa.Encode(assemble(f, src)), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	}
	f.Fuzz(func(t *testing.T, code, data []byte) {
		insns, err := isa.Decode(code)
		if err != nil {
			return
		}
		p, err := Compile(insns, Options{Checked: true, Budget: 10000, Helpers: fuzzHelpers})
		if err != nil {
			return
		}
		vm, err := New()
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		var addr uint64
		if len(data) > 0 {
			blk, err := mem.Alloc(len(data))
			if err != nil {
				t.Fatal(err)
			}
			defer blk.Free()
			copy(blk.Bytes(), data)
			addr = blk.Addr()
			vm.Grant(addr, uint64(len(data)), true)
		}
		_, err = vm.Run(p, addr, uint64(len(data)))
		var fault *Fault
		switch {
		case err == nil, errors.Is(err, ErrBudgetExceeded):
		case errors.As(err, &fault):
			_ = fault.Error()
		default:
			t.Fatalf("run ended with %v (%T), want a result, a *Fault or ErrBudgetExceeded", err, err)
		}
	})
}
