package maps

import "sync"

func init() {
	register(Queue, newQueue)
	register(Stack, newQueue)
}

// queueMap is BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): up to
// max_entries values without keys.
//
// Both keep the values in a circular buffer, as Linux does: a push appends
// at the back; a queue pops from the front and a stack from the back; a push
// with BPF_EXIST into a full map first drops the front value, which is the
// oldest for a queue and the bottom of a stack. Values are always copied in
// and out (no address of them reaches a program), so they live on the Go
// heap and a plain mutex, Linux's spinlock, is enough to guard them.
type queueMap struct {
	spec Spec
	lifo bool
	vs   int // value size

	mu    sync.Mutex
	buf   []byte // max_entries slots of vs bytes
	head  int    // slot of the front value
	count int
}

func newQueue(spec *Spec, _ *Env) (Map, error) {
	if spec.KeySize != 0 {
		return nil, fmtErr("%s maps take no keys (key size must be 0, not %d): %w", spec.Type, spec.KeySize, EINVAL)
	}
	if spec.ValueSize == 0 {
		return nil, fmtErr("value size must not be zero: %w", EINVAL)
	}
	size := uint64(spec.ValueSize) * uint64(spec.MaxEntries)
	if size > maxMapBytes {
		return nil, fmtErr("needs %d bytes of storage, more than the %d a map may use: %w", size, uint64(maxMapBytes), E2BIG)
	}
	return &queueMap{
		spec: *spec,
		lifo: spec.Type == Stack,
		vs:   int(spec.ValueSize),
		buf:  make([]byte, size),
	}, nil
}

func (q *queueMap) Spec() *Spec { return &q.spec }

// slot returns the storage of the i-th value from the front.
func (q *queueMap) slot(i int) []byte {
	i += q.head
	if n := int(q.spec.MaxEntries); i >= n {
		i -= n
	}
	return q.buf[i*q.vs : (i+1)*q.vs]
}

// Push adds value (bpf_map_push_elem). With UpdateAny it fails with E2BIG
// when the map is full; with UpdateExist it drops the front value (oldest
// of a queue, bottom of a stack) to make room. UpdateNoExist and unknown
// flags are EINVAL, as in Linux.
func (q *queueMap) Push(value []byte, flags uint64) error {
	if flags != UpdateAny && flags != UpdateExist {
		return EINVAL
	}
	if len(value) < q.vs {
		return EINVAL
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.count == int(q.spec.MaxEntries) {
		if flags != UpdateExist {
			return E2BIG
		}
		q.dropFront()
	}
	copy(q.slot(q.count), value)
	q.count++
	return nil
}

func (q *queueMap) dropFront() {
	q.head++
	if q.head == int(q.spec.MaxEntries) {
		q.head = 0
	}
	q.count--
}

// Pop copies out and removes the next value (bpf_map_pop_elem): the oldest
// for a queue, the newest for a stack. ENOENT when empty.
func (q *queueMap) Pop(value []byte) error { return q.take(value, true) }

// Peek copies out the value Pop would remove, leaving it in place
// (bpf_map_peek_elem). ENOENT when empty.
func (q *queueMap) Peek(value []byte) error { return q.take(value, false) }

func (q *queueMap) take(value []byte, remove bool) error {
	if len(value) < q.vs {
		return EINVAL
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.count == 0 {
		return ENOENT
	}
	if q.lifo {
		copy(value, q.slot(q.count-1))
		if remove {
			q.count--
		}
		return nil
	}
	copy(value, q.slot(0))
	if remove {
		q.dropFront()
	}
	return nil
}

// Lookup finds nothing: programs reach the values through Peek and Pop.
func (q *queueMap) Lookup([]byte, int) uint64 { return 0 }

// Update from a program pushes value; the key is ignored (there are none).
func (q *queueMap) Update(_, value []byte, flags uint64, _ int) error {
	return q.Push(value, flags)
}

// Delete is EINVAL, as in Linux: values leave only by Pop.
func (q *queueMap) Delete([]byte) error { return EINVAL }

// LookupUser peeks, as BPF_MAP_LOOKUP_ELEM on a queue or stack does in
// Linux (BPF_MAP_LOOKUP_AND_DELETE_ELEM, the pop, is Pop). The key must be
// empty.
func (q *queueMap) LookupUser(key, value []byte) error {
	if len(key) != 0 {
		return EINVAL
	}
	return q.Peek(value)
}

// UpdateUser pushes, as BPF_MAP_UPDATE_ELEM does in Linux. The key must be
// empty.
func (q *queueMap) UpdateUser(key, value []byte, flags uint64) error {
	if len(key) != 0 {
		return EINVAL
	}
	return q.Push(value, flags)
}

// DeleteUser is EINVAL, as in Linux.
func (q *queueMap) DeleteUser([]byte) error { return EINVAL }

// NextKey is EINVAL, as in Linux: there are no keys to walk.
func (q *queueMap) NextKey([]byte, []byte) error { return EINVAL }

// Close has nothing to release: the storage is ordinary Go memory, which
// the garbage collector reclaims with the map (and a stray late call cannot
// touch freed memory).
func (q *queueMap) Close() error { return nil }
