package core_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/maps"
)

// stressProgram looks up the 8-byte key at the start of the packet in map 0,
// whose values are {key, ^key}. A value that does not match its key (a
// torn or reused element) counts in map 1. Missing keys are inserted, and
// every third key found is deleted, so the program races with itself on
// other virtual CPUs and with user space.
const stressProgram = `
	ldxw %r2, [%r1+0]
	ldxw %r3, [%r1+4]
	mov %r4, %r2
	add %r4, 8
	jgt %r4, %r3, out
	ldxdw %r6, [%r2+0]
	stxdw [%r10-8], %r6
	lddw %r1, map_idx:0
	mov %r2, %r10
	add %r2, -8
	call 1
	jeq %r0, 0, insert
	ldxdw %r7, [%r0+0]
	jne %r7, %r6, bad
	ldxdw %r7, [%r0+8]
	mov %r8, %r6
	xor %r8, -1
	jne %r7, %r8, bad
	mov %r7, %r6
	mod %r7, 3
	jne %r7, 0, out
	lddw %r1, map_idx:0
	mov %r2, %r10
	add %r2, -8
	call 3
	ja out
insert:
	stxdw [%r10-24], %r6
	mov %r8, %r6
	xor %r8, -1
	stxdw [%r10-16], %r8
	lddw %r1, map_idx:0
	mov %r2, %r10
	add %r2, -8
	mov %r3, %r10
	add %r3, -24
	mov %r4, 1
	call 2
	ja out
bad:
	stw [%r10-32], 0
	lddw %r1, map_idx:1
	mov %r2, %r10
	add %r2, -32
	call 1
	jeq %r0, 0, out
	mov %r1, 1
	lock add [%r0+0], %r1
out:
	mov %r0, 2
	exit`

func pair(k uint64) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, k), ^k)
}

// TestStress runs programs on every virtual CPU while user space updates,
// deletes and looks up the same keys; run it with -race. No program may
// ever see a value that does not belong to its key, and user space must
// only ever read whole values.
func TestStress(t *testing.T) {
	const keys = 64
	for _, checked := range []bool{false, true} {
		rt := newRuntime(t, core.Options{CPUs: 4, Checked: checked})
		c := load(t, rt, stressProgram,
			maps.Spec{Type: maps.Hash, KeySize: 8, ValueSize: 16, MaxEntries: keys / 2},
			maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		p, m := c.Programs["prog"], c.Maps["m0"]

		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 1))
				for i := 0; i < 3000; i++ {
					pkt := binary.LittleEndian.AppendUint64(nil, r.Uint64N(keys))
					if _, err := p.TestRun(&core.TestRunOptions{Data: pkt}); err != nil {
						errs <- err
						return
					}
				}
			}(uint64(g))
		}
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 2))
				out := make([]byte, 16)
				for i := 0; i < 3000; i++ {
					k := r.Uint64N(keys)
					key := binary.LittleEndian.AppendUint64(nil, k)
					var err error
					switch r.IntN(3) {
					case 0:
						err = m.Update(key, pair(k), maps.UpdateAny)
					case 1:
						err = m.Delete(key)
					default:
						if err = m.Lookup(key, out); err == nil && string(out) != string(pair(k)) {
							err = errors.New("user space read a value that is not its key's")
						}
					}
					if err != nil && !errors.Is(err, maps.ENOENT) && !errors.Is(err, maps.E2BIG) {
						errs <- err
						return
					}
				}
			}(uint64(100 + g))
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("checked=%v: %v", checked, err)
		}
		bad := make([]byte, 8)
		if err := c.Maps["m1"].Lookup(make([]byte, 4), bad); err != nil {
			t.Fatal(err)
		}
		if n := binary.LittleEndian.Uint64(bad); n != 0 {
			t.Fatalf("checked=%v: programs saw %d values that were not their key's", checked, n)
		}
	}
}
