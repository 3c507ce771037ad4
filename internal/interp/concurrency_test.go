package interp

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
)

func TestConcurrentRuns(t *testing.T) {
	// One compiled program, many goroutines, one VM each. The program sums
	// the 64-bit words of its private memory (r1, r2 bytes) through a local
	// call and its stack, adds a helper's answer, and counts its runs with
	// an atomic add on memory all goroutines share (r3).
	const src = `
		mov %r6, %r1
		mov %r7, %r1
		add %r7, %r2
		mov %r8, %r3
		stdw [%r10-8], 0
	loop:
		jge %r6, %r7, done
		ldxdw %r1, [%r6+0]
		call local accumulate
		add %r6, 8
		ja loop
	done:
		mov %r1, 1
		lock add [%r8+0], %r1
		ldxdw %r0, [%r10-8]
		mov %r1, %r0
		call 1
		exit
	accumulate:
		ldxdw %r2, [%r10+504]
		add %r2, %r1
		stxdw [%r10+504], %r2
		exit`
	const (
		goroutines = 8
		runs       = 200
		words      = 64
	)
	helpers := map[int32]Helper{1: func(vm *VM, r1, _, _, _, _ uint64) uint64 {
		return r1 + uint64(vm.CPU)<<32
	}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := compile(t, src, withHelpers(m.opts, helpers))
			shared := alloc(t, 8)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				// Allocate in the test goroutine: t.Cleanup frees later.
				vm := newVM(t)
				vm.CPU = g
				data := alloc(t, words*8)
				wg.Add(1)
				go func() {
					defer wg.Done()
					var want uint64
					for i := range runs {
						want = 0
						for w := range words {
							v := uint64(g*1000000 + i*1000 + w)
							binary.LittleEndian.PutUint64(data.Bytes()[w*8:], v)
							want += v
						}
						want += uint64(g) << 32
						if m.opts.Checked {
							vm.Grant(data.Addr(), words*8, false)
							vm.Grant(shared.Addr(), 8, true)
						}
						got, err := vm.Run(p, data.Addr(), words*8, shared.Addr())
						if err != nil {
							errs <- fmt.Errorf("goroutine %d run %d: %w", g, i, err)
							return
						}
						if got != want {
							errs <- fmt.Errorf("goroutine %d run %d: r0 = %#x, want %#x", g, i, got, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := binary.LittleEndian.Uint64(shared.Bytes()); got != goroutines*runs && !t.Failed() {
				t.Errorf("shared counter = %d, want %d", got, goroutines*runs)
			}
		})
	}
}
