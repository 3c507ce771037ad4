package interp

import (
	"errors"
	"strings"
	"testing"
)

// checkedModes are the modes that bounds-check memory accesses.
var checkedModes = []struct {
	name string
	opts Options
}{
	{"checked", Options{Checked: true}},
	{"checked+budget", Options{Checked: true, Budget: 1 << 20}},
}

func TestCheckedStack(t *testing.T) {
	// Frame 0 is [r10-512, r10); a callee's frame lies below its caller's.
	// Accesses may reach the current frame and its callers', nothing else.
	cases := []struct {
		name   string
		src    string
		pc     int    // instruction expected to fault
		reason string // "" when the program must run
	}{
		{"frame-top", "ldxdw %r0, [%r10-8]\nexit", 0, ""},
		{"frame-bottom", "stdw [%r10-512], 1\nldxdw %r0, [%r10-512]\nexit", 0, ""},
		{"frame-bottom-byte", "ldxb %r0, [%r10-512]\nexit", 0, ""},
		{"below-frame", "mov %r0, 0\nldxdw %r0, [%r10-520]\nexit", 1, "read of 8 bytes"},
		{"straddles-bottom", "ldxdw %r0, [%r10-516]\nexit", 0, "read of 8 bytes"},
		{"one-byte-below", "ldxb %r0, [%r10-513]\nexit", 0, "read of 1 bytes"},
		{"at-r10", "ldxb %r0, [%r10]\nexit", 0, "read of 1 bytes"},
		{"straddles-top", "stxw [%r10-2], %r1\nexit", 0, "write of 4 bytes"},
		{"write-below-frame", "stdw [%r10-520], 1\nexit", 0, "write of 8 bytes"},
		{"callee-own-frame", `
			call local f
			exit
		f:
			stdw [%r10-512], 3
			ldxdw %r0, [%r10-512]
			exit`, 0, ""},
		{"callee-reads-callers-frame", `
			stdw [%r10-512], 4
			call local f
			exit
		f:
			ldxdw %r0, [%r10+0]
			ldxdw %r1, [%r10+504]
			exit`, 0, ""},
		{"callee-reads-below-its-frame", `
			call local f
			exit
		f:
			ldxdw %r0, [%r10-520]
			exit`, 2, "read of 8 bytes"},
		{"caller-reads-callee-frame-after-return", `
			call local f
			ldxdw %r0, [%r10-520]
			exit
		f:
			exit`, 1, "read of 8 bytes"},
		{"address-wraps", "mov %r1, -4\nldxdw %r0, [%r1+0]\nexit", 1, "read of 8 bytes"},
		{"null", "mov %r1, 0\nstxdw [%r1+8], %r1\nexit", 1, "write of 8 bytes"},
	}
	for _, tc := range cases {
		for _, m := range checkedModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				_, err := newVM(t).Run(compile(t, tc.src, m.opts))
				if tc.reason == "" {
					if err != nil {
						t.Error(err)
					}
					return
				}
				wantFault(t, err, tc.pc, tc.reason)
			})
		}
	}
}

func TestCheckedGrants(t *testing.T) {
	const size = 64
	cases := []struct {
		name     string
		src      string // r1 = the grant's address
		writable bool
		reason   string // "" when the program must run
		pc       int
	}{
		{"read-first", "ldxb %r0, [%r1+0]\nexit", false, "", 0},
		{"read-last-byte", "ldxb %r0, [%r1+63]\nexit", false, "", 0},
		{"read-last-dw", "ldxdw %r0, [%r1+56]\nexit", false, "", 0},
		{"read-one-past", "ldxb %r0, [%r1+64]\nexit", false, "read of 1 bytes", 0},
		{"read-dw-one-byte-past", "ldxdw %r0, [%r1+57]\nexit", false, "read of 8 bytes", 0},
		{"read-before", "ldxb %r0, [%r1-1]\nexit", true, "read of 1 bytes", 0},
		{"write-rw", "stdw [%r1+56], 1\nstxb [%r1+0], %r1\nmov %r0, 0\nexit", true, "", 0},
		{"write-one-past", "stw [%r1+61], 1\nexit", true, "write of 4 bytes", 0},
		{"write-ro", "mov %r0, 0\nstb [%r1+0], 1\nexit", false, "write of 1 bytes", 1},
		{"stx-ro", "mov %r0, 0\nstxdw [%r1+8], %r0\nexit", false, "write of 8 bytes", 1},
		{"atomic-rw", "mov %r2, 1\nlock add [%r1+8], %r2\nlock fetch add32 [%r1+60], %r2\nmov %r0, %r2\nexit", true, "", 0},
		{"atomic-ro", "mov %r2, 1\nlock add [%r1+8], %r2\nexit", false, "write of 8 bytes", 1},
		{"atomic-cmpxchg-ro", "mov %r2, 1\nlock cmpxchg32 [%r1+8], %r2\nexit", false, "write of 4 bytes", 1},
		{"atomic-one-past", "mov %r2, 1\nlock xchg [%r1+64], %r2\nexit", true, "write of 8 bytes", 1},
		{"atomic32-straddles-end", "mov %r2, 1\nlock or32 [%r1+62], %r2\nexit", true, "write of 4 bytes", 1},
		{"atomic-misaligned", "mov %r2, 1\nlock add [%r1+4], %r2\nexit", true, "not aligned", 1},
		{"atomic32-misaligned", "mov %r2, 1\nlock fetch xor32 [%r1+2], %r2\nexit", true, "not aligned", 1},
		{"atomic-misaligned-stack", "mov %r2, 1\nlock add [%r10-12], %r2\nexit", true, "not aligned", 1},
	}
	for _, tc := range cases {
		for _, m := range checkedModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				// Grant the middle of a larger block, so that the bytes
				// around the grant are mapped but not granted.
				blk := alloc(t, 3*size)
				addr := blk.Addr() + size
				vm := newVM(t)
				vm.Grant(addr, size, tc.writable)
				_, err := vm.Run(compile(t, tc.src, m.opts), addr)
				if tc.reason == "" {
					if err != nil {
						t.Error(err)
					}
					return
				}
				wantFault(t, err, tc.pc, tc.reason)
			})
		}
	}
}

func TestCheckedGrantsEndWithRun(t *testing.T) {
	blk := alloc(t, 16)
	vm := newVM(t)
	p := compile(t, "ldxdw %r0, [%r1+0]\nexit", Options{Checked: true})
	vm.Grant(blk.Addr(), 16, false)
	if _, err := vm.Run(p, blk.Addr()); err != nil {
		t.Fatalf("with the grant: %v", err)
	}
	_, err := vm.Run(p, blk.Addr())
	wantFault(t, err, 0, "read of 8 bytes")

	// A grant made by a helper during the run lasts until the run ends.
	helpers := map[int32]Helper{1: func(vm *VM, _, _, _, _, _ uint64) uint64 {
		vm.Grant(blk.Addr()+8, 8, true)
		return blk.Addr() + 8
	}}
	p = compile(t, "call 1\nstdw [%r0+0], 5\nldxdw %r0, [%r0+0]\nexit", Options{Checked: true, Helpers: helpers})
	if got, err := vm.Run(p); err != nil || got != 5 {
		t.Fatalf("helper's grant: r0 = %d, err = %v", got, err)
	}
	p = compile(t, "lddw %r1, 0\nldxdw %r0, [%r1+0]\nexit", Options{Checked: true})
	_, err = vm.Run(p) // null: fails whatever the grants
	wantFault(t, err, 2, "read of 8 bytes")
	_, err = vm.Run(compile(t, "ldxdw %r0, [%r1+8]\nexit", Options{Checked: true}), blk.Addr())
	wantFault(t, err, 0, "read of 8 bytes")

	// Grants also end when the run fails.
	vm.Grant(blk.Addr(), 16, true)
	_, err = vm.Run(compile(t, "ldxdw %r0, [%r1+0]\nja -1", Options{Checked: true, Budget: 100}), blk.Addr())
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("got %v, want ErrBudgetExceeded", err)
	}
	_, err = vm.Run(compile(t, "ldxdw %r0, [%r1+0]\nexit", Options{Checked: true}), blk.Addr())
	wantFault(t, err, 0, "read of 8 bytes")
}

func TestFaultPCIsInstructionIndex(t *testing.T) {
	// lddw takes two instruction slots but one code slot; checked mode adds
	// a check slot before every memory access and budgeted mode a charge
	// slot at every block. The fault must still name instruction 10.
	const src = `
		lddw %r3, 0x1122334455667788   # 0-1
		stxdw [%r10-8], %r3            # 2
		ldxdw %r4, [%r10-8]            # 3
		jeq %r3, %r4, next             # 4
		exit                           # 5
	next:
		lddw %r5, 7                    # 6-7
		stxdw [%r10-16], %r5           # 8
		mov %r1, 0                     # 9
		ldxdw %r0, [%r1+16]            # 10
		exit                           # 11`
	insns := assemble(t, src)
	for _, m := range checkedModes {
		p, err := Compile(insns, m.opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.code) <= len(insns) {
			t.Fatalf("%s: %d code slots for %d instructions; the layouts do not differ", m.name, len(p.code), len(insns))
		}
		_, err = newVM(t).Run(p)
		f := wantFault(t, err, 10, "read of 8 bytes at 0x10")
		if f.Instruction != insns[10] {
			t.Errorf("%s: fault names %v, want %v", m.name, f.Instruction, insns[10])
		}
		if !strings.HasPrefix(f.Error(), "instruction 10 (") {
			t.Errorf("%s: message %q", m.name, f.Error())
		}
	}
}

func TestUncheckedIgnoresGrants(t *testing.T) {
	// The fast mode trusts the program: no check, no fault, grants or not.
	p := compile(t, "ldxdw %r0, [%r10-520]\nexit", Options{})
	if _, err := newVM(t).Run(p); err != nil {
		t.Fatal(err)
	}
}
