package examples_test

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/ebpfhost/ebpfhost"
)

// Each test loads maps_tour.o afresh (in fast and in checked mode), runs one
// program and checks the results it reported and the maps it left.

var packet4 = []byte{1, 2, 3, 4}

func TestMapsTourHash(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		run(t, program(t, coll, "hash_ops"), packet4, xdpPass)
		checkResults(t, coll,
			0, eEXIST, 0, eNOENT, 0, // updates with BPF_NOEXIST, BPF_EXIST, BPF_ANY
			102, 0, // lookups
			0, eNOENT, // deletes
			0, 0, 0, e2BIG, // filling the map
			eINVAL) // unknown flag
		m := mapOf(t, coll, "hash_map")
		want := map[uint32]uint64{1: 103, 3: 300, 4: 400, 5: 500}
		if got := hashContents(t, m); !mapsEqual(got, want) {
			t.Errorf("hash_map = %v, want %v", got, want)
		}
		// User space sees the same errors.
		if err := m.Update(uint32(6), uint64(6), ebpfhost.UpdateNoExist); !isErr(err, ebpfhost.ErrMapFull) {
			t.Errorf("update of a full hash: %v", err)
		}
		if err := m.Update(uint32(1), uint64(6), ebpfhost.UpdateNoExist); !isErr(err, ebpfhost.ErrKeyExist) {
			t.Errorf("BPF_NOEXIST update of an existing key: %v", err)
		}
		if err := m.Delete(uint32(9)); !isErr(err, ebpfhost.ErrKeyNotExist) {
			t.Errorf("delete of a missing key: %v", err)
		}
	})
}

func TestMapsTourPerCPUHash(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		rt, coll := load(t, opts, "maps_tour")
		p := program(t, coll, "percpu_hash_ops")
		run(t, p, packet4, xdpPass)
		r := results(t, coll)
		cpu := int(r[0])
		if cpu < 0 || cpu >= rt.CPUs() {
			t.Fatalf("ran on CPU %d of %d", cpu, rt.CPUs())
		}
		checkResults(t, coll, int64(cpu), 0, 11, 11)
		m := mapOf(t, coll, "percpu_hash_map")
		var v []uint64
		if err := m.Lookup(uint32(7), &v); err != nil {
			t.Fatal(err)
		}
		if len(v) != rt.CPUs() {
			t.Fatalf("%d per-CPU values, want %d", len(v), rt.CPUs())
		}
		onlyOn(t, "key 7", v, cpu, 11)

		// User space sets every CPU's value; the program sees its own.
		all := make([]uint64, rt.CPUs())
		for i := range all {
			all[i] = uint64(100 * (i + 1))
		}
		if err := m.Put(uint32(7), all); err != nil {
			t.Fatal(err)
		}
		clearResults(t, coll)
		run(t, p, packet4, xdpPass)
		cpu = int(results(t, coll)[0])
		mine := int64(100*(cpu+1) + 10)
		checkResults(t, coll, int64(cpu), eEXIST, mine, mine)
		if err := m.Lookup(uint32(7), &v); err != nil {
			t.Fatal(err)
		}
		all[cpu] += 10
		if !slices.Equal(v, all) {
			t.Errorf("key 7 = %v, want %v", v, all)
		}
	})
}

func TestMapsTourLRU(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		run(t, program(t, coll, "lru_ops"), packet4, xdpPass)
		checkResults(t, coll, 0, 0, 0, 0, 0, 0, 50)
		want := map[uint32]uint64{1: 10, 3: 30, 4: 40, 5: 50} // 2 was evicted
		if got := hashContents(t, mapOf(t, coll, "lru_map")); !mapsEqual(got, want) {
			t.Errorf("lru_map = %v, want %v", got, want)
		}
	})
}

func TestMapsTourLRUPerCPU(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		run(t, program(t, coll, "lru_percpu_ops"), packet4, xdpPass)
		cpu := int(results(t, coll)[6])
		checkResults(t, coll, 0, 0, 0, 0, 0, 0, int64(cpu))
		got := perCPUContents(t, mapOf(t, coll, "lru_percpu_map"))
		if len(got) != 4 || got[1] != nil {
			t.Errorf("lru_percpu_map has keys %v, want 2, 3, 4, 5 (1 evicted)", slices.Sorted(maps.Keys(got)))
		}
		for k := uint32(2); k <= 5; k++ {
			onlyOn(t, "lru_percpu_map", got[k], cpu, uint64(k))
		}
	})
}

func TestMapsTourArray(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		run(t, program(t, coll, "array_ops"), packet4, xdpPass)
		checkResults(t, coll, 0, 0, eEXIST, 0, e2BIG, 0, eINVAL)
		// Read it back in one batch.
		keys, values := make([]uint32, 10), make([]uint64, 10)
		var cursor ebpfhost.MapBatchCursor
		n, err := mapOf(t, coll, "array_map").BatchLookup(&cursor, keys, values)
		if n != 8 || !isErr(err, ebpfhost.ErrKeyNotExist) {
			t.Fatalf("batch lookup: %d entries, %v; want 8 and the end of the map", n, err)
		}
		if want := []uint64{0, 11, 42, 33, 0, 0, 0, 0}; !slices.Equal(values[:n], want) ||
			!slices.Equal(keys[:n], []uint32{0, 1, 2, 3, 4, 5, 6, 7}) {
			t.Errorf("array_map = %v at %v, want %v", values[:n], keys[:n], want)
		}
	})
}

func TestMapsTourPerCPUArray(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		p := program(t, coll, "percpu_array_ops")
		res, err := p.TestRun(&ebpfhost.TestRunOptions{Data: make([]byte, 60), Repeat: 5})
		if err != nil || res.ReturnValue != xdpPass {
			t.Fatalf("r0 %v, %v", res, err)
		}
		cpu := int(results(t, coll)[0]) // all five runs use one CPU
		checkResults(t, coll, int64(cpu))
		got := perCPUContents(t, mapOf(t, coll, "percpu_array_map"))
		onlyOn(t, "packets", got[0], cpu, 5)
		onlyOn(t, "bytes", got[1], cpu, 5*60)
		if sum(got[0]) != 5 || sum(got[1]) != 300 || sum(got[2]) != 0 || sum(got[3]) != 0 {
			t.Errorf("percpu_array_map = %v", got)
		}
	})
}

func TestMapsTourLookupPerCPUElem(t *testing.T) {
	inModes(t, ebpfhost.Options{CPUs: 3}, func(t *testing.T, opts ebpfhost.Options) {
		rt, coll := load(t, opts, "maps_tour")
		values := []uint64{10, 20, 30}
		if err := mapOf(t, coll, "percpu_array_map").Put(uint32(3), values); err != nil {
			t.Fatal(err)
		}
		run(t, program(t, coll, "percpu_lookup"), packet4, xdpPass)
		checkResults(t, coll, int64(rt.CPUs()), 60)
	})
}

// lpmKey mirrors struct ipv4_lpm_key.
type lpmKey struct {
	PrefixLen uint32
	Addr      [4]byte
}

func TestMapsTourLPM(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		run(t, program(t, coll, "lpm_ops"), packet4, xdpPass)
		checkResults(t, coll,
			0, 0, 0, // three prefixes
			3, 2, 1, -1, // longest matches
			0, 1, eNOENT, // delete the /16
			eINVAL) // prefix too long
		m := mapOf(t, coll, "lpm_map")
		got := map[lpmKey]uint32{}
		var k lpmKey
		var v uint32
		for it := m.Iterate(); it.Next(&k, &v); {
			got[k] = v
		}
		want := map[lpmKey]uint32{{8, [4]byte{10, 0, 0, 0}}: 1, {24, [4]byte{10, 1, 2, 0}}: 3}
		if len(got) != len(want) || got[lpmKey{8, [4]byte{10}}] != 1 || got[lpmKey{24, [4]byte{10, 1, 2}}] != 3 {
			t.Errorf("lpm_map = %v, want %v", got, want)
		}
		// A lookup from user space is a longest-prefix match too.
		if err := m.Lookup(lpmKey{32, [4]byte{10, 1, 2, 200}}, &v); err != nil || v != 3 {
			t.Errorf("lookup of 10.1.2.200/32 = %d, %v; want 3", v, err)
		}
	})
}

func TestMapsTourQueueAndStack(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		for _, tc := range []struct {
			prog, m string
			order   []int64 // peek, then three pops
			front   uint32  // what a peek from user space sees afterwards
		}{
			{"queue_ops", "queue_map", []int64{2, 2, 3, 4}, 10}, // first in, first out
			{"stack_ops", "stack_map", []int64{4, 4, 3, 2}, 20}, // last in, first out
		} {
			t.Run(tc.prog, func(t *testing.T) {
				_, coll := load(t, opts, "maps_tour")
				run(t, program(t, coll, tc.prog), packet4, xdpPass)
				want := []int64{0, 0, 0, e2BIG, 0}
				want = append(want, tc.order...)
				want = append(want, eNOENT, eNOENT, eINVAL)
				checkResults(t, coll, want...)
				var v uint32
				m := mapOf(t, coll, tc.m)
				if err := m.Lookup(nil, &v); err != nil || v != tc.front {
					t.Errorf("peek from user space: %d, %v; want %d", v, err, tc.front)
				}
				// User space drains what is left: the peeked value first.
				if err := m.LookupAndDelete(nil, &v); err != nil || v != tc.front {
					t.Errorf("pop from user space: %d, %v; want %d", v, err, tc.front)
				}
				for m.LookupAndDelete(nil, &v) == nil {
				}
				if err := m.LookupAndDelete(nil, &v); !errors.Is(err, ebpfhost.ErrKeyNotExist) {
					t.Errorf("pop from an empty %s: %v", tc.m, err)
				}
			})
		}
	})
}

// ringRecord mirrors struct record in maps_tour.c.
type ringRecord struct {
	Kind  uint32
	Len   uint32
	Value uint64
}

func TestMapsTourRingBuf(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		rd, err := ebpfhost.NewRingBufReader(mapOf(t, coll, "ringbuf_map"))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		run(t, program(t, coll, "ringbuf_ops"), packet4, xdpPass)
		// Three records of 8 + 16 bytes were written, one discarded.
		checkResults(t, coll, 0, 3*24, 4096, 3*24, 0, 0)
		for _, want := range []ringRecord{{1, 4, 111}, {3, 4, 333}} {
			rec, err := rd.Read()
			if err != nil {
				t.Fatal(err)
			}
			var got ringRecord
			if len(rec.RawSample) != 16 {
				t.Fatalf("record of %d bytes, want 16", len(rec.RawSample))
			}
			got.Kind = binary.LittleEndian.Uint32(rec.RawSample[0:])
			got.Len = binary.LittleEndian.Uint32(rec.RawSample[4:])
			got.Value = binary.LittleEndian.Uint64(rec.RawSample[8:])
			if got != want {
				t.Errorf("record %+v, want %+v", got, want)
			}
		}
		noMoreRecords(t, rd)
		// The reservation larger than the ring counts as dropped.
		if n := rd.Dropped(); n != 1 {
			t.Errorf("Dropped() = %d, want 1 (the oversized reservation)", n)
		}
	})
}

func TestMapsTourTailCall(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		p := program(t, coll, "tail_call_ops")
		data := make([]byte, 42)
		// Slots 0 and 10 fall through; slot 1 is tail_target, whose
		// verdict XDP_TX is the result.
		run(t, p, data, xdpTX)
		checkResults(t, coll, 1, 1, 1, 0, 42)

		jt := mapOf(t, coll, "jump_table")
		var id uint32
		if err := jt.Lookup(uint32(1), &id); err != nil || id != program(t, coll, "tail_target").ID() {
			t.Errorf("jump_table[1] = %d, %v; want tail_target's id %d", id, err, program(t, coll, "tail_target").ID())
		}
		if err := jt.Lookup(uint32(0), &id); !isErr(err, ebpfhost.ErrKeyNotExist) {
			t.Errorf("jump_table[0]: %v, want empty", err)
		}

		// Fill slot 0 from user space: now the first tail call succeeds.
		if err := jt.Put(uint32(0), program(t, coll, "tail_drop")); err != nil {
			t.Fatal(err)
		}
		clearResults(t, coll)
		run(t, p, data, xdpDrop)
		checkResults(t, coll, 1, 0, 0, 0, 0, 1)
	})
}

func TestMapsTourMapInMap(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "maps_tour")
		p := program(t, coll, "map_in_map_ops")
		run(t, p, packet4, xdpPass)
		checkResults(t, coll, 0, 0, 0, 1000, 0)

		// The outer maps hold the inner maps' ids.
		for _, tc := range []struct {
			outer string
			key   uint32
			inner string
		}{
			{"array_of_maps", 0, "inner_array_a"},
			{"array_of_maps", 1, "inner_array_b"},
			{"hash_of_maps", 3, "inner_hash_x"},
			{"hash_of_maps", 5, "inner_hash_y"},
		} {
			var id uint32
			if err := mapOf(t, coll, tc.outer).Lookup(tc.key, &id); err != nil || id != mapOf(t, coll, tc.inner).ID() {
				t.Errorf("%s[%d] = %d, %v; want %s (%d)", tc.outer, tc.key, id, err, tc.inner, mapOf(t, coll, tc.inner).ID())
			}
		}
		arrayValues := func(name string) []uint64 {
			out := make([]uint64, 4)
			for i := range out {
				if err := mapOf(t, coll, name).Lookup(uint32(i), &out[i]); err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		written := []uint64{0, 0, 5, 77}
		if got := arrayValues("inner_array_b"); !slices.Equal(got, written) {
			t.Errorf("inner_array_b = %v, want %v", got, written)
		}
		if got := arrayValues("inner_array_a"); !slices.Equal(got, make([]uint64, 4)) {
			t.Errorf("inner_array_a = %v, want zeros", got)
		}
		if got := hashContents(t, mapOf(t, coll, "inner_hash_y")); !mapsEqual(got, map[uint32]uint64{10: 1000}) {
			t.Errorf("inner_hash_y = %v", got)
		}
		if got := hashContents(t, mapOf(t, coll, "inner_hash_x")); len(got) != 0 {
			t.Errorf("inner_hash_x = %v, want empty", got)
		}

		// Point slot 1 at inner_array_a from user space; the program
		// follows.
		if err := mapOf(t, coll, "array_of_maps").Put(uint32(1), mapOf(t, coll, "inner_array_a")); err != nil {
			t.Fatal(err)
		}
		clearResults(t, coll)
		run(t, p, packet4, xdpPass)
		checkResults(t, coll, 0, 0, eEXIST, 1000, 0)
		if got := arrayValues("inner_array_a"); !slices.Equal(got, written) {
			t.Errorf("inner_array_a = %v, want %v", got, written)
		}
		if got := arrayValues("inner_array_b"); !slices.Equal(got, written) {
			t.Errorf("inner_array_b changed: %v", got)
		}
	})
}
