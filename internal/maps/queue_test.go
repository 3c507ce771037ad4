package maps

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

func newTestQueue(tb testing.TB, typ Type, entries uint32) QueueLike {
	tb.Helper()
	m, err := New(&Spec{Name: "q", Type: typ, ValueSize: 4, MaxEntries: entries}, testEnv(2))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m.(QueueLike)
}

func val32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func TestQueueStackSpec(t *testing.T) {
	env := testEnv(1)
	for _, typ := range []Type{Queue, Stack} {
		for _, tc := range []struct {
			name string
			spec Spec
			want error
		}{
			{"ok", Spec{ValueSize: 8, MaxEntries: 4}, nil},
			{"key", Spec{KeySize: 4, ValueSize: 8, MaxEntries: 4}, EINVAL},
			{"no value", Spec{ValueSize: 0, MaxEntries: 4}, EINVAL},
			{"too big", Spec{ValueSize: 1 << 30, MaxEntries: 1 << 20}, E2BIG},
		} {
			s := tc.spec
			s.Name, s.Type = tc.name, typ
			m, err := New(&s, env)
			if err == nil {
				m.Close()
			}
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("%s %s: %v, want %v", typ, tc.name, err, tc.want)
			}
		}
	}
}

// TestQueueStackOrder fills a queue and a stack, overflows them with each
// flag, and pops everything: FIFO for the queue, LIFO for the stack, and an
// overwriting push drops the front (oldest / bottom) value.
func TestQueueStackOrder(t *testing.T) {
	for _, tc := range []struct {
		typ  Type
		pops []uint32 // after pushing 1, 2, 3 and overwriting with 4
	}{
		{Queue, []uint32{2, 3, 4}},
		{Stack, []uint32{4, 3, 2}},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			q := newTestQueue(t, tc.typ, 3)
			out := make([]byte, 4)
			if err := q.Pop(out); err != ENOENT {
				t.Errorf("pop empty: %v", err)
			}
			if err := q.Peek(out); err != ENOENT {
				t.Errorf("peek empty: %v", err)
			}
			for v := uint32(1); v <= 3; v++ {
				if err := q.Push(val32(v), UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []struct {
				flags uint64
				want  error
			}{
				{UpdateAny, E2BIG}, {UpdateNoExist, EINVAL}, {3, EINVAL}, {1 << 40, EINVAL},
			} {
				if err := q.Push(val32(99), f.flags); err != f.want {
					t.Errorf("push into full with flags %d: %v, want %v", f.flags, err, f.want)
				}
			}
			if err := q.Push(val32(4), UpdateExist); err != nil {
				t.Fatalf("overwriting push: %v", err)
			}
			for _, want := range tc.pops {
				if err := q.Peek(out); err != nil || binary.LittleEndian.Uint32(out) != want {
					t.Fatalf("peek: %d, %v; want %d", binary.LittleEndian.Uint32(out), err, want)
				}
				if err := q.Pop(out); err != nil || binary.LittleEndian.Uint32(out) != want {
					t.Fatalf("pop: %d, %v; want %d", binary.LittleEndian.Uint32(out), err, want)
				}
			}
			if err := q.Pop(out); err != ENOENT {
				t.Errorf("pop drained: %v", err)
			}
			if err := q.Push(val32(5), UpdateExist); err != nil {
				t.Errorf("overwriting push into a map with room: %v", err)
			}
			if err := q.Push(val32(5), UpdateNoExist); err != EINVAL {
				t.Errorf("push with BPF_NOEXIST into a map with room: %v", err)
			}
			if err := q.Push([]byte{1}, UpdateAny); err != EINVAL {
				t.Errorf("push of a short value: %v", err)
			}
		})
	}
}

// TestQueueStackModel runs long random sequences of pushes and pops on a
// small map, so that the circular buffer wraps many times, and compares
// every result with a slice model.
func TestQueueStackModel(t *testing.T) {
	for _, typ := range []Type{Queue, Stack} {
		t.Run(typ.String(), func(t *testing.T) {
			const entries = 5
			q := newTestQueue(t, typ, entries)
			var model []uint32
			seed := uint32(3)
			out := make([]byte, 4)
			for i := uint32(0); i < 20000; i++ {
				seed = seed*1664525 + 1013904223
				switch op := seed >> 28; {
				case op < 7: // push, sometimes overwriting
					flags := uint64(UpdateAny)
					if op < 2 {
						flags = UpdateExist
					}
					err := q.Push(val32(i), flags)
					switch {
					case len(model) < entries:
						model = append(model, i)
					case flags == UpdateExist:
						model = append(model[1:], i)
					default:
						if err != E2BIG {
							t.Fatalf("op %d: push into full: %v", i, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("op %d: push: %v", i, err)
					}
				default: // pop
					err := q.Pop(out)
					if len(model) == 0 {
						if err != ENOENT {
							t.Fatalf("op %d: pop empty: %v", i, err)
						}
						continue
					}
					var want uint32
					if typ == Queue {
						want, model = model[0], model[1:]
					} else {
						want, model = model[len(model)-1], model[:len(model)-1]
					}
					if got := binary.LittleEndian.Uint32(out); err != nil || got != want {
						t.Fatalf("op %d: pop %d, %v; want %d", i, got, err, want)
					}
				}
			}
		})
	}
}

// TestQueueStackMapMethods checks the keyed Map methods' mapping onto the
// queue operations, as Linux's syscalls do it.
func TestQueueStackMapMethods(t *testing.T) {
	for _, typ := range []Type{Queue, Stack} {
		t.Run(typ.String(), func(t *testing.T) {
			m := newTestQueue(t, typ, 2).(Map)
			out := make([]byte, 4)
			if err := m.LookupUser(nil, out); err != ENOENT {
				t.Errorf("lookup empty: %v", err)
			}
			if err := m.UpdateUser(nil, val32(7), UpdateAny); err != nil {
				t.Fatal(err)
			}
			if err := m.Update(nil, val32(8), UpdateAny, 1); err != nil { // a program's update pushes
				t.Fatal(err)
			}
			if err := m.UpdateUser(nil, val32(9), UpdateAny); err != E2BIG {
				t.Errorf("update full: %v", err)
			}
			if err := m.LookupUser([]byte{}, out); err != nil {
				t.Fatal(err)
			}
			want := uint32(7)
			if typ == Stack {
				want = 8
			}
			if got := binary.LittleEndian.Uint32(out); got != want {
				t.Errorf("lookup (peek) = %d, want %d", got, want)
			}
			for name, err := range map[string]error{
				"lookup with key": m.LookupUser(val32(0), out),
				"update with key": m.UpdateUser(val32(0), val32(1), UpdateExist),
				"delete":          m.Delete(nil),
				"delete user":     m.DeleteUser(nil),
				"next key":        m.NextKey(nil, out),
			} {
				if err != EINVAL {
					t.Errorf("%s: %v, want EINVAL", name, err)
				}
			}
			if m.Lookup(nil, 0) != 0 {
				t.Error("program lookup returned an address")
			}
			// The failed calls changed nothing: two values are left.
			q := m.(QueueLike)
			for i := 0; i < 2; i++ {
				if err := q.Pop(out); err != nil {
					t.Fatalf("pop %d: %v", i, err)
				}
			}
			if err := q.Pop(out); err != ENOENT {
				t.Errorf("pop after draining: %v", err)
			}
		})
	}
}

// TestQueueConcurrent has CPUs push and pop at once; every pushed value must
// be popped exactly once.
func TestQueueConcurrent(t *testing.T) {
	const workers, each = 4, 5000
	q := newTestQueue(t, Queue, 64)
	var wg sync.WaitGroup
	seen := make([][]bool, workers)
	for w := 0; w < workers; w++ {
		seen[w] = make([]bool, each)
	}
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]byte, 4)
			for i := 0; i < each; i++ {
				for q.Push(val32(uint32(w*each+i)), UpdateAny) != nil {
					if q.Pop(out) == nil {
						v := binary.LittleEndian.Uint32(out)
						mu.Lock()
						if seen[v/each][v%each] {
							t.Errorf("value %d popped twice", v)
						}
						seen[v/each][v%each] = true
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	out := make([]byte, 4)
	for q.Pop(out) == nil {
		v := binary.LittleEndian.Uint32(out)
		if seen[v/each][v%each] {
			t.Errorf("value %d popped twice", v)
		}
		seen[v/each][v%each] = true
	}
	for w := range seen {
		for i, ok := range seen[w] {
			if !ok {
				t.Fatalf("value %d lost", w*each+i)
			}
		}
	}
}

func BenchmarkQueuePushPop(b *testing.B) {
	q := newTestQueue(b, Queue, 1024)
	in, out := val32(42), make([]byte, 4)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if q.Push(in, UpdateAny) != nil || q.Pop(out) != nil {
			b.Fatal("push/pop failed")
		}
	}
}
