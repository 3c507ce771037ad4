package maps

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func init() {
	register(Hash, newHash)
	register(PerCPUHash, newHash)
	register(LRUHash, newHash)
	register(LRUPerCPUHash, newHash)
	register(HashOfMaps, newHashOfMaps)
}

// hashMap is Hash, PerCPUHash, LRUHash and LRUPerCPUHash (and the storage of
// HashOfMaps).
//
// Elements live in one preallocated off-heap block so that programs can be
// handed stable value addresses; each element is the key (padded to 8 bytes)
// followed by the value, or by one value per CPU for per-CPU types, so values
// are 8-byte aligned. Elements are numbered; the Go side keeps, per element,
// the chain link, the key's hash, the LRU referenced bit and a state, all
// atomic so that program lookups can walk bucket chains without a lock while
// writers, serialized per bucket by a mutex, relink them.
//
// An element that leaves a chain (delete, eviction) is retired through the
// epoch domain and goes back on the free list only once every virtual CPU
// that might still hold its address has left its invocation, so an address
// a program holds always belongs to the key it looked up. An update of an
// existing key writes the value in place, as array maps (and Linux's
// preallocated hash maps, which recycle elements at once) do: a program
// holding the address sees the new value, and concurrent writers of one
// key may interleave, but an update never needs a spare element. Hash of
// maps alone replaces elements (see replace).
type hashMap struct {
	spec   Spec
	env    *Env
	percpu bool
	lru    bool
	// replace makes an update of an existing key link a new element in
	// the old one's place and retire the old one, instead of writing the
	// value in place; hash of maps does this so that a program never sees
	// a half-written inner map handle.
	replace bool
	cpus    int // CPUs for per-CPU types, else 1
	keySize int
	valSize int // bytes of one value as stored (hash of maps stores more than the spec says)

	keyStride uint64 // key size rounded up to 8: offset of the value in an element
	stride    uint64 // value size rounded up to 8: distance between per-CPU values
	cpuStride uint64 // stride for per-CPU types, 0 otherwise, so value addresses need no branch
	elemSize  uint64
	nElems    uint32
	max       int64
	seed      uint64
	seed8     uint64 // hashKey's starting state for 8-byte keys
	mask      uint32 // buckets - 1

	blk  *mem.Block
	base uint64

	heads   []atomic.Uint64 // per bucket: link to the first element (hashLink), 0 when empty
	locks   []sync.Mutex    // per bucket: serializes writers and user-space readers
	slots   []hashSlot      // per element
	free    hashFreeList
	count   atomic.Int64  // linked elements
	hand    atomic.Uint32 // LRU clock hand
	reclaim hashReclaim
	// releasers[i] is the func retiring element i hands to the epoch,
	// made on its first retirement and reused after, so that replacing
	// values does not allocate. Only the goroutine that unlinked element
	// i touches its entry.
	releasers []func()
}

// hashSlot is the Go-side metadata of one element.
type hashSlot struct {
	next  atomic.Uint64 // link to the next element in the bucket chain (hashLink), 0 at the end
	hash  atomic.Uint32 // hash of the key, for eviction (which starts from the element)
	ref   atomic.Uint32 // LRU: set when the element is used, cleared by the clock hand
	state atomic.Uint32 // hashState*: for eviction and accounting
}

// hashLink is a chain link: the target's key hash in the high half and its
// index+1 in the low half. Carrying the hash in the link lets a lookup
// reject a non-matching element, and recognize the likely match, without
// first loading that element's metadata: one dependent memory access fewer
// per lookup.
func hashLink(hv, i uint32) uint64 { return uint64(hv)<<32 | uint64(i+1) }

// Element states. Transitions: free → allocated (popped) → live (linked) →
// retired (unlinked, waiting for the epoch) → free; allocated → free when an
// update fails before linking.
const (
	hashStateFree uint32 = iota
	hashStateAllocated
	hashStateLive
	hashStateRetired
)

// hashMaxKey bounds key sizes as Linux does (a key must fit on the 512-byte
// program stack).
const hashMaxKey = 512

// hashMaxPerCPUValue bounds per-CPU values as Linux does (PCPU_MIN_UNIT_SIZE).
const hashMaxPerCPUValue = 32 << 10

func newHash(spec *Spec, env *Env) (Map, error) {
	if spec.ValueSize == 0 {
		return nil, fmtErr("value size must not be zero: %w", EINVAL)
	}
	if spec.Type.PerCPU() && spec.ValueSize > hashMaxPerCPUValue {
		return nil, fmtErr("per-CPU values are limited to %d bytes, not %d: %w", hashMaxPerCPUValue, spec.ValueSize, E2BIG)
	}
	h, err := newHashMap(spec, env, int(spec.ValueSize))
	if err != nil {
		return nil, err
	}
	return h, nil
}

// newHashMap builds the storage for spec with valSize-byte values (which
// differs from spec.ValueSize only for hash of maps).
func newHashMap(spec *Spec, env *Env, valSize int) (*hashMap, error) {
	if spec.KeySize == 0 || spec.KeySize > hashMaxKey {
		return nil, fmtErr("key size must be 1 to %d bytes, not %d: %w", hashMaxKey, spec.KeySize, EINVAL)
	}
	if spec.MaxEntries > 1<<30 {
		return nil, fmtErr("at most %d entries, not %d: %w", 1<<30, spec.MaxEntries, E2BIG)
	}
	h := &hashMap{
		spec:    *spec,
		env:     env,
		percpu:  spec.Type.PerCPU(),
		lru:     spec.Type == LRUHash || spec.Type == LRUPerCPUHash,
		cpus:    1,
		keySize: int(spec.KeySize),
		valSize: valSize,
		max:     int64(spec.MaxEntries),
		seed:    rand.Uint64(),
	}
	if h.percpu {
		h.cpus = env.CPUs
	}
	h.seed8 = h.seed ^ hashStart(8)
	h.keyStride = uint64(spec.KeySize+7) &^ 7
	h.stride = uint64(valSize+7) &^ 7
	if h.percpu {
		h.cpuStride = h.stride
	}
	h.elemSize = h.keyStride + h.stride*uint64(h.cpus)

	// Replacements and deletes retire elements that stay unusable until
	// every CPU inside an invocation has left it, including the caller, so
	// the map needs elements beyond max_entries to keep accepting
	// replacements meanwhile: two per CPU, plus a reserve so that programs
	// may replace values a few hundred times while some CPU is in a long
	// invocation (or its goroutine is descheduled in one).
	n := uint64(spec.MaxEntries) + 2*uint64(h.cpus) + hashReserve(h.elemSize)
	size := n * h.elemSize
	meta := n*(24+4+8) + 2*uint64(spec.MaxEntries)*16
	if size+meta > maxMapBytes {
		return nil, fmtErr("needs %d bytes of storage, more than the %d a map may use: %w", size+meta, uint64(maxMapBytes), E2BIG)
	}
	h.nElems = uint32(n)
	h.reclaim.init(n - uint64(spec.MaxEntries))

	// As many buckets as entries, rounded up to a power of two (as Linux),
	// so chains stay short at full occupancy.
	nb := uint32(1)
	for nb < spec.MaxEntries {
		nb <<= 1
	}
	h.mask = nb - 1
	h.heads = make([]atomic.Uint64, nb)
	h.locks = make([]sync.Mutex, nb)
	h.slots = make([]hashSlot, n)
	h.releasers = make([]func(), n)
	h.free.init(h.nElems)

	blk, err := mem.Alloc(int(size))
	if err != nil {
		return nil, err
	}
	h.blk, h.base = blk, blk.Addr()
	return h, nil
}

// hashReserve is the number of spare elements beyond two per CPU: 256, but
// no more than 4 MiB of them.
func hashReserve(elemSize uint64) uint64 {
	return min(256, (4<<20)/elemSize)
}

func (h *hashMap) Spec() *Spec { return &h.spec }

func (h *hashMap) Close() error { return h.blk.Free() }

// Multipliers for hashKey: arbitrary odd 64-bit constants with well-mixed
// bits (the first is the golden ratio).
const (
	hashC0 = 0x9e3779b97f4a7c15
	hashC1 = 0xd1b54a32d192ed03
	hashC2 = 0xaef17502108ef2d9
	hashC3 = 0xdb4f0b9175ae2165
)

// hashStart is the length term hashKey starts from (a function, because the
// product wraps and constant arithmetic would not).
func hashStart(n int) uint64 { return uint64(n) * hashC0 }

// hashMix folds the 128-bit product of a and b into 64 bits, so every input
// bit reaches the low bits that select the bucket.
func hashMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashKey hashes a key with the map's random seed (keys often come from
// packets, so a fixed function would let senders pick colliding keys). It
// takes 8 bytes per multiply, which keeps program lookups of small keys at
// a few nanoseconds; hash/maphash would cost more per call on this path.
func (h *hashMap) hashKey(key []byte) uint32 {
	x := h.seed ^ hashStart(len(key))
	for len(key) >= 8 {
		x = hashMix(x^binary.LittleEndian.Uint64(key), hashC1)
		key = key[8:]
	}
	if n := len(key); n > 0 {
		var w uint64
		if n >= 4 {
			// Overlapping reads cover 4 to 7 bytes; the length went into x.
			w = uint64(binary.LittleEndian.Uint32(key)) | uint64(binary.LittleEndian.Uint32(key[n-4:]))<<32
		} else {
			w = uint64(key[0]) | uint64(key[n/2])<<8 | uint64(key[n-1])<<16
		}
		x = hashMix(x^w, hashC2)
	}
	return uint32(hashMix(x, hashC3))
}

func (h *hashMap) elemAddr(i uint32) uint64 { return h.base + uint64(i)*h.elemSize }

// valueAddr is where cpu's value of element i lives (the only value for
// types that are not per-CPU).
func (h *hashMap) valueAddr(i uint32, cpu int) uint64 {
	return h.base + uint64(i)*h.elemSize + h.keyStride + uint64(cpu)*h.cpuStride
}

func (h *hashMap) keyEqual(i uint32, key []byte) bool {
	a := h.elemAddr(i)
	switch h.keySize {
	case 8:
		return binary.NativeEndian.Uint64(mem.Slice(a, 8)) == binary.NativeEndian.Uint64(key)
	case 4:
		return binary.NativeEndian.Uint32(mem.Slice(a, 4)) == binary.NativeEndian.Uint32(key)
	}
	return bytes.Equal(mem.Slice(a, h.keySize), key)
}

// find returns index+1 of the element holding key in bucket hv&mask, or 0.
// Without the bucket lock it is only safe inside an epoch: a concurrently
// unlinked element keeps its link to the rest of the chain until it is
// reused, which the epoch delays.
func (h *hashMap) find(key []byte, hv uint32) uint32 {
	for l := h.heads[hv&h.mask].Load(); l != 0; {
		i := uint32(l)
		if uint32(l>>32) == hv && h.keyEqual(i-1, key) {
			return i
		}
		l = h.slots[i-1].next.Load()
	}
	return 0
}

// findLocked is find for a caller holding the bucket lock; it also returns
// the predecessor (index+1, or 0 for the bucket head) for unlinking.
func (h *hashMap) findLocked(key []byte, hv uint32) (prev, cur uint32) {
	for l := h.heads[hv&h.mask].Load(); l != 0; {
		cur = uint32(l)
		if uint32(l>>32) == hv && h.keyEqual(cur-1, key) {
			return prev, cur
		}
		prev, l = cur, h.slots[cur-1].next.Load()
	}
	return 0, 0
}

// setLink makes prev (index+1, or 0 for the head of bucket b) link to to.
func (h *hashMap) setLink(b, prev uint32, to uint64) {
	if prev == 0 {
		h.heads[b].Store(to)
	} else {
		h.slots[prev-1].next.Store(to)
	}
}

// touch sets the LRU referenced bit, reading first so that hot elements do
// not bounce their cache line between CPUs.
func (h *hashMap) touch(i uint32) {
	if s := &h.slots[i]; s.ref.Load() == 0 {
		s.ref.Store(1)
	}
}

// find8 is find for 8-byte keys, the most common size (a u64 or a pair of
// u32s), with the hash and the key comparison inline: it is the bulk of a
// program lookup. It computes exactly hashKey.
func (h *hashMap) find8(k uint64) uint32 {
	hv := uint32(hashMix(hashMix(h.seed8^k, hashC1), hashC3))
	for l := h.heads[hv&h.mask].Load(); l != 0; {
		i := uint32(l)
		if uint32(l>>32) == hv && binary.LittleEndian.Uint64(mem.Slice(h.elemAddr(i-1), 8)) == k {
			return i
		}
		l = h.slots[i-1].next.Load()
	}
	return 0
}

// Lookup is the program-side lookup: lock-free, inside cpu's epoch.
func (h *hashMap) Lookup(key []byte, cpu int) uint64 {
	var i uint32
	if h.keySize == 8 {
		i = h.find8(binary.LittleEndian.Uint64(key))
	} else {
		i = h.find(key, h.hashKey(key))
	}
	if i == 0 {
		return 0
	}
	if h.lru {
		h.touch(i - 1)
	}
	return h.valueAddr(i-1, cpu)
}

func (h *hashMap) Update(key, value []byte, flags uint64, cpu int) error {
	return h.update(key, value, flags, cpu)
}

func (h *hashMap) UpdateUser(key, value []byte, flags uint64) error {
	if len(key) != h.keySize || len(value) < UserValueSize(&h.spec, h.cpus) {
		return EINVAL
	}
	return h.update(key, value, flags, -1)
}

// update is Update (cpu >= 0: the caller is inside cpu's epoch and value is
// one value) and UpdateUser (cpu < 0: no epoch, and per-CPU types take
// every CPU's value, each padded to the stride).
func (h *hashMap) update(key, value []byte, flags uint64, cpu int) error {
	if err := checkFlags(flags); err != nil {
		return err
	}
	hv := h.hashKey(key)
	b := hv & h.mask

	// Probe for the key first to fail early on the flags and to know
	// whether an LRU map must make room before taking an element. Values
	// of an existing key are written in place (except for hash of maps),
	// so an update never needs a free element and never fails for want of
	// one, however many updates one invocation makes.
	var exists bool
	switch {
	case !h.replace:
		h.locks[b].Lock()
		_, cur := h.findLocked(key, hv)
		if cur != 0 && flags != UpdateNoExist {
			h.writeValues(cur-1, value, cpu)
			if h.lru {
				h.touch(cur - 1)
			}
		}
		h.locks[b].Unlock()
		if cur != 0 {
			if flags == UpdateNoExist {
				return EEXIST
			}
			return nil
		}
	case cpu >= 0:
		exists = h.find(key, hv) != 0
	default:
		// User space is no epoch participant: walking a chain without
		// the lock could follow an element that is reused meanwhile.
		h.locks[b].Lock()
		_, cur := h.findLocked(key, hv)
		h.locks[b].Unlock()
		exists = cur != 0
	}
	if exists && flags == UpdateNoExist {
		return EEXIST
	}
	if !exists && flags == UpdateExist {
		return ENOENT
	}
	if !exists {
		if h.lru {
			for h.count.Load() >= h.max && h.evict() {
			}
		} else if h.count.Load() >= h.max {
			// A full map turning new keys away (a full connection
			// table, say) need not touch the free list.
			return E2BIG
		}
	}

	i, ok := h.alloc(cpu < 0)
	if !ok {
		return ENOMEM
	}
	h.initElem(i, key, hv, value, cpu, exists)

	h.locks[b].Lock()
	prev, old := h.findLocked(key, hv)
	var err error
	inPlace := false
	switch {
	case old != 0 && flags == UpdateNoExist:
		err = EEXIST
	case old == 0 && flags == UpdateExist:
		err = ENOENT
	case old != 0 && !h.replace:
		// Another writer created the key since the probe.
		h.writeValues(old-1, value, cpu)
		inPlace = true
	case old == 0:
		if h.count.Add(1) > h.max && !h.lru {
			h.count.Add(-1)
			err = E2BIG
		}
	}
	if err != nil || inPlace {
		h.locks[b].Unlock()
		h.release(i)
		return err
	}
	s := &h.slots[i]
	s.state.Store(hashStateLive)
	if old != 0 {
		// Take the old element's place, so readers see either the old
		// or the new element and iteration order does not change.
		o := &h.slots[old-1]
		s.next.Store(o.next.Load())
		h.setLink(b, prev, hashLink(hv, i))
		o.state.Store(hashStateRetired)
	} else {
		s.next.Store(h.heads[b].Load())
		h.heads[b].Store(hashLink(hv, i))
	}
	h.locks[b].Unlock()

	if old != 0 {
		h.retire(old - 1)
	} else if h.lru {
		// Concurrent inserts may have gone past max_entries.
		for h.count.Load() > h.max && h.evict() {
		}
	}
	return nil
}

// initElem fills a new, unpublished element. For per-CPU types a program
// update sets its CPU's value and zeroes the others (Linux semantics for a
// new key); user space sets them all.
func (h *hashMap) initElem(i uint32, key []byte, hv uint32, value []byte, cpu int, used bool) {
	a := h.elemAddr(i)
	copy(mem.Slice(a, h.keySize), key)
	switch {
	case !h.percpu:
		copy(mem.Slice(a+h.keyStride, h.valSize), value)
	case cpu >= 0:
		clear(mem.Slice(a+h.keyStride, int(h.stride)*h.cpus))
		copy(mem.Slice(h.valueAddr(i, cpu), h.valSize), value)
	default:
		clear(mem.Slice(a+h.keyStride, int(h.stride)*h.cpus))
		h.writeValues(i, value, cpu)
	}
	s := &h.slots[i]
	s.hash.Store(hv)
	// A new key starts unreferenced, like Linux's inactive list: it is
	// the first to go unless a lookup uses it. A replaced value was just
	// used.
	if used {
		s.ref.Store(1)
	} else {
		s.ref.Store(0)
	}
}

// writeValues writes a per-CPU element in place: cpu's value, or every
// CPU's (cpu < 0).
func (h *hashMap) writeValues(i uint32, value []byte, cpu int) {
	if cpu >= 0 {
		copy(mem.Slice(h.valueAddr(i, cpu), h.valSize), value)
		return
	}
	for c := 0; c < h.cpus; c++ {
		copy(mem.Slice(h.valueAddr(i, c), h.valSize), value[c*int(h.stride):])
	}
}

// alloc takes a free element. When none is left it reclaims what the epoch
// allows and tries once more. A program does not wait beyond that: its own
// invocation may be what holds the epoch back. User space (wait) is no
// participant, so it keeps collecting for a while, giving the CPUs time to
// finish the invocations that hold retired elements.
func (h *hashMap) alloc(wait bool) (uint32, bool) {
	i, ok := h.free.pop()
	var deadline time.Time
	for try := 0; !ok; try++ {
		if try > 0 {
			if !wait {
				return 0, false
			}
			// Bounded by time, not by tries: on a loaded machine a CPU
			// may be descheduled in the middle of an invocation for
			// milliseconds, holding the epoch back.
			switch {
			case deadline.IsZero():
				deadline = time.Now().Add(hashUserAllocWait)
			case time.Now().After(deadline):
				return 0, false
			}
			if try < 100 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		}
		h.env.Epoch.Collect()
		i, ok = h.free.pop()
	}
	h.slots[i].state.Store(hashStateAllocated)
	return i, true
}

// hashUserAllocWait bounds how long user space keeps reclaiming before an
// update fails with ENOMEM, so that a CPU stuck in an invocation cannot
// hang it.
const hashUserAllocWait = time.Second

// release puts element i back on the free list: at once for an element that
// was never published, from the epoch for an unlinked one.
func (h *hashMap) release(i uint32) {
	h.slots[i].state.Store(hashStateFree)
	h.free.push(i)
}

func (h *hashMap) retire(i uint32) {
	f := h.releasers[i]
	if f == nil {
		f = func() { h.release(i) }
		h.releasers[i] = f
	}
	h.env.Epoch.Retire(f)
	h.reclaim.retired(h.env.Epoch)
}

// hashReclaim makes a map advance the epoch often enough for its spare
// elements. What is retired in the epoch a CPU entered in comes back only
// after that CPU exits and the global epoch has moved twice; the domain
// collects on its own only every 64 retirements (across all maps), so a map
// whose spare is smaller than that would run out although every invocation
// is short. Collecting every quarter of the spare spreads retirements over
// epochs, so most are reclaimable by the time the spare runs low.
type hashReclaim struct {
	every uint32
	n     atomic.Uint32
}

func (r *hashReclaim) init(spare uint64) {
	r.every = uint32(max(1, min(spare/4, 64)))
}

func (r *hashReclaim) retired(e Retirer) {
	if r.n.Add(1)%r.every == 0 {
		e.Collect()
	}
}

// evict removes one element chosen by a clock (second-chance) sweep: the
// hand clears the referenced bit of used elements and takes the first live
// one whose bit is already clear, approximating least-recently-used at the
// cost of one bit per lookup. It reports whether it removed one.
func (h *hashMap) evict() bool {
	n := h.nElems
	for tries := 2*n + 2; tries > 0; tries-- {
		i := (h.hand.Add(1) - 1) % n
		s := &h.slots[i]
		if s.state.Load() != hashStateLive {
			continue
		}
		if s.ref.Load() != 0 {
			s.ref.Store(0)
			continue
		}
		if h.unlinkElem(i) {
			return true
		}
	}
	return false
}

// unlinkElem removes element i if it is still linked, and retires it.
func (h *hashMap) unlinkElem(i uint32) bool {
	b := h.slots[i].hash.Load() & h.mask
	h.locks[b].Lock()
	prev, cur := uint32(0), uint32(h.heads[b].Load())
	for cur != 0 && cur != i+1 {
		prev, cur = cur, uint32(h.slots[cur-1].next.Load())
	}
	if cur == 0 {
		// Removed or reused since the hand saw it.
		h.locks[b].Unlock()
		return false
	}
	h.unlinkLocked(b, prev, cur)
	h.locks[b].Unlock()
	h.retire(i)
	return true
}

// unlinkLocked removes cur (index+1) after prev from bucket b. Its own link
// stays, so readers standing on it still reach the rest of the chain.
func (h *hashMap) unlinkLocked(b, prev, cur uint32) {
	s := &h.slots[cur-1]
	h.setLink(b, prev, s.next.Load())
	s.state.Store(hashStateRetired)
	h.count.Add(-1)
}

func (h *hashMap) Delete(key []byte) error {
	hv := h.hashKey(key)
	b := hv & h.mask
	h.locks[b].Lock()
	prev, cur := h.findLocked(key, hv)
	if cur == 0 {
		h.locks[b].Unlock()
		return ENOENT
	}
	h.unlinkLocked(b, prev, cur)
	h.locks[b].Unlock()
	h.retire(cur - 1)
	return nil
}

func (h *hashMap) DeleteUser(key []byte) error {
	if len(key) != h.keySize {
		return EINVAL
	}
	return h.Delete(key)
}

// LookupUser copies under the bucket lock: user space is no epoch
// participant, and an element cannot be retired (so not reused) while its
// bucket is locked.
func (h *hashMap) LookupUser(key, value []byte) error {
	if len(key) != h.keySize || len(value) < UserValueSize(&h.spec, h.cpus) {
		return EINVAL
	}
	hv := h.hashKey(key)
	b := hv & h.mask
	h.locks[b].Lock()
	defer h.locks[b].Unlock()
	_, cur := h.findLocked(key, hv)
	if cur == 0 {
		return ENOENT
	}
	h.readValue(cur-1, value)
	return nil
}

// readValue copies element i's value, or every CPU's padded value, out.
func (h *hashMap) readValue(i uint32, value []byte) {
	if !h.percpu {
		copy(value, mem.Slice(h.valueAddr(i, 0), h.valSize))
		return
	}
	for c := 0; c < h.cpus; c++ {
		copy(value[c*int(h.stride):], mem.Slice(h.valueAddr(i, c), int(h.stride)))
	}
}

// NextKey walks buckets in order and each chain in order, as Linux does: a
// key that is not in the map restarts from the first key.
func (h *hashMap) NextKey(key, next []byte) error {
	b := uint32(0)
	if key != nil {
		hv := h.hashKey(key)
		b = hv & h.mask
		h.locks[b].Lock()
		_, cur := h.findLocked(key, hv)
		if cur == 0 {
			h.locks[b].Unlock()
			b = 0
		} else {
			n := uint32(h.slots[cur-1].next.Load())
			if n != 0 {
				copy(next, mem.Slice(h.elemAddr(n-1), h.keySize))
				h.locks[b].Unlock()
				return nil
			}
			h.locks[b].Unlock()
			b++
		}
	}
	// The mask is below 1<<31, so b cannot wrap.
	for ; b <= h.mask; b++ {
		if h.heads[b].Load() == 0 {
			continue
		}
		h.locks[b].Lock()
		if i := uint32(h.heads[b].Load()); i != 0 {
			copy(next, mem.Slice(h.elemAddr(i-1), h.keySize))
			h.locks[b].Unlock()
			return nil
		}
		h.locks[b].Unlock()
	}
	return ENOENT
}

// Iterate walks the chains lock-free, like Lookup, so fn may call back into
// the map (even delete the element it is given: an unlinked element keeps
// its link to the rest of its chain).
func (h *hashMap) Iterate(cpu int, _ []byte, _ uint64, fn func(keyAddr, valueAddr uint64) bool) int {
	n := 0
	for b := range h.heads {
		for i := uint32(h.heads[b].Load()); i != 0; i = uint32(h.slots[i-1].next.Load()) {
			n++
			if !fn(h.elemAddr(i-1), h.valueAddr(i-1, cpu)) {
				return n
			}
		}
	}
	return n
}

// hashAccounting counts elements by state and checks the chains; for tests.
// Only meaningful when no operation is in flight.
type hashAccounting struct {
	live, free, retired, allocated int // by state
	linked, freeList               int // reachable from the buckets and from the free list
	count                          int64
}

func (h *hashMap) account() hashAccounting {
	var a hashAccounting
	for i := range h.slots {
		switch h.slots[i].state.Load() {
		case hashStateFree:
			a.free++
		case hashStateAllocated:
			a.allocated++
		case hashStateLive:
			a.live++
		case hashStateRetired:
			a.retired++
		}
	}
	for b := range h.heads {
		for i := uint32(h.heads[b].Load()); i != 0 && a.linked <= len(h.slots); i = uint32(h.slots[i-1].next.Load()) {
			a.linked++
		}
	}
	a.freeList = h.free.len()
	a.count = h.count.Load()
	return a
}

// hashFreeList is a lock-free stack of element indices (a Treiber stack).
// The head packs a counter with index+1 so that a pop that read a stale
// successor fails its compare-and-swap instead of corrupting the list (the
// ABA problem).
type hashFreeList struct {
	head atomic.Uint64 // counter<<32 | index+1 of the top, 0 when empty
	next []atomic.Uint32
}

// init fills the list with 0..n-1, lowest on top, so that a fresh map
// fills its storage in order.
func (f *hashFreeList) init(n uint32) {
	f.next = make([]atomic.Uint32, n)
	for i := uint32(0); i+1 < n; i++ {
		f.next[i].Store(i + 2)
	}
	if n > 0 {
		f.head.Store(1)
	}
}

func (f *hashFreeList) pop() (uint32, bool) {
	for {
		old := f.head.Load()
		top := uint32(old)
		if top == 0 {
			return 0, false
		}
		nxt := f.next[top-1].Load()
		if f.head.CompareAndSwap(old, (old>>32+1)<<32|uint64(nxt)) {
			return top - 1, true
		}
	}
}

func (f *hashFreeList) push(i uint32) {
	for {
		old := f.head.Load()
		f.next[i].Store(uint32(old))
		if f.head.CompareAndSwap(old, (old>>32+1)<<32|uint64(i+1)) {
			return
		}
	}
}

// len counts the list; only meaningful when nothing pushes or pops.
func (f *hashFreeList) len() int {
	n := 0
	for i := uint32(f.head.Load()); i != 0 && n <= len(f.next); i = f.next[i-1].Load() {
		n++
	}
	return n
}

// hashOfMaps is a HashOfMaps: keys map to inner maps. Each element stores
// the map id user space gave (what LookupUser returns) and the handle
// programs use for it (what Lookup returns), so a program lookup is one
// hash lookup and one load, with no resolving.
type hashOfMaps struct {
	h *hashMap
}

// hashOfMapsValue is the stored value: id at offset 0, handle at offset 8.
const hashOfMapsValue = 16

func newHashOfMaps(spec *Spec, env *Env) (Map, error) {
	if spec.InnerMap == nil {
		return nil, fmtErr("hash_of_maps needs an inner map template: %w", EINVAL)
	}
	if spec.ValueSize != 4 {
		return nil, fmtErr("hash_of_maps takes 4-byte values (map ids), not %d: %w", spec.ValueSize, EINVAL)
	}
	h, err := newHashMap(spec, env, hashOfMapsValue)
	if err != nil {
		return nil, err
	}
	h.replace = true
	return &hashOfMaps{h}, nil
}

func (m *hashOfMaps) Spec() *Spec  { return &m.h.spec }
func (m *hashOfMaps) Close() error { return m.h.Close() }

// Lookup returns the inner map's handle, which programs pass on to other
// map helpers, or 0.
func (m *hashOfMaps) Lookup(key []byte, cpu int) uint64 {
	i := m.h.find(key, m.h.hashKey(key))
	if i == 0 {
		return 0
	}
	return binary.LittleEndian.Uint64(mem.Slice(m.h.valueAddr(i-1, 0)+8, 8))
}

// Update from programs is not allowed for map-in-map types (Linux's
// verifier rejects it).
func (m *hashOfMaps) Update([]byte, []byte, uint64, int) error { return EPERM }

// Delete from programs is not allowed either, for the same reason.
func (m *hashOfMaps) Delete([]byte) error { return EPERM }

func (m *hashOfMaps) UpdateUser(key, value []byte, flags uint64) error {
	if len(key) != m.h.keySize || len(value) < 4 {
		return EINVAL
	}
	if err := checkFlags(flags); err != nil {
		return err
	}
	handle, err := resolveInner(m.h.env, &m.h.spec, value)
	if err != nil {
		return err
	}
	var v [hashOfMapsValue]byte
	copy(v[:4], value)
	binary.LittleEndian.PutUint64(v[8:], handle)
	return m.h.update(key, v[:], flags, -1)
}

func (m *hashOfMaps) LookupUser(key, value []byte) error {
	if len(value) < 4 {
		return EINVAL
	}
	var v [hashOfMapsValue]byte
	// The stored value is bigger than the spec's, so bypass the size check
	// of hashMap.LookupUser.
	if len(key) != m.h.keySize {
		return EINVAL
	}
	hv := m.h.hashKey(key)
	b := hv & m.h.mask
	m.h.locks[b].Lock()
	_, cur := m.h.findLocked(key, hv)
	if cur != 0 {
		m.h.readValue(cur-1, v[:])
	}
	m.h.locks[b].Unlock()
	if cur == 0 {
		return ENOENT
	}
	copy(value, v[:4])
	return nil
}

func (m *hashOfMaps) DeleteUser(key []byte) error    { return m.h.DeleteUser(key) }
func (m *hashOfMaps) NextKey(key, next []byte) error { return m.h.NextKey(key, next) }
