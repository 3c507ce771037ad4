package interp

import (
	"math"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

// The benchmark programs of docs/performance.md. Each reports ns/insn
// (wall time divided by the instructions the program executes, counted by a
// budgeted run) and ns/run.
var benchPrograms = []struct {
	name string
	asm  string
	data int // bytes of memory passed in r1/r2
}{
	{"alu-loop", `
		mov %r0, 0
		mov %r1, 10000000
	loop:
		add %r0, 3
		xor %r0, %r1
		sub %r1, 1
		jne %r1, 0, loop
		exit`, 0},
	{"stack-loop", `
		mov %r0, 0
		mov %r1, 10000000
	loop:
		stxdw [%r10-8], %r1
		ldxdw %r2, [%r10-8]
		add %r0, %r2
		sub %r1, 1
		jne %r1, 0, loop
		exit`, 0},
	{"byte-load-16MiB", `
		mov %r0, 0
		mov %r3, %r1
		add %r3, %r2
	loop:
		ldxb %r4, [%r1]
		add %r0, %r4
		add %r1, 1
		jne %r1, %r3, loop
		exit`, 16 << 20},
	{"prime-sieve", `
		# count the primes below 20000 by trial division
		mov %r0, 0
		mov %r1, 2
	next:
		mov %r2, 2
	try:
		jge %r2, %r1, prime
		mov %r3, %r1
		div %r3, %r2
		mul %r3, %r2
		jeq %r3, %r1, composite
		add %r2, 1
		ja try
	prime:
		add %r0, 1
	composite:
		add %r1, 1
		jlt %r1, 20000, next
		exit`, 0},
	{"helper-loop", `
		mov %r6, 1000000
	loop:
		call 1
		sub %r6, 1
		jne %r6, 0, loop
		exit`, 0},
	{"trivial", `
		mov %r0, 1
		exit`, 0},
}

func noopHelper(*VM, uint64, uint64, uint64, uint64, uint64) uint64 { return 0 }

func BenchmarkInterpreter(b *testing.B) {
	for _, bp := range benchPrograms {
		for _, checked := range []bool{false, true} {
			name := bp.name
			if checked {
				name += "/checked"
			}
			b.Run(name, func(b *testing.B) {
				insns, err := isa.Assemble(bp.asm)
				if err != nil {
					b.Fatal(err)
				}
				vm, err := New()
				if err != nil {
					b.Fatal(err)
				}
				defer vm.Close()
				var addr, size uint64
				if bp.data > 0 {
					blk, err := mem.Alloc(bp.data)
					if err != nil {
						b.Fatal(err)
					}
					defer blk.Free()
					for i := range blk.Bytes() {
						blk.Bytes()[i] = byte(i)
					}
					addr, size = blk.Addr(), uint64(bp.data)
				}
				helpers := map[int32]Helper{1: noopHelper}
				// Count the instructions one run executes.
				counter, err := Compile(insns, Options{Helpers: helpers, Budget: math.MaxUint64})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := vm.Run(counter, addr, size); err != nil {
					b.Fatal(err)
				}
				executed := vm.steps
				p, err := Compile(insns, Options{Helpers: helpers, Checked: checked})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if checked {
						vm.Grant(addr, size, false)
					}
					if _, err := vm.Run(p, addr, size); err != nil {
						b.Fatal(err)
					}
				}
				perRun := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perRun/float64(executed), "ns/insn")
				b.ReportMetric(perRun, "ns/run")
			})
		}
	}
}
