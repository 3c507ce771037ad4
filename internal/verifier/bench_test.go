package verifier_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Benchmarks (go test -run '^$' -bench . ./internal/verifier): how long
// verification takes per program of the corpus (the median is what
// DESIGN.md compares with PREVAIL's 5.5 ms and Linux's 0.11 ms), on a
// generated 10,000-instruction program with loops, and what it
// allocates.

// corpusPrograms is every program of the corpus, C and assembly, as the
// verifier checks them.
func corpusPrograms(tb testing.TB) []*verifier.Program {
	var out []*verifier.Program
	for _, src := range cCorpus(tb) {
		e := readExpect(tb, src)
		spec, err := loader.LoadFile(objectOf(src))
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range platformPrograms(tb, spec, e.Platform) {
			p.Name = strings.TrimSuffix(filepath.Base(src), ".c") + "/" + p.Name
			out = append(out, p)
		}
	}
	for _, c := range asmCorpus {
		out = append(out, asmProgram("asm/"+c.name, c.instructions(tb)))
	}
	return out
}

// BenchmarkVerifyCorpus verifies every corpus program once per iteration
// and reports the median, 90th percentile and largest time per program
// (ns/op is the whole corpus).
func BenchmarkVerifyCorpus(b *testing.B) {
	progs := corpusPrograms(b)
	times := make([][]time.Duration, len(progs))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, p := range progs {
			start := time.Now()
			verifier.Verify(p, nil)
			times[i] = append(times[i], time.Since(start))
		}
	}
	b.StopTimer()
	// Each program's median over the iterations, then the distribution
	// of those over the corpus.
	per := make([]time.Duration, len(progs))
	for i, ts := range times {
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		per[i] = ts[len(ts)/2]
	}
	order := make([]int, len(progs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, c int) bool { return per[order[a]] < per[order[c]] })
	q := func(f float64) time.Duration { return per[order[int(f*float64(len(order)-1))]] }
	b.ReportMetric(float64(len(progs)), "programs")
	b.ReportMetric(float64(q(0.5).Nanoseconds()), "median-ns/prog")
	b.ReportMetric(float64(q(0.9).Nanoseconds()), "p90-ns/prog")
	b.ReportMetric(float64(q(1).Nanoseconds()), "max-ns/prog")
	if testing.Verbose() {
		slow := order[max(0, len(order)-5):]
		for _, i := range slow {
			b.Logf("slowest: %s %v (%d instructions)", progs[i].Name, per[i], len(progs[i].Insns))
		}
	}
}

// BenchmarkVerifyProgram verifies the corpus programs with the most
// instructions, one sub-benchmark each.
func BenchmarkVerifyProgram(b *testing.B) {
	progs := corpusPrograms(b)
	sort.Slice(progs, func(i, j int) bool { return len(progs[i].Insns) > len(progs[j].Insns) })
	for _, p := range progs[:8] {
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			var res *verifier.Result
			for n := 0; n < b.N; n++ {
				res, _ = verifier.Verify(p, nil)
			}
			b.ReportMetric(float64(res.Instructions), "insns")
			b.ReportMetric(float64(res.Steps), "steps")
			b.ReportMetric(float64(res.States), "states")
		})
	}
}

// largeProgram generates a program of about n instructions: blocks, each
// a loop of four iterations that indexes a stack table with the loop
// counter and a packet check, joined by straight-line arithmetic.
func largeProgram(n int) string {
	var b strings.Builder
	b.WriteString(loadPacket + "mov %r6, %r2\nmov %r7, %r3\nmov %r8, 0\n")
	for i := 1; i <= 8; i++ { // a table of unknown numbers
		fmt.Fprintf(&b, "call 7\nstxdw [%%r10-%d], %%r0\n", 8*i)
	}
	blk := 0
	for 23+29*blk < n { // 21 instructions before the blocks, 29 in each, 2 after
		fmt.Fprintf(&b, `
	mov %%r9, 0
loop%[1]d:
	mov %%r1, %%r9
	and %%r1, 7
	lsh %%r1, 3
	mov %%r2, %%r10
	add %%r2, -64
	add %%r2, %%r1
	ldxdw %%r3, [%%r2]
	add %%r3, %%r9
	xor %%r3, %[1]d
	stxdw [%%r2], %%r3
	add %%r8, %%r3
	rsh %%r8, 1
	mov %%r4, %%r6
	add %%r4, %[2]d
	jgt %%r4, %%r7, skip%[1]d
	ldxb %%r5, [%%r6+%[3]d]
	add %%r8, %%r5
skip%[1]d:
	add %%r9, 1
	jlt %%r9, 4, loop%[1]d
	mul %%r8, 3
	and %%r8, 0xffff
	mov %%r0, %%r8
	add %%r0, %[1]d
	xor %%r0, %%r8
	sub %%r0, 7
	or %%r0, 1
	mov %%r8, %%r0
	and %%r8, 0xfff
`, blk, blk%64+1, blk%64)
		blk++
	}
	b.WriteString("mov %r0, 2\nexit\n")
	return b.String()
}

// BenchmarkVerifyLarge verifies a generated program of 10,000
// instructions with 300-odd loops (the target is under a second).
func BenchmarkVerifyLarge(b *testing.B) {
	insns, err := isa.Assemble(largeProgram(10_000))
	if err != nil {
		b.Fatal(err)
	}
	p := asmProgram("large", insns)
	b.ReportAllocs()
	var res *verifier.Result
	for n := 0; n < b.N; n++ {
		res, err = verifier.Verify(p, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Instructions), "insns")
	b.ReportMetric(float64(res.Steps), "steps")
	b.ReportMetric(float64(res.States), "states")
}

// TestLargeProgramVerifies keeps the benchmark's program valid (and
// checks it runs clean): it must verify.
func TestLargeProgramVerifies(t *testing.T) {
	insns, err := isa.Assemble(largeProgram(10_000))
	if err != nil {
		t.Fatal(err)
	}
	if len(insns) < 10_000 {
		t.Fatalf("%d instructions, want 10,000", len(insns))
	}
	res, err := verifier.Verify(asmProgram("large", insns), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions, %d steps, %d states kept, %d pruned", res.Instructions, res.Steps, res.States, res.Pruned)
}
