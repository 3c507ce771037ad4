package core_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/xdp"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/isa"
)

// newRuntime returns a runtime with the xdp program type.
func newRuntime(tb testing.TB, opts core.Options) *core.Runtime {
	tb.Helper()
	rt, err := core.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := rt.RegisterProgramType(xdp.Type()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// load assembles a program (section xdp) whose lddw map_idx:N operands
// refer to the given maps, in order, and loads it with them.
func load(tb testing.TB, rt *core.Runtime, src string, specs ...maps.Spec) *core.Collection {
	tb.Helper()
	return loadWith(tb, rt, rt.LoadCollection, src, specs...)
}

// loadUnverified is load without the verifier.
func loadUnverified(tb testing.TB, rt *core.Runtime, src string, specs ...maps.Spec) *core.Collection {
	tb.Helper()
	return loadWith(tb, rt, func(cs *loader.CollectionSpec) (*core.Collection, error) { return core.LoadUnverified(rt, cs) }, src, specs...)
}

func loadWith(tb testing.TB, rt *core.Runtime, loadFn func(*loader.CollectionSpec) (*core.Collection, error), src string, specs ...maps.Spec) *core.Collection {
	tb.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		tb.Fatal(err)
	}
	cs := &loader.CollectionSpec{File: "test", Maps: map[string]*loader.MapSpec{}, Programs: map[string]*loader.ProgramSpec{}}
	var refs []string
	for i, s := range specs {
		name := fmt.Sprintf("m%d", i)
		cs.Maps[name] = &loader.MapSpec{Spec: s, Section: ".maps"}
		refs = append(refs, name)
	}
	cs.Programs["prog"] = &loader.ProgramSpec{Name: "prog", Section: "xdp", Instructions: insns, MapRefs: refs}
	c, err := loadFn(cs)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// The map benchmarks run a loop of n iterations of one helper call from a
// program and report the cost per operation net of the same loop without
// the call (measured alongside, in the "loop" case).
const benchIterations = 1 << 16

func benchLoop(op string) string {
	return fmt.Sprintf(`
		mov %%r6, %d
		stdw [%%r10-8], 7
	loop:
		%s
		sub %%r6, 1
		jne %%r6, 0, loop
		mov %%r0, 2
		exit`, benchIterations, op)
}

var mapBenchmarks = []struct {
	name string
	op   string
	spec maps.Spec
	fill func(tb testing.TB, m *core.Map)
}{
	{"loop", "mov %r0, 0", maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}, nil},
	{"array-lookup", "lddw %r1, map_idx:0\nmov %r2, %r10\nadd %r2, -8\ncall 1",
		maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024}, nil},
	{"hash-lookup-8", "lddw %r1, map_idx:0\nmov %r2, %r10\nadd %r2, -8\ncall 1",
		maps.Spec{Type: maps.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 10000}, fillHash},
	{"percpu-hash-lookup-8", "lddw %r1, map_idx:0\nmov %r2, %r10\nadd %r2, -8\ncall 1",
		maps.Spec{Type: maps.PerCPUHash, KeySize: 8, ValueSize: 8, MaxEntries: 10000}, fillHash},
	{"hash-update-8", "lddw %r1, map_idx:0\nmov %r2, %r10\nadd %r2, -8\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 2",
		maps.Spec{Type: maps.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 10000}, fillHash},
	{"ringbuf-output-64", "lddw %r1, map_idx:0\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 64\nmov %r4, 0\ncall 130",
		maps.Spec{Type: maps.RingBuf, MaxEntries: 1 << 24}, nil},
	{"ringbuf-reserve-submit-64", "lddw %r1, map_idx:0\nmov %r2, 64\nmov %r3, 0\ncall 131\njeq %r0, 0, +3\nmov %r1, %r0\nmov %r2, 0\ncall 132",
		maps.Spec{Type: maps.RingBuf, MaxEntries: 1 << 24}, nil},
}

// fillHash puts keys 0 to 9999 in a hash map (key 7 is the one looked up).
func fillHash(tb testing.TB, m *core.Map) {
	v := make([]byte, m.UserValueSize())
	for i := uint64(0); i < 10000; i++ {
		if err := m.Update(binary.LittleEndian.AppendUint64(nil, i), v, maps.UpdateAny); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkMapHelpers measures map operations as programs see them: through
// the helper call, on one virtual CPU. ns/op-net subtracts the loop.
func BenchmarkMapHelpers(b *testing.B) {
	var loopNs float64
	for _, bm := range mapBenchmarks {
		b.Run(bm.name, func(b *testing.B) {
			rt := newRuntime(b, core.Options{CPUs: 1})
			// The loops run 65,536 times with branches inside: verifying
			// them would measure the verifier, not the helpers.
			c := loadUnverified(b, rt, benchLoop(bm.op), bm.spec)
			if bm.fill != nil {
				bm.fill(b, c.Maps["m0"])
			}
			p := c.Programs["prog"]
			if bm.spec.Type == maps.RingBuf {
				b.Cleanup(drain(b, c.Maps["m0"]))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.TestRun(nil); err != nil {
					b.Fatal(err)
				}
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / benchIterations
			if bm.name == "loop" {
				loopNs = perOp
			}
			b.ReportMetric(perOp, "ns/iteration")
			b.ReportMetric(perOp-loopNs, "ns/op-net")
		})
	}
}

// drain consumes a ring buffer in the background so producers never find
// it full; it returns the function that stops it.
func drain(tb testing.TB, m *core.Map) func() {
	rb := m.Impl().(*maps.RingBufMap)
	r, err := rb.NewReader()
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var rec maps.RingBufRecord
		for r.ReadInto(&rec) == nil {
		}
	}()
	return func() {
		r.Close()
		<-done
	}
}
