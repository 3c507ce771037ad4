package examples_test

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"testing"

	source "github.com/ebpfhost/ebpfhost/internal/source/file"
)

const latencySlots = 64

// log2l is bcc's bpf_log2l: 1 + the index of the highest bit set, 1 for 0.
func log2l(v uint64) uint32 {
	if v == 0 {
		return 1
	}
	return uint32(bits.Len64(v))
}

// histogram reads iolat_hist for an operation: count per slot.
func histogram(t *testing.T, h *fileHost, op source.Op) map[uint32]uint64 {
	t.Helper()
	out := map[uint32]uint64{}
	for s := uint32(0); s < latencySlots; s++ {
		if n := h.u64(t, "iolat_hist", uint32(op)*latencySlots+s); n != 0 {
			out[s] = n
		}
	}
	return out
}

// totals reads iolat_totals for an operation: count and sum of ns.
func totals(t *testing.T, h *fileHost, op source.Op) (uint64, uint64) {
	v := h.get(t, "iolat_totals", uint32(op))
	return binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:])
}

// operation delivers a pre and a post event d ns apart.
func operation(h *fileHost, op source.Op, id, start, d uint64) {
	h.handle(source.Event{Op: op, ID: id, Time: start, Path: "/data/f", PID: 1})
	h.handle(source.Event{Op: op, Post: true, ID: id, Time: start + d, Path: "/data/f", PID: 1})
}

func TestFileIOLatency(t *testing.T) {
	inFileModes(t, func(t *testing.T, checked bool) {
		h := loadFileExample(t, "file_iolatency", checked, 0)
		h.attach(t, "iolat_pre", nil)
		h.attach(t, "iolat_post", nil)

		// Latencies in ns, and the microsecond slot each lands in.
		reads := []uint64{0, 999, 1500, 2000, 3999, 4000, 5_000_000, 1 << 40}
		want := map[uint32]uint64{}
		var sum uint64
		for i, d := range reads {
			operation(h, source.Read, uint64(100+i), 1_000_000, d)
			want[log2l(d/1000)]++
			sum += d
		}
		if w := (map[uint32]uint64{1: 3, 2: 2, 3: 1, 13: 1, 31: 1}); fmt.Sprint(want) != fmt.Sprint(w) {
			t.Fatalf("the test's own slots %v, want %v", want, w)
		}
		operation(h, source.Write, 200, 5000, 7000) // 7 us: slot 3
		// A post without its pre, and a pre without its post, count
		// nothing.
		h.handle(source.Event{Op: source.Open, Post: true, ID: 300, Time: 9000})
		h.handle(source.Event{Op: source.Close, ID: 301, Time: 9000})

		if got := histogram(t, h, source.Read); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("read histogram %v, want %v", got, want)
		}
		if got := histogram(t, h, source.Write); fmt.Sprint(got) != fmt.Sprint(map[uint32]uint64{3: 1}) {
			t.Errorf("write histogram %v, want slot 3 once", got)
		}
		for _, op := range []source.Op{source.Open, source.Close, source.Create} {
			if got := histogram(t, h, op); len(got) != 0 {
				t.Errorf("%v histogram %v, want empty", op, got)
			}
		}
		if n, ns := totals(t, h, source.Read); n != uint64(len(reads)) || ns != sum {
			t.Errorf("read totals %d, %d ns; want %d, %d", n, ns, len(reads), sum)
		}
		if n, ns := totals(t, h, source.Write); n != 1 || ns != 7000 {
			t.Errorf("write totals %d, %d ns; want 1, 7000", n, ns)
		}
		// Every start was consumed but the unmatched pre's.
		starts := 0
		m := h.mapOf(t, "iolat_start")
		var k []byte
		next := make([]byte, 8)
		for m.NextKey(k, next) == nil {
			starts++
			if id := binary.LittleEndian.Uint64(next); id != 301 {
				t.Errorf("start of %d left behind", id)
			}
			k = append(k[:0], next...)
		}
		if starts != 1 {
			t.Errorf("%d starts left, want 1 (the pre without a post)", starts)
		}

		// Nanoseconds: the divisor 1.
		h.put(t, "iolat_config", 0, binary.LittleEndian.AppendUint64(nil, 1))
		operation(h, source.Mkdir, 400, 0, 1500) // 1500 ns: slot 11
		if got := histogram(t, h, source.Mkdir); fmt.Sprint(got) != fmt.Sprint(map[uint32]uint64{11: 1}) {
			t.Errorf("mkdir histogram in ns %v, want slot 11 once", got)
		}
	})
}

// TestFileIOLatencyConcurrent runs operations from eight goroutines on four
// virtual CPUs: the atomic adds keep every count.
func TestFileIOLatencyConcurrent(t *testing.T) {
	h := loadFileExample(t, "file_iolatency", true, 4)
	h.attach(t, "iolat_pre", nil)
	h.attach(t, "iolat_post", nil)
	const workers, per = 8, 500
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				operation(h, source.Read, uint64(w*per+i+1), 0, uint64(i%4)*1000) // 0-3 us: slots 1, 1, 2, 2
			}
		}(w)
	}
	wg.Wait()
	want := map[uint32]uint64{1: workers * per / 2, 2: workers * per / 2}
	if got := histogram(t, h, source.Read); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("histogram %v, want %v", got, want)
	}
	if n, _ := totals(t, h, source.Read); n != workers*per {
		t.Errorf("count %d, want %d", n, workers*per)
	}
}
