package maps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/epoch"
	"github.com/ebpfhost/ebpfhost/internal/mem"
)

var hashTypes = []Type{Hash, PerCPUHash, LRUHash, LRUPerCPUHash}

func key64(i uint64) []byte { return binary.LittleEndian.AppendUint64(nil, i) }

// hashVal is the value tests store under key i: the key twice, so a reader
// can tell from the value alone which key it belongs to.
func hashVal(i uint64) []byte { return append(key64(i), key64(i)...) }

func newTestHash(t testing.TB, typ Type, keySize, valueSize, max uint32, cpus int) (*hashMap, *epoch.Domain) {
	t.Helper()
	env := testEnv(cpus)
	m, err := New(&Spec{Name: "h", Type: typ, KeySize: keySize, ValueSize: valueSize, MaxEntries: max}, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*hashMap), env.Epoch.(*epoch.Domain)
}

// userValue builds a user-space value buffer for m holding v (for every CPU
// of a per-CPU map).
func userValue(m Map, cpus int, v []byte) []byte {
	s := m.Spec()
	buf := make([]byte, UserValueSize(s, cpus))
	if !s.Type.PerCPU() {
		copy(buf, v)
		return buf
	}
	for c := 0; c < cpus; c++ {
		copy(buf[c*ValueStride(s.ValueSize):], v)
	}
	return buf
}

func isErr(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func TestHashUpdateFlags(t *testing.T) {
	type op struct {
		what    string // update, delete, lookup
		key     uint64
		flags   uint64
		want    error
		lru     error // for LRU types, when lruDiff
		lruDiff bool
	}
	ops := []op{
		{what: "update", key: 1, flags: UpdateAny},
		{what: "update", key: 1, flags: UpdateNoExist, want: EEXIST},
		{what: "update", key: 2, flags: UpdateExist, want: ENOENT},
		{what: "update", key: 1, flags: UpdateExist},
		{what: "update", key: 1, flags: 3, want: EINVAL},
		{what: "update", key: 1, flags: 1 << 40, want: EINVAL},
		{what: "update", key: 2, flags: UpdateNoExist},
		{what: "lookup", key: 2},
		// Full: a plain hash refuses new keys, an LRU one evicts.
		{what: "update", key: 3, flags: UpdateAny, want: E2BIG, lru: nil, lruDiff: true},
		{what: "update", key: 3, flags: UpdateNoExist, want: E2BIG, lru: EEXIST, lruDiff: true},
		// Replacing in a full map works.
		{what: "update", key: 2, flags: UpdateAny},
		{what: "update", key: 2, flags: UpdateExist},
		{what: "delete", key: 99, want: ENOENT},
		{what: "delete", key: 2},
		{what: "delete", key: 2, want: ENOENT},
		{what: "lookup", key: 2, want: ENOENT},
		{what: "update", key: 2, flags: UpdateNoExist},
		{what: "lookup", key: 2},
	}
	for _, typ := range hashTypes {
		for _, side := range []string{"program", "user"} {
			t.Run(typ.String()+"/"+side, func(t *testing.T) {
				const cpus = 2
				m, d := newTestHash(t, typ, 8, 16, 2, cpus)
				lru := typ == LRUHash || typ == LRUPerCPUHash
				for n, o := range ops {
					// Each op is its own invocation, so retired elements
					// come back.
					d.Enter(1)
					want := o.want
					if lru && o.lruDiff {
						want = o.lru
					}
					var err error
					switch o.what {
					case "update":
						if side == "program" {
							err = m.Update(key64(o.key), hashVal(o.key), o.flags, 1)
						} else {
							err = m.UpdateUser(key64(o.key), userValue(m, cpus, hashVal(o.key)), o.flags)
						}
					case "delete":
						if side == "program" {
							err = m.Delete(key64(o.key))
						} else {
							err = m.DeleteUser(key64(o.key))
						}
					case "lookup":
						if side == "program" {
							if m.Lookup(key64(o.key), 1) == 0 {
								err = ENOENT
							}
						} else {
							err = m.LookupUser(key64(o.key), make([]byte, UserValueSize(m.Spec(), cpus)))
						}
					}
					d.Exit(1)
					if !isErr(err, want) {
						t.Fatalf("op %d %s key %d flags %d: %v, want %v", n, o.what, o.key, o.flags, err, want)
					}
				}
				if c := m.count.Load(); c > 2 {
					t.Errorf("%d entries in a 2-entry map", c)
				}
			})
		}
	}
}

func TestHashValues(t *testing.T) {
	for _, typ := range hashTypes {
		t.Run(typ.String(), func(t *testing.T) {
			const cpus = 3
			m, d := newTestHash(t, typ, 8, 12, 100, cpus)
			for i := uint64(0); i < 100; i++ {
				if err := m.UpdateUser(key64(i), userValue(m, cpus, hashVal(i)), UpdateNoExist); err != nil {
					t.Fatal(err)
				}
			}
			d.Enter(0)
			for i := uint64(0); i < 100; i++ {
				addr := m.Lookup(key64(i), 0)
				if addr == 0 || addr%8 != 0 {
					t.Fatalf("key %d: address %#x", i, addr)
				}
				if got := mem.Slice(addr, 12); string(got) != string(hashVal(i)[:12]) {
					t.Fatalf("key %d: %x", i, got)
				}
				out := make([]byte, UserValueSize(m.Spec(), cpus))
				if err := m.LookupUser(key64(i), out); err != nil || string(out[:12]) != string(hashVal(i)[:12]) {
					t.Fatalf("user lookup %d: %v %x", i, err, out)
				}
			}
			if m.Lookup(key64(1000), 0) != 0 {
				t.Error("found a key never stored")
			}

			// An update writes in place: a program holding the address
			// sees the new value of its key. A delete retires the element,
			// which is not reused while the holder is inside its
			// invocation.
			if !typ.PerCPU() {
				held := m.Lookup(key64(5), 0)
				d.Enter(1)
				err := m.Update(key64(5), hashVal(500), UpdateExist, 1)
				d.Exit(1)
				if err != nil {
					t.Fatal(err)
				}
				if got := mem.Slice(held, 12); string(got) != string(hashVal(500)[:12]) {
					t.Fatalf("value at the held address: %x", got)
				}
				gone := m.Lookup(key64(6), 0)
				if err := m.DeleteUser(key64(6)); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 10; i++ {
					d.Collect()
				}
				if err := m.UpdateUser(key64(6), hashVal(600), UpdateNoExist); err != nil {
					t.Fatal(err)
				}
				if got := mem.Slice(gone, 12); string(got) != string(hashVal(6)[:12]) {
					t.Fatalf("deleted element reused under its reader: %x", got)
				}
				if a := m.account(); a.retired != 1 {
					t.Errorf("retired %d elements, want 1 waiting for CPU 0", a.retired)
				}
			}
			d.Exit(0)
			d.Barrier()
			checkHashAccounting(t, m)
		})
	}
}

func checkHashAccounting(t *testing.T, m *hashMap) {
	t.Helper()
	a := m.account()
	if a.allocated != 0 || a.retired != 0 || a.live != a.linked || int64(a.live) != a.count ||
		a.free != a.freeList || a.live+a.free != int(m.nElems) || a.count > m.max {
		t.Errorf("element accounting of %d elements (max %d): %+v", m.nElems, m.max, a)
	}
}

func TestPerCPUHash(t *testing.T) {
	for _, typ := range []Type{PerCPUHash, LRUPerCPUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			const cpus = 3
			m, d := newTestHash(t, typ, 4, 4, 10, cpus)
			u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
			user := func() []uint32 {
				out := make([]byte, UserValueSize(m.Spec(), cpus))
				if len(out) != 8*cpus {
					t.Fatalf("user value size %d", len(out))
				}
				if err := m.LookupUser(key32(7), out); err != nil {
					t.Fatal(err)
				}
				var v []uint32
				for c := 0; c < cpus; c++ {
					v = append(v, binary.LittleEndian.Uint32(out[c*8:]))
					if pad := binary.LittleEndian.Uint32(out[c*8+4:]); pad != 0 {
						t.Errorf("cpu %d padding %#x", c, pad)
					}
				}
				return v
			}
			d.Enter(1)
			// A new key from a program: its CPU's value set, others zero.
			if err := m.Update(key32(7), u32(11), UpdateNoExist, 1); err != nil {
				t.Fatal(err)
			}
			if v := user(); v[0] != 0 || v[1] != 11 || v[2] != 0 {
				t.Fatalf("after new key on cpu 1: %v", v)
			}
			// An existing key: only the updating CPU's value changes.
			if err := m.Update(key32(7), u32(22), UpdateExist, 2); err != nil {
				t.Fatal(err)
			}
			if err := m.Update(key32(7), u32(33), UpdateNoExist, 0); !errors.Is(err, EEXIST) {
				t.Fatalf("NOEXIST on existing key: %v", err)
			}
			if v := user(); v[0] != 0 || v[1] != 11 || v[2] != 22 {
				t.Fatalf("after update on cpu 2: %v", v)
			}
			for c, want := range []uint32{0, 11, 22} {
				a := m.Lookup(key32(7), c)
				if a%8 != 0 || binary.LittleEndian.Uint32(mem.Slice(a, 4)) != want {
					t.Errorf("cpu %d sees %#x", c, a)
				}
			}
			if m.Lookup(key32(7), 0) == m.Lookup(key32(7), 1) {
				t.Error("CPUs share a value")
			}
			// User space sets every CPU's value.
			buf := make([]byte, 8*cpus)
			for c := 0; c < cpus; c++ {
				binary.LittleEndian.PutUint32(buf[c*8:], uint32(100+c))
			}
			if err := m.UpdateUser(key32(7), buf, UpdateExist); err != nil {
				t.Fatal(err)
			}
			if v := user(); v[0] != 100 || v[1] != 101 || v[2] != 102 {
				t.Fatalf("after user update: %v", v)
			}
			if err := m.UpdateUser(key32(8), buf[:8], UpdateAny); !errors.Is(err, EINVAL) {
				t.Errorf("short per-CPU user value: %v", err)
			}
			d.Exit(1)
		})
	}
}

func TestLRUEviction(t *testing.T) {
	for _, typ := range []Type{LRUHash, LRUPerCPUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			const max = 16
			m, d := newTestHash(t, typ, 8, 16, max, 2)
			d.Enter(0)
			for i := uint64(0); i < max; i++ {
				if err := m.Update(key64(i), hashVal(i), UpdateNoExist, 0); err != nil {
					t.Fatal(err)
				}
			}
			// Use every key but 5; inserting one more must evict 5.
			for i := uint64(0); i < max; i++ {
				if i != 5 && m.Lookup(key64(i), 0) == 0 {
					t.Fatalf("key %d missing", i)
				}
			}
			if err := m.Update(key64(100), hashVal(100), UpdateNoExist, 0); err != nil {
				t.Fatal(err)
			}
			if m.Lookup(key64(5), 0) != 0 {
				t.Fatal("the key not looked up was not evicted")
			}
			for i := uint64(0); i < max; i++ {
				if i != 5 && m.Lookup(key64(i), 0) == 0 {
					t.Errorf("recently used key %d was evicted", i)
				}
			}
			if c := m.count.Load(); c != max {
				t.Fatalf("count %d after eviction, want %d", c, max)
			}
			// A hot set used before every insert survives a stream of
			// new keys: the hand always finds an unused newcomer first.
			for i := uint64(200); i < 400; i++ {
				for h := uint64(max / 2); h < max; h++ {
					if m.Lookup(key64(h), 0) == 0 {
						t.Fatalf("hot key %d evicted before inserting %d", h, i)
					}
				}
				if err := m.Update(key64(i), hashVal(i), UpdateNoExist, 0); err != nil {
					t.Fatal(err)
				}
				d.Exit(0)
				d.Enter(0)
			}
			// Inserting many more never fails and never exceeds max.
			for i := uint64(1000); i < 1500; i++ {
				if err := m.Update(key64(i), hashVal(i), UpdateAny, 0); err != nil {
					t.Fatal(err)
				}
				if i%8 == 0 {
					d.Exit(0)
					d.Enter(0)
				}
			}
			if c := m.count.Load(); c != max {
				t.Fatalf("count %d, want %d", c, max)
			}
			d.Exit(0)
			d.Barrier()
			checkHashAccounting(t, m)
		})
	}
}

// TestHashOutOfMemory: replacements inside one long invocation use up the
// spare elements (the old ones wait for the invocation to end), then fail
// with ENOMEM until the CPU exits.
func TestHashOutOfMemory(t *testing.T) {
	m, d := newTestHash(t, Hash, 8, 16, 4, 1)
	d.Enter(0)
	for i := uint64(0); i < 4; i++ {
		if err := m.Update(key64(i), hashVal(i), UpdateAny, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Updates of existing keys write in place and never run out.
	for n := 0; n < 10000; n++ {
		if err := m.Update(key64(1), hashVal(uint64(n)), UpdateAny, 0); err != nil {
			t.Fatalf("update %d: %v", n, err)
		}
	}
	// Deleting and re-inserting inside one invocation consumes the spare
	// elements, since the deleted ones wait for this invocation to end.
	var err error
	n := 0
	for ; n < 10000 && err == nil; n++ {
		if err = m.Delete(key64(1)); err == nil {
			err = m.Update(key64(1), hashVal(1), UpdateAny, 0)
		}
	}
	if !errors.Is(err, ENOMEM) || n-1 != int(m.nElems)-4 {
		t.Fatalf("after %d delete/insert rounds: %v (%d elements)", n-1, err, m.nElems)
	}
	if err := m.Update(key64(9), hashVal(9), UpdateAny, 0); !errors.Is(err, ENOMEM) {
		t.Fatalf("new key with no free element: %v", err)
	}
	// User space waits for reclamation, but not forever.
	if err := m.UpdateUser(key64(1), hashVal(1), UpdateAny); !errors.Is(err, ENOMEM) {
		t.Fatalf("user insert while the CPU stays in its invocation: %v", err)
	}
	d.Exit(0)
	d.Enter(0)
	if err := m.Update(key64(1), hashVal(1), UpdateAny, 0); err != nil {
		t.Fatalf("after the CPU left its invocation: %v", err)
	}
	d.Exit(0)
	d.Barrier()
	checkHashAccounting(t, m)
}

func TestHashNextKey(t *testing.T) {
	for _, typ := range hashTypes {
		for _, n := range []int{0, 1, 37, 1000} {
			m, _ := newTestHash(t, typ, 8, 8, 1000, 2)
			next := make([]byte, 8)
			if n == 0 {
				if err := m.NextKey(nil, next); !errors.Is(err, ENOENT) {
					t.Fatalf("empty map: %v", err)
				}
				continue
			}
			for i := 0; i < n; i++ {
				if err := m.UpdateUser(key64(uint64(i)*7919), userValue(m, 2, key64(0)), UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[uint64]int{}
			var k []byte
			var first uint64
			for {
				err := m.NextKey(k, next)
				if errors.Is(err, ENOENT) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				v := binary.LittleEndian.Uint64(next)
				if k == nil {
					first = v
				}
				seen[v]++
				k = append([]byte(nil), next...)
				if len(seen) > n {
					break
				}
			}
			if len(seen) != n {
				t.Fatalf("%s with %d keys: iteration saw %d", typ, n, len(seen))
			}
			for v, c := range seen {
				if c != 1 || v%7919 != 0 {
					t.Fatalf("key %d seen %d times", v, c)
				}
			}
			// A key not in the map restarts from the first.
			if err := m.NextKey(key64(1), next); err != nil || binary.LittleEndian.Uint64(next) != first {
				t.Fatalf("next of a missing key: %v %d, want %d", err, binary.LittleEndian.Uint64(next), first)
			}
		}
	}
}

func TestHashIterate(t *testing.T) {
	for _, typ := range hashTypes {
		t.Run(typ.String(), func(t *testing.T) {
			m, d := newTestHash(t, typ, 8, 16, 64, 2)
			for i := uint64(0); i < 50; i++ {
				if err := m.UpdateUser(key64(i), userValue(m, 2, hashVal(i)), UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			d.Enter(1)
			defer d.Exit(1)
			seen := map[uint64]bool{}
			n := m.Iterate(1, nil, 0, func(ka, va uint64) bool {
				k := binary.LittleEndian.Uint64(mem.Slice(ka, 8))
				if string(mem.Slice(va, 16)) != string(hashVal(k)) || seen[k] {
					t.Errorf("key %d: value %x, seen %v", k, mem.Slice(va, 16), seen[k])
				}
				seen[k] = true
				// Deleting the current element must not break the walk.
				if k%2 == 0 {
					if err := m.Delete(key64(k)); err != nil {
						t.Error(err)
					}
				}
				return true
			})
			if n != 50 || len(seen) != 50 {
				t.Fatalf("visited %d (%d keys)", n, len(seen))
			}
			if m.count.Load() != 25 {
				t.Fatalf("%d left after deleting half", m.count.Load())
			}
			if n := m.Iterate(1, nil, 0, func(ka, va uint64) bool { return false }); n != 1 {
				t.Fatalf("stopping at once visited %d", n)
			}
		})
	}
}

func TestHashKeySizes(t *testing.T) {
	for _, ks := range []uint32{1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 33, 64} {
		m, d := newTestHash(t, Hash, ks, 8, 256, 1)
		const max = 256
		// Keys differ in their first two bytes (one for 1-byte keys)
		// and share the rest, so the hash must use every word.
		key := func(i int) []byte {
			k := make([]byte, ks)
			for j := range k {
				k[j] = byte(i>>(8*(j%2))) ^ 0x5a
			}
			return k
		}
		d.Enter(0)
		for i := 0; i < max; i++ {
			if err := m.Update(key(i), key64(uint64(i)), UpdateNoExist, 0); err != nil {
				t.Fatalf("key size %d, key %d: %v", ks, i, err)
			}
		}
		for i := 0; i < max; i++ {
			a := m.Lookup(key(i), 0)
			if a == 0 || binary.LittleEndian.Uint64(mem.Slice(a, 8)) != uint64(i) {
				t.Fatalf("key size %d, key %d: lookup %#x", ks, i, a)
			}
		}
		d.Exit(0)
	}
}

func TestHashSpecErrors(t *testing.T) {
	env := testEnv(2)
	for _, s := range []*Spec{
		{Name: "k0", Type: Hash, KeySize: 0, ValueSize: 4, MaxEntries: 1},
		{Name: "kbig", Type: Hash, KeySize: 513, ValueSize: 4, MaxEntries: 1},
		{Name: "v0", Type: LRUHash, KeySize: 4, ValueSize: 0, MaxEntries: 1},
		{Name: "pcpu", Type: PerCPUHash, KeySize: 4, ValueSize: 64 << 10, MaxEntries: 1},
		{Name: "huge", Type: Hash, KeySize: 4, ValueSize: 1 << 20, MaxEntries: 1 << 20},
		{Name: "hom", Type: HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Name: "homv", Type: HashOfMaps, KeySize: 4, ValueSize: 8, MaxEntries: 1, InnerMap: &Spec{Type: Array}},
	} {
		if m, err := New(s, env); err == nil {
			m.Close()
			t.Errorf("New(%v) succeeded", s)
		}
	}
}

// fakeResolver maps ids to maps and handles for map-in-map tests.
type fakeResolver map[uint32]Map

func (r fakeResolver) Map(id uint32) (Map, uint64, bool) {
	m, ok := r[id]
	return m, 0xfeed0000 + uint64(id), ok
}

func TestHashOfMaps(t *testing.T) {
	inner := &Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	env := testEnv(1)
	good, err := New(&Spec{Name: "good", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	bad, err := New(&Spec{Name: "bad", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 5}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	env.Maps = fakeResolver{1: good, 2: bad}
	m, err := New(&Spec{Name: "hom", Type: HashOfMaps, KeySize: 8, ValueSize: 4, MaxEntries: 2, InnerMap: inner}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, ok := m.(Iterable); ok {
		t.Error("hash of maps should not be iterable (Linux has no for_each for it)")
	}
	for n, tc := range []struct {
		key   uint64
		id    uint32
		flags uint64
		want  error
	}{
		{1, 1, UpdateAny, nil},
		{2, 2, UpdateAny, EINVAL}, // incompatible inner map
		{2, 3, UpdateAny, EINVAL}, // no such map
		{1, 1, UpdateNoExist, EEXIST},
		{2, 1, UpdateExist, ENOENT},
		{2, 1, 4, EINVAL},
		{2, 1, UpdateNoExist, nil},
		{3, 1, UpdateAny, E2BIG},
	} {
		if err := m.UpdateUser(key64(tc.key), key32(tc.id), tc.flags); !isErr(err, tc.want) {
			t.Errorf("%d: update key %d id %d: %v, want %v", n, tc.key, tc.id, err, tc.want)
		}
	}
	id := make([]byte, 4)
	if err := m.LookupUser(key64(1), id); err != nil || binary.LittleEndian.Uint32(id) != 1 {
		t.Fatalf("user lookup: %v %x", err, id)
	}
	d := env.Epoch.(*epoch.Domain)
	d.Enter(0)
	if h := m.Lookup(key64(1), 0); h != 0xfeed0001 {
		t.Errorf("program lookup: %#x", h)
	}
	if h := m.Lookup(key64(9), 0); h != 0 {
		t.Errorf("program lookup of a missing key: %#x", h)
	}
	if err := m.Update(key64(1), key32(1), UpdateAny, 0); err != EPERM {
		t.Errorf("program update: %v", err)
	}
	if err := m.Delete(key64(1)); err != EPERM {
		t.Errorf("program delete: %v", err)
	}
	d.Exit(0)
	next := make([]byte, 8)
	if err := m.NextKey(nil, next); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteUser(key64(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.LookupUser(key64(1), id); !errors.Is(err, ENOENT) {
		t.Errorf("lookup after delete: %v", err)
	}
	if err := m.DeleteUser(key64(1)); !errors.Is(err, ENOENT) {
		t.Errorf("second delete: %v", err)
	}
}

// TestHashStress runs virtual CPUs and user space against one small map.
// Programs check every value they read, and re-check the addresses they hold
// just before leaving their invocation: an element reused while a reader was
// inside its epoch would show another key's value. At the end, every
// element must be either linked or free.
func TestHashStress(t *testing.T) {
	for _, typ := range hashTypes {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			const (
				cpus    = 4
				max     = 32
				keys    = 48
				batches = 300
				batch   = 16
			)
			m, d := newTestHash(t, typ, 8, 16, max, cpus)
			keyOf := func(i int) uint64 { return uint64(i) | 0xabcd<<40 }
			// checkValue reports whether v could be key k's value as cpu
			// sees it: for per-CPU maps a slot may also be zero (a new
			// key from another CPU) or half written by user space.
			checkValue := func(v []byte, k uint64) bool {
				for w := 0; w < 2; w++ {
					x := binary.LittleEndian.Uint64(v[8*w:])
					if x != k && !(typ.PerCPU() && x == 0) {
						return false
					}
				}
				return true
			}
			var wg sync.WaitGroup
			var stats sync.Map // outcome → *atomic.Int64, logged at the end
			count := func(what string) {
				c, _ := stats.LoadOrStore(what, new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
			}
			errs := make(chan string, 100)
			fail := func(f string) {
				select {
				case errs <- f:
				default:
				}
			}
			for cpu := 0; cpu < cpus; cpu++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(cpu), 1))
					type held struct{ addr, key uint64 }
					var hold []held
					for b := 0; b < batches; b++ {
						d.Enter(cpu)
						hold = hold[:0]
						for j := 0; j < batch; j++ {
							k := keyOf(r.IntN(keys))
							switch p := r.IntN(100); {
							case p < 50:
								a := m.Lookup(key64(k), cpu)
								if a == 0 {
									count("lookup miss")
									continue
								}
								count("lookup hit")
								if !checkValue(mem.Slice(a, 16), k) {
									fail("lookup read a wrong value")
								}
								hold = append(hold, held{a, k})
							case p < 80:
								err := m.Update(key64(k), hashVal(k), uint64(r.IntN(3)), cpu)
								count(fmt.Sprintf("update %v", err))
								if err != nil && !errors.Is(err, EEXIST) && !errors.Is(err, ENOENT) && !errors.Is(err, ENOMEM) &&
									!(errors.Is(err, E2BIG) && (typ == Hash || typ == PerCPUHash)) {
									fail("update: " + err.Error())
								}
							case p < 95:
								err := m.Delete(key64(k))
								count(fmt.Sprintf("delete %v", err))
								if err != nil && !errors.Is(err, ENOENT) {
									fail("delete: " + err.Error())
								}
							default:
								m.Iterate(cpu, nil, 0, func(ka, va uint64) bool {
									k := binary.LittleEndian.Uint64(mem.Slice(ka, 8))
									if !checkValue(mem.Slice(va, 16), k) {
										fail("iterate read a wrong value")
									}
									return true
								})
							}
						}
						for _, h := range hold {
							// The value, and the key of the element it
							// belongs to, are still those of the key
							// looked up.
							if !checkValue(mem.Slice(h.addr, 16), h.key) {
								fail("held value changed to another key's")
							}
							elem := h.addr - m.keyStride - uint64(cpu)*m.cpuStride
							if binary.LittleEndian.Uint64(mem.Slice(elem, 8)) != h.key {
								fail("held element was reused for another key")
							}
						}
						d.Exit(cpu)
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(99, 2))
				out := make([]byte, UserValueSize(m.Spec(), cpus))
				next := make([]byte, 8)
				for i := 0; i < 1500; i++ {
					k := keyOf(r.IntN(keys))
					switch r.IntN(4) {
					case 0:
						err := m.UpdateUser(key64(k), userValue(m, cpus, hashVal(k)), uint64(r.IntN(3)))
						if err != nil && !errors.Is(err, EEXIST) && !errors.Is(err, ENOENT) && !errors.Is(err, ENOMEM) && !errors.Is(err, E2BIG) {
							fail("user update: " + err.Error())
						}
					case 1:
						if err := m.DeleteUser(key64(k)); err != nil && !errors.Is(err, ENOENT) {
							fail("user delete: " + err.Error())
						}
					case 2:
						if err := m.LookupUser(key64(k), out); err == nil {
							for c := 0; c < len(out)/16; c++ {
								if !checkValue(out[16*c:], k) {
									fail("user lookup read a wrong value")
								}
							}
						} else if !errors.Is(err, ENOENT) {
							fail("user lookup: " + err.Error())
						}
					case 3:
						var cur []byte
						for s := 0; s < 8; s++ {
							if err := m.NextKey(cur, next); err != nil {
								break
							}
							if binary.LittleEndian.Uint64(next)>>40 != 0xabcd {
								fail("next key returned a key never stored")
							}
							cur = append(cur[:0], next...)
						}
					}
				}
			}()
			wg.Wait()
			stats.Range(func(k, v any) bool {
				t.Logf("%s: %d", k, v.(*atomic.Int64).Load())
				return true
			})
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			a := m.account()
			if a.allocated != 0 || a.live+a.free+a.retired != int(m.nElems) || a.live != a.linked || int64(a.live) != a.count {
				t.Errorf("before reclaiming: %+v", a)
			}
			d.Barrier()
			checkHashAccounting(t, m)
		})
	}
}

func benchHash(b *testing.B, typ Type, n int) (*hashMap, *epoch.Domain, [][]byte) {
	m, d := newTestHash(b, typ, 8, 8, uint32(n), 1)
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = key64(uint64(i) * 0x9e3779b9)
		if err := m.UpdateUser(keys[i], userValue(m, 1, key64(1)), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	return m, d, keys
}

func benchLookup(b *testing.B, typ Type) {
	m, d, keys := benchHash(b, typ, 10000)
	d.Enter(0)
	defer d.Exit(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m.Lookup(keys[i&8191], 0) == 0 {
			b.Fatal("miss")
		}
	}
}

func BenchmarkHashLookup8(b *testing.B)      { benchLookup(b, Hash) }
func BenchmarkPerCPUHashLookup(b *testing.B) { benchLookup(b, PerCPUHash) }
func BenchmarkLRUHashLookup(b *testing.B)    { benchLookup(b, LRUHash) }

// BenchmarkHashUpdate8 replaces existing values from a program, leaving the
// epoch every 16 updates as short invocations would.
func BenchmarkHashUpdate8(b *testing.B) {
	m, d, keys := benchHash(b, Hash, 10000)
	v := key64(2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&15 == 0 {
			d.Enter(0)
		}
		if err := m.Update(keys[i&8191], v, UpdateAny, 0); err != nil {
			b.Fatal(err)
		}
		if i&15 == 15 {
			d.Exit(0)
		}
	}
	if b.N&15 != 0 {
		d.Exit(0)
	}
}

func BenchmarkHashLookup8Parallel(b *testing.B) {
	cpus := runtime.GOMAXPROCS(0)
	m, d := newTestHash(b, Hash, 8, 8, 10000, cpus)
	for i := uint64(0); i < 10000; i++ {
		if err := m.UpdateUser(key64(i), key64(i), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	var next sync.Mutex
	cpu := 0
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		c := cpu % cpus
		cpu++
		next.Unlock()
		k := key64(uint64(c) * 17)
		d.Enter(c)
		for pb.Next() {
			if m.Lookup(k, c) == 0 {
				panic("miss")
			}
		}
		d.Exit(c)
	})
}
