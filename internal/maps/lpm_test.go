package maps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/epoch"
	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func newTestLPM(t testing.TB, dataLen, valueSize, max uint32, cpus int) (*lpmTrie, *epoch.Domain) {
	t.Helper()
	env := testEnv(cpus)
	m, err := New(&Spec{Name: "lpm", Type: LPMTrie, KeySize: 4 + dataLen, ValueSize: valueSize, MaxEntries: max, Flags: FlagNoPrealloc}, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*lpmTrie), env.Epoch.(*epoch.Domain)
}

// lpmKey builds a key from a prefix such as "10.1.0.0/16", or from an
// address (full length).
func lpmKey(t testing.TB, s string) []byte {
	t.Helper()
	var p netip.Prefix
	var err error
	if a, aerr := netip.ParseAddr(s); aerr == nil {
		p = netip.PrefixFrom(a, a.BitLen())
	} else if p, err = netip.ParsePrefix(s); err != nil {
		t.Fatal(err)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(p.Bits())), p.Addr().AsSlice()...)
}

func lpmKeyString(k []byte) string {
	a, _ := netip.AddrFromSlice(k[4:])
	return fmt.Sprintf("%s/%d", a, binary.LittleEndian.Uint32(k))
}

func TestLPMIPv4(t *testing.T) {
	m, d := newTestLPM(t, 4, 8, 16, 2)
	for _, p := range []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "0.0.0.0/0", "10.1.2.3/32"} {
		if err := m.UpdateUser(lpmKey(t, p), []byte(fmt.Sprintf("%-8s", p[:min(8, len(p))])), UpdateNoExist); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if err := m.DeleteUser(lpmKey(t, "10.1.2.3/32")); err != nil {
		t.Fatal(err)
	}
	d.Enter(1)
	defer d.Exit(1)
	for _, tc := range []struct{ addr, want string }{
		{"10.1.2.3", "10.1.2.0"},
		{"10.1.2.255", "10.1.2.0"},
		{"10.1.9.9", "10.1.0.0"},
		{"10.9.9.9", "10.0.0.0"},
		{"11.0.0.1", "0.0.0.0/"},
		{"192.168.255.1", "192.168."},
		{"192.169.0.1", "0.0.0.0/"},
	} {
		a := m.Lookup(lpmKey(t, tc.addr), 1)
		if a == 0 || a%8 != 0 {
			t.Fatalf("%s: address %#x", tc.addr, a)
		}
		if got := string(mem.Slice(a, 8)); got != fmt.Sprintf("%-8s", tc.want) {
			t.Errorf("%s matched %q, want %q", tc.addr, got, tc.want)
		}
		out := make([]byte, 8)
		if err := m.LookupUser(lpmKey(t, tc.addr), out); err != nil || string(out) != fmt.Sprintf("%-8s", tc.want) {
			t.Errorf("user lookup %s: %v %q", tc.addr, err, out)
		}
	}
	// A lookup key's own prefix length limits the match, as in Linux.
	if got := string(mem.Slice(m.Lookup(lpmKey(t, "10.1.2.0/20"), 1), 8)); got != "10.1.0.0" {
		t.Errorf("10.1.2.0/20 matched %q", got)
	}
	if err := m.DeleteUser(lpmKey(t, "0.0.0.0/0")); err != nil {
		t.Fatal(err)
	}
	if a := m.Lookup(lpmKey(t, "11.0.0.1"), 1); a != 0 {
		t.Errorf("11.0.0.1 matched after deleting the default route: %q", mem.Slice(a, 8))
	}
	if err := m.LookupUser(lpmKey(t, "11.0.0.1"), make([]byte, 8)); !errors.Is(err, ENOENT) {
		t.Errorf("user lookup of an unmatched address: %v", err)
	}
}

func TestLPMErrors(t *testing.T) {
	m, d := newTestLPM(t, 4, 4, 3, 1)
	v := []byte("vvvv")
	d.Enter(0)
	defer d.Exit(0)
	for n, tc := range []struct {
		op    string
		key   string
		flags uint64
		want  error
	}{
		{"update", "10.0.0.0/8", UpdateNoExist, nil},
		{"update", "10.0.0.0/8", UpdateNoExist, EEXIST},
		{"update", "10.0.0.0/8", UpdateExist, nil},
		{"update", "10.0.0.0/8", 3, EINVAL},
		{"update", "10.1.0.0/16", UpdateExist, ENOENT},
		{"update", "10.1.0.0/16", UpdateAny, nil},
		{"update", "10.2.0.0/16", UpdateAny, nil},
		// 10.0.0.0/14 now exists as the intermediate node joining
		// 10.1/16 and 10.2/16; it holds no value.
		{"delete", "10.0.0.0/14", 0, ENOENT},
		{"update", "10.0.0.0/14", UpdateExist, ENOENT},
		{"update", "10.3.0.0/16", UpdateAny, E2BIG},
		{"update", "10.0.0.0/14", UpdateAny, E2BIG},
		{"update", "10.2.0.0/16", UpdateAny, nil}, // replacing in a full map
		{"delete", "10.9.0.0/16", 0, ENOENT},
		{"delete", "10.1.0.0/17", 0, ENOENT},
		{"delete", "10.1.0.0/16", 0, nil},
		{"delete", "10.1.0.0/16", 0, ENOENT},
		{"update", "10.0.0.0/14", UpdateNoExist, nil},
		{"delete", "10.0.0.0/14", 0, nil},
	} {
		var err error
		if tc.op == "update" {
			if n%2 == 0 {
				err = m.Update(lpmKey(t, tc.key), v, tc.flags, 0)
			} else {
				err = m.UpdateUser(lpmKey(t, tc.key), v, tc.flags)
			}
		} else if n%2 == 0 {
			err = m.Delete(lpmKey(t, tc.key))
		} else {
			err = m.DeleteUser(lpmKey(t, tc.key))
		}
		if !isErr(err, tc.want) {
			t.Fatalf("%d: %s %s flags %d: %v, want %v", n, tc.op, tc.key, tc.flags, err, tc.want)
		}
	}
	bad := lpmKey(t, "10.0.0.0/8")
	binary.LittleEndian.PutUint32(bad, 33)
	if err := m.UpdateUser(bad, v, UpdateAny); !errors.Is(err, EINVAL) {
		t.Errorf("prefix length 33: %v", err)
	}
	if err := m.DeleteUser(bad); !errors.Is(err, EINVAL) {
		t.Errorf("delete prefix length 33: %v", err)
	}
	// The stored key masks the bits past the prefix.
	if err := m.UpdateUser(lpmKey(t, "10.1.2.3/12"), v, UpdateAny); err != nil {
		t.Fatal(err)
	}
	var keys []string
	next := make([]byte, 8)
	var k []byte
	for m.NextKey(k, next) == nil {
		keys = append(keys, lpmKeyString(next))
		k = append(k[:0], next...)
	}
	if fmt.Sprint(keys) != "[10.2.0.0/16 10.0.0.0/12 10.0.0.0/8]" {
		t.Errorf("keys: %v", keys)
	}
	if err := m.DeleteUser(lpmKey(t, "10.0.0.0/12")); err != nil {
		t.Errorf("deleting the masked prefix: %v", err)
	}
	for _, s := range []*Spec{
		{Name: "k4", Type: LPMTrie, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Name: "kbig", Type: LPMTrie, KeySize: 4 + 257, ValueSize: 4, MaxEntries: 1},
		{Name: "v0", Type: LPMTrie, KeySize: 8, ValueSize: 0, MaxEntries: 1},
	} {
		if m, err := New(s, testEnv(1)); err == nil {
			m.Close()
			t.Errorf("New(%v) succeeded", s)
		}
	}
}

func TestLPMNextKey(t *testing.T) {
	m, _ := newTestLPM(t, 4, 4, 16, 1)
	next := make([]byte, 8)
	if err := m.NextKey(nil, next); !errors.Is(err, ENOENT) {
		t.Fatalf("empty trie: %v", err)
	}
	// Linux's example: postorder, children before parents, 0 side first.
	for _, p := range []string{"192.168.0.0/16", "192.168.0.0/24", "192.168.128.0/24", "192.168.1.0/24"} {
		if err := m.UpdateUser(lpmKey(t, p), []byte("vvvv"), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	var k []byte
	for {
		err := m.NextKey(k, next)
		if errors.Is(err, ENOENT) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, lpmKeyString(next))
		k = append(k[:0], next...)
	}
	if fmt.Sprint(keys) != "[192.168.0.0/24 192.168.1.0/24 192.168.128.0/24 192.168.0.0/16]" {
		t.Errorf("order: %v", keys)
	}
	// A key not stored (or only an intermediate node) restarts.
	for _, missing := range []string{"10.0.0.0/8", "192.168.0.0/23"} {
		if err := m.NextKey(lpmKey(t, missing), next); err != nil || lpmKeyString(next) != "192.168.0.0/24" {
			t.Errorf("next of %s: %v %s", missing, err, lpmKeyString(next))
		}
	}
}

// lpmModel is the obvious longest-prefix match, to check the trie against.
type lpmModel map[string][]byte // key (masked) → value

func (mo lpmModel) lookup(data []byte) ([]byte, bool) {
	for pl := len(data) * 8; pl >= 0; pl-- {
		if v, ok := mo[string(lpmMasked(pl, data))]; ok {
			return v, true
		}
	}
	return nil, false
}

func lpmMasked(pl int, data []byte) []byte {
	k := binary.LittleEndian.AppendUint32(nil, uint32(pl))
	for i, b := range data {
		switch {
		case pl >= 8*(i+1):
			k = append(k, b)
		case pl > 8*i:
			k = append(k, b&^byte(0xff>>(pl-8*i)))
		default:
			k = append(k, 0)
		}
	}
	return k
}

// TestLPMRandom checks inserts, replacements and deletes of random prefixes
// against the model, looking up a spread of addresses. With 2-byte
// data the trie matches on words; with 9 bytes (the two bytes varying,
// then zeros, then one bit varying) it takes the general path across an
// 8-byte boundary.
func TestLPMRandom(t *testing.T) {
	for _, dataLen := range []int{2, 9} {
		t.Run(fmt.Sprint(dataLen), func(t *testing.T) { testLPMRandom(t, dataLen) })
	}
}

func testLPMRandom(t *testing.T, dataLen int) {
	const max = 200
	m, d := newTestLPM(t, uint32(dataLen), 4, max, 1)
	mo := lpmModel{}
	r := rand.New(rand.NewPCG(7, uint64(dataLen)))
	bitsLen := 8 * dataLen
	check := func(step int) {
		d.Enter(0)
		defer d.Exit(0)
		data := make([]byte, dataLen)
		stride := 7
		if dataLen > 2 {
			stride = 31 // the model's lookup is slower for long keys
		}
		for a := 0; a < 1<<17; a += stride {
			binary.BigEndian.PutUint16(data, uint16(a))
			if dataLen > 2 {
				data[dataLen-1] = byte(a >> 16)
			} else if a >= 1<<16 {
				break
			}
			key := append(binary.LittleEndian.AppendUint32(nil, uint32(bitsLen)), data...)
			want, ok := mo.lookup(data)
			got := m.Lookup(key, 0)
			if ok != (got != 0) || ok && string(mem.Slice(got, 4)) != string(want) {
				t.Fatalf("step %d: %x: got %#x, want %x (%v)", step, data, got, want, ok)
			}
		}
		var n int
		var k []byte
		next := make([]byte, 4+dataLen)
		seen := map[string]bool{}
		for m.NextKey(k, next) == nil {
			if _, ok := mo[string(next)]; !ok || seen[string(next)] {
				t.Fatalf("step %d: next key %x not stored or repeated", step, next)
			}
			seen[string(next)] = true
			k = append(k[:0], next...)
			n++
		}
		if n != len(mo) {
			t.Fatalf("step %d: iteration visited %d of %d", step, n, len(mo))
		}
	}
	for step := 0; step < 3000; step++ {
		pl := r.IntN(bitsLen + 1)
		data := make([]byte, dataLen)
		data[0], data[1] = byte(r.IntN(256))&0xf3, byte(r.IntN(256))
		if dataLen > 2 {
			pl = []int{r.IntN(17), bitsLen - r.IntN(2)}[r.IntN(2)]
			data[dataLen-1] = byte(r.IntN(2))
		}
		key := lpmMasked(pl, data)
		if r.IntN(3) == 0 {
			_, ok := mo[string(key)]
			err := m.DeleteUser(key)
			if ok != (err == nil) {
				t.Fatalf("step %d: delete %x: %v (stored %v)", step, key, err, ok)
			}
			delete(mo, string(key))
		} else {
			v := binary.LittleEndian.AppendUint32(nil, uint32(step))
			err := m.UpdateUser(key, v, UpdateAny)
			_, ok := mo[string(key)]
			switch {
			case err == nil:
				mo[string(key)] = v
			case errors.Is(err, E2BIG) && !ok && len(mo) == max:
			default:
				t.Fatalf("step %d: update %x: %v", step, key, err)
			}
		}
		if step%100 == 0 {
			check(step)
		}
	}
	check(-1)
	d.Barrier()
	if a := m.account(); a.withValue != len(mo) || a.count != len(mo) || a.used != len(mo) || a.freeList+a.used != int(m.nElems) {
		t.Errorf("accounting: %+v with %d stored of %d slots", a, len(mo), m.nElems)
	}
}

func TestLPMIPv6(t *testing.T) {
	m, d := newTestLPM(t, 16, 8, 16, 1)
	for i, p := range []string{"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64", "::/0", "2001:db8:1:2::5/128"} {
		if err := m.UpdateUser(lpmKey(t, p), key64(uint64(i)), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	d.Enter(0)
	defer d.Exit(0)
	for _, tc := range []struct {
		addr string
		want uint64
	}{
		{"2001:db8:1:2::5", 4}, {"2001:db8:1:2::6", 2}, {"2001:db8:1:3::1", 1}, {"2001:db8:ffff::1", 0}, {"fe80::1", 3},
	} {
		a := m.Lookup(lpmKey(t, tc.addr), 0)
		if a == 0 || binary.LittleEndian.Uint64(mem.Slice(a, 8)) != tc.want {
			t.Errorf("%s: %#x", tc.addr, a)
		}
	}
}

// TestLPMStress has programs look up (and check what they read, before and
// at the end of each invocation) while other programs and user space
// replace and delete prefixes.
func TestLPMStress(t *testing.T) {
	const cpus = 4
	m, d := newTestLPM(t, 4, 8, 64, cpus)
	// Value of a prefix: its key's data and length, so a reader can check
	// that what it got covers the address it looked up.
	val := func(k []byte) []byte { return append(append([]byte(nil), k[4:8]...), k[:4]...) }
	prefix := func(r *rand.Rand) []byte {
		pl := []int{8, 16, 24, 32}[r.IntN(4)]
		return lpmMasked(pl, []byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(4))})
	}
	covers := func(v, addr []byte) bool {
		pl := int(binary.LittleEndian.Uint32(v[4:]))
		return pl <= 32 && string(lpmMasked(pl, addr)[4:]) == string(v[:4])
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(s string) {
		mu.Lock()
		if len(failures) < 10 {
			failures = append(failures, s)
		}
		mu.Unlock()
	}
	for cpu := 0; cpu < cpus; cpu++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(cpu), 3))
			type held struct {
				addr uint64
				data []byte
			}
			var hold []held
			for b := 0; b < 300; b++ {
				d.Enter(cpu)
				hold = hold[:0]
				for j := 0; j < 16; j++ {
					k := prefix(r)
					switch p := r.IntN(10); {
					case p < 6:
						data := []byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(4))}
						a := m.Lookup(append(binary.LittleEndian.AppendUint32(nil, 32), data...), cpu)
						if a != 0 {
							if !covers(mem.Slice(a, 8), data) {
								fail("lookup returned a prefix not covering the address")
							}
							hold = append(hold, held{a, data})
						}
					case p < 9:
						if err := m.Update(k, val(k), UpdateAny, cpu); err != nil && !errors.Is(err, ENOMEM) && !errors.Is(err, E2BIG) {
							fail("update: " + err.Error())
						}
					default:
						if err := m.Delete(k); err != nil && !errors.Is(err, ENOENT) {
							fail("delete: " + err.Error())
						}
					}
				}
				for _, h := range hold {
					if !covers(mem.Slice(h.addr, 8), h.data) {
						fail("held value was reused")
					}
				}
				d.Exit(cpu)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(5, 5))
		out := make([]byte, 8)
		next := make([]byte, 8)
		for i := 0; i < 1500; i++ {
			k := prefix(r)
			switch r.IntN(4) {
			case 0:
				if err := m.UpdateUser(k, val(k), UpdateAny); err != nil && !errors.Is(err, ENOMEM) && !errors.Is(err, E2BIG) {
					fail("user update: " + err.Error())
				}
			case 1:
				if err := m.DeleteUser(k); err != nil && !errors.Is(err, ENOENT) {
					fail("user delete: " + err.Error())
				}
			case 2:
				full := lpmMasked(32, k[4:])
				if err := m.LookupUser(full, out); err == nil && !covers(out, k[4:]) {
					fail("user lookup returned a prefix not covering the address")
				}
			case 3:
				var cur []byte
				for s := 0; s < 8 && m.NextKey(cur, next) == nil; s++ {
					cur = append(cur[:0], next...)
				}
			}
		}
	}()
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	d.Barrier()
	if a := m.account(); a.withValue != a.count || a.used != a.count || a.freeList+a.used != int(m.nElems) {
		t.Errorf("accounting: %+v of %d slots", a, m.nElems)
	}
}

func BenchmarkLPMLookupIPv4(b *testing.B) {
	m, d := newTestLPM(b, 4, 8, 10000, 1)
	r := rand.New(rand.NewPCG(1, 1))
	for m.count < 10000 {
		pl := 8 + r.IntN(25)
		data := binary.BigEndian.AppendUint32(nil, r.Uint32())
		if err := m.UpdateUser(lpmMasked(pl, data), key64(uint64(pl)), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.UpdateUser(lpmMasked(0, []byte{0, 0, 0, 0}), key64(0), UpdateAny); err != nil && !errors.Is(err, E2BIG) {
		b.Fatal(err)
	}
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = append(binary.LittleEndian.AppendUint32(nil, 32), binary.BigEndian.AppendUint32(nil, r.Uint32())...)
	}
	d.Enter(0)
	defer d.Exit(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Lookup(keys[i&1023], 0)
	}
}
