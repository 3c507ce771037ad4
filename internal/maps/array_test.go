package maps

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/epoch"
	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func testEnv(cpus int) *Env { return &Env{CPUs: cpus, Epoch: epoch.New(cpus)} }

func key32(i uint32) []byte { return binary.LittleEndian.AppendUint32(nil, i) }

func TestArray(t *testing.T) {
	m, err := New(&Spec{Name: "a", Type: Array, KeySize: 4, ValueSize: 12, MaxEntries: 3}, testEnv(2))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.UpdateUser(key32(1), []byte("hello world!"), UpdateAny); err != nil {
		t.Fatal(err)
	}
	addr := m.Lookup(key32(1), 1)
	if addr == 0 || string(mem.Slice(addr, 12)) != "hello world!" {
		t.Fatalf("program lookup: %x", addr)
	}
	if addr%8 != 0 || m.Lookup(key32(2), 0)-addr != 16 {
		t.Error("values are not 8-byte aligned and strided")
	}
	for _, tc := range []struct {
		key   uint32
		flags uint64
		want  error
	}{
		{3, UpdateAny, E2BIG}, {0, UpdateNoExist, EEXIST}, {0, 7, EINVAL}, {0, UpdateExist, nil},
	} {
		if err := m.UpdateUser(key32(tc.key), make([]byte, 12), tc.flags); !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("update key %d flags %d: %v, want %v", tc.key, tc.flags, err, tc.want)
		}
	}
	if m.Lookup(key32(3), 0) != 0 {
		t.Error("lookup past the end found something")
	}
	if err := m.DeleteUser(key32(0)); err != EINVAL {
		t.Errorf("delete: %v", err)
	}
	var keys []uint32
	var k []byte
	next := make([]byte, 4)
	for m.NextKey(k, next) == nil {
		keys = append(keys, binary.LittleEndian.Uint32(next))
		k = append([]byte(nil), next...)
	}
	if len(keys) != 3 || keys[2] != 2 {
		t.Errorf("iteration: %v", keys)
	}
}

// TestArrayEightByteKeys: as in eBPF for Windows, an array may be keyed
// by a uint64_t of which the first 4 bytes are the index (ntosebpfext's
// process_monitor.c declares one).
func TestArrayEightByteKeys(t *testing.T) {
	m, err := New(&Spec{Name: "a8", Type: PerCPUArray, KeySize: 8, ValueSize: 4, MaxEntries: 2}, testEnv(2))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key := func(lo, hi uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, lo), hi)
	}
	if m.Lookup(key(1, 0), 0) == 0 || m.Lookup(key(2, 0), 0) != 0 {
		t.Error("index 1 must exist and 2 must not")
	}
	if m.Lookup(key(1, 0xdead), 0) != m.Lookup(key(1, 0), 0) {
		t.Error("the high half of the key changed the index")
	}
	next := []byte{9, 9, 9, 9, 9, 9, 9, 9}
	if err := m.NextKey(key(0, 0), next); err != nil || string(next) != string(key(1, 0)) {
		t.Errorf("next key after 0: % x, %v", next, err)
	}
}

func TestPerCPUArray(t *testing.T) {
	m, err := New(&Spec{Name: "p", Type: PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, testEnv(3))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for cpu := 0; cpu < 3; cpu++ {
		if err := m.Update(key32(1), binary.LittleEndian.AppendUint32(nil, uint32(10+cpu)), UpdateAny, cpu); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]byte, UserValueSize(m.Spec(), 3))
	if err := m.LookupUser(key32(1), out); err != nil {
		t.Fatal(err)
	}
	for cpu := 0; cpu < 3; cpu++ {
		if v := binary.LittleEndian.Uint32(out[cpu*8:]); v != uint32(10+cpu) {
			t.Errorf("cpu %d: %d", cpu, v)
		}
	}
	if m.Lookup(key32(1), 0) == m.Lookup(key32(1), 1) {
		t.Error("CPUs share a value")
	}
}

func TestSpecErrors(t *testing.T) {
	env := testEnv(1)
	for _, s := range []*Spec{
		{Name: "k", Type: Array, KeySize: 2, ValueSize: 4, MaxEntries: 1},
		{Name: "k8", Type: ProgArray, KeySize: 8, ValueSize: 4, MaxEntries: 1},
		{Name: "z", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Name: "t", Type: 99, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Name: "u", Type: 7, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Name: "big", Type: Array, KeySize: 4, ValueSize: 1 << 30, MaxEntries: 1 << 20},
	} {
		if m, err := New(s, env); err == nil {
			m.Close()
			t.Errorf("New(%v) succeeded", s)
		} else {
			t.Log(err)
		}
	}
}

func BenchmarkArrayLookup(b *testing.B) {
	m, err := New(&Spec{Name: "a", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024}, testEnv(1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	k := key32(7)
	for i := 0; i < b.N; i++ {
		if m.Lookup(k, 0) == 0 {
			b.Fatal("miss")
		}
	}
}
