package maps

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func init() {
	register(LPMTrie, newLPMTrie)
}

// lpmTrie is an LPMTrie: longest-prefix-match over keys made of a 4-byte
// little-endian prefix length and the data bytes (an IPv4 or IPv6 address,
// typically).
//
// It is the binary trie Linux uses: each node holds a prefix; a node's
// children extend it, the bit right after the prefix choosing the child;
// nodes that only join two subtrees ("intermediate") have no value. The
// trie structure lives on the Go heap: nodes are immutable once published
// except for their atomic child pointers, so program lookups walk it
// without a lock, and the garbage collector keeps an unlinked node alive for
// a reader still standing on it. Values live off-heap in preallocated slots
// and are retired through the epoch domain like hash elements, so a value
// address a program obtained stays valid until its invocation ends. Writers
// (programs and user space alike) are serialized by one mutex: updates of an
// LPM map are rare next to lookups.
type lpmTrie struct {
	spec      Spec
	env       *Env
	dataLen   int
	maxPrefix uint32
	valSize   int
	stride    uint64
	nElems    uint32

	blk  *mem.Block
	base uint64

	root    atomic.Pointer[lpmNode]
	mu      sync.Mutex // serializes writers and user-space reads
	count   int        // nodes with a value; under mu
	free    hashFreeList
	used    []atomic.Bool // per value slot, for accounting in tests
	reclaim hashReclaim
}

// lpmNode is one prefix. prefixLen, data and elem never change after the
// node is published; replacing a value or turning a node intermediate
// publishes a new node in its place.
type lpmNode struct {
	prefixLen uint32
	elem      uint32 // value slot index+1; 0 for an intermediate node
	data      []byte // the prefix, bits past prefixLen zero
	word      uint64 // for data of at most 8 bytes: data as a big-endian word, left-aligned (lpmWord)
	child     [2]atomic.Pointer[lpmNode]
}

// lpmWord packs data of at most 8 bytes into a word whose bit 63 is the
// first bit of the prefix, so that matching a node is one xor and one
// leading-zero count (see longestWord).
func lpmWord(data []byte) uint64 {
	var b [8]byte
	copy(b[:], data)
	return binary.BigEndian.Uint64(b[:])
}

// lpmMaxData is Linux's limit on the data part of the key.
const lpmMaxData = 256

func newLPMTrie(spec *Spec, env *Env) (Map, error) {
	if spec.KeySize < 5 || spec.KeySize > 4+lpmMaxData {
		return nil, fmtErr("lpm_trie keys are a 4-byte prefix length and 1 to %d data bytes, not %d bytes: %w", lpmMaxData, spec.KeySize, EINVAL)
	}
	if spec.ValueSize == 0 {
		return nil, fmtErr("value size must not be zero: %w", EINVAL)
	}
	if spec.MaxEntries > 1<<24 {
		return nil, fmtErr("at most %d entries: %w", 1<<24, E2BIG)
	}
	t := &lpmTrie{
		spec:      *spec,
		env:       env,
		dataLen:   int(spec.KeySize - 4),
		maxPrefix: 8 * (spec.KeySize - 4),
		valSize:   int(spec.ValueSize),
		stride:    uint64(spec.ValueSize+7) &^ 7,
	}
	// Slack beyond max_entries for replacements whose old value waits for
	// the epoch (see newHashMap).
	n := uint64(spec.MaxEntries) + 2*uint64(env.CPUs) + hashReserve(t.stride)
	size := n * t.stride
	if size > maxMapBytes {
		return nil, fmtErr("needs %d bytes of storage, more than the %d a map may use: %w", size, uint64(maxMapBytes), E2BIG)
	}
	t.nElems = uint32(n)
	t.reclaim.init(n - uint64(spec.MaxEntries))
	t.free.init(t.nElems)
	t.used = make([]atomic.Bool, n)
	blk, err := mem.Alloc(int(size))
	if err != nil {
		return nil, err
	}
	t.blk, t.base = blk, blk.Addr()
	return t, nil
}

func (t *lpmTrie) Spec() *Spec  { return &t.spec }
func (t *lpmTrie) Close() error { return t.blk.Free() }

func (t *lpmTrie) valueAddr(elem uint32) uint64 { return t.base + uint64(elem-1)*t.stride }

// lpmBit returns bit i of data, counting from the most significant bit of
// the first byte (network order, as prefixes are written).
func lpmBit(data []byte, i uint32) int {
	return int(data[i/8]>>(7-i%8)) & 1
}

// lpmMatch returns how many leading bits n's prefix shares with data, up to
// the shorter of n's prefix and limit. It compares up to 8 bytes at a time.
func lpmMatch(n *lpmNode, data []byte, limit uint32) uint32 {
	limit = min(limit, n.prefixLen)
	nd := n.data
	var m uint32
	for i := 0; m < limit; {
		var diff, width uint32
		switch r := len(nd) - i; {
		case r >= 8:
			d := binary.BigEndian.Uint64(nd[i:]) ^ binary.BigEndian.Uint64(data[i:])
			diff, width = uint32(bits.LeadingZeros64(d)), 64
			i += 8
		case r >= 4:
			d := binary.BigEndian.Uint32(nd[i:]) ^ binary.BigEndian.Uint32(data[i:])
			diff, width = uint32(bits.LeadingZeros32(d)), 32
			i += 4
		case r >= 2:
			d := binary.BigEndian.Uint16(nd[i:]) ^ binary.BigEndian.Uint16(data[i:])
			diff, width = uint32(bits.LeadingZeros16(d)), 16
			i += 2
		default:
			diff, width = uint32(bits.LeadingZeros8(nd[i]^data[i])), 8
			i++
		}
		m += diff
		if diff < width {
			break
		}
	}
	return min(m, limit)
}

// Lookup returns the value address of the longest stored prefix matching
// key, lock-free, inside cpu's epoch.
func (t *lpmTrie) Lookup(key []byte, _ int) uint64 {
	if n := t.longest(key); n != nil {
		return t.valueAddr(n.elem)
	}
	return 0
}

// longest finds the node with the longest prefix matching key (whose own
// prefix length limits the match, as in Linux), or nil.
func (t *lpmTrie) longest(key []byte) *lpmNode {
	pl := min(binary.LittleEndian.Uint32(key), t.maxPrefix)
	data := key[4:]
	if t.dataLen <= 8 {
		return t.longestWord(pl, lpmWord(data))
	}
	var found *lpmNode
	for n := t.root.Load(); n != nil; {
		if lpmMatch(n, data, pl) < n.prefixLen {
			break
		}
		if n.elem != 0 {
			found = n
		}
		if n.prefixLen >= pl {
			break
		}
		n = n.child[lpmBit(data, n.prefixLen)].Load()
	}
	return found
}

// longestWord is longest for data of at most 8 bytes (IPv4 addresses, and
// most other short keys), with the match computed inline on words: a lookup
// visits a node per level, so the per-node cost is what counts.
func (t *lpmTrie) longestWord(pl uint32, w uint64) *lpmNode {
	var found *lpmNode
	for n := t.root.Load(); n != nil; {
		// n matches if its whole prefix is within the key's and equal.
		if n.prefixLen > pl || uint32(bits.LeadingZeros64(n.word^w)) < n.prefixLen {
			break
		}
		if n.elem != 0 {
			found = n
		}
		if n.prefixLen == pl {
			break
		}
		n = n.child[w>>(63-n.prefixLen)&1].Load()
	}
	return found
}

// LookupUser copies under the writer lock: user space is no epoch
// participant, and no value is retired while the lock is held.
func (t *lpmTrie) LookupUser(key, value []byte) error {
	if len(key) != int(t.spec.KeySize) {
		return EINVAL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.longest(key)
	if n == nil {
		return ENOENT
	}
	copy(value, mem.Slice(t.valueAddr(n.elem), t.valSize))
	return nil
}

func (t *lpmTrie) Update(key, value []byte, flags uint64, _ int) error {
	return t.update(key, value, flags)
}

func (t *lpmTrie) UpdateUser(key, value []byte, flags uint64) error {
	if len(key) != int(t.spec.KeySize) || len(value) < t.valSize {
		return EINVAL
	}
	return t.update(key, value, flags)
}

// newNode makes an unpublished node for key's prefix, masking the bits
// beyond the prefix length so equal prefixes compare equal.
func (t *lpmTrie) newNode(pl uint32, data []byte, elem uint32) *lpmNode {
	d := make([]byte, t.dataLen)
	full := int(pl / 8)
	copy(d, data[:full])
	if r := pl % 8; r != 0 {
		d[full] = data[full] & ^byte(0xff>>r)
	}
	return &lpmNode{prefixLen: pl, elem: elem, data: d, word: lpmWord(d)}
}

func (t *lpmTrie) update(key, value []byte, flags uint64) error {
	if err := checkFlags(flags); err != nil {
		return err
	}
	pl := binary.LittleEndian.Uint32(key)
	if pl > t.maxPrefix {
		return EINVAL
	}
	data := key[4:]

	// Take and fill a value slot before locking: reclaiming one may run
	// other maps' frees, which should not run under this map's lock.
	elem, ok := t.free.pop()
	if !ok {
		t.env.Epoch.Collect()
		if elem, ok = t.free.pop(); !ok {
			return ENOMEM
		}
	}
	// (User-space updates could wait for reclamation as hash maps do;
	// LPM maps are updated rarely enough that the slack suffices.)
	t.used[elem].Store(true)
	copy(mem.Slice(t.valueAddr(elem+1), t.valSize), value)
	nn := t.newNode(pl, data, elem+1)

	t.mu.Lock()
	retired, err := t.insertLocked(nn, flags)
	t.mu.Unlock()
	if err != nil {
		t.release(elem)
		return err
	}
	if retired != 0 {
		t.retire(retired - 1)
	}
	return nil
}

// insertLocked links nn, which carries a value, and returns the value slot
// (index+1) it displaced, if any.
func (t *lpmTrie) insertLocked(nn *lpmNode, flags uint64) (uint32, error) {
	slot := &t.root
	var n *lpmNode
	var m uint32
	for {
		n = slot.Load()
		if n == nil {
			break
		}
		m = lpmMatch(n, nn.data, nn.prefixLen)
		if m != n.prefixLen || n.prefixLen == nn.prefixLen || n.prefixLen == t.maxPrefix {
			break
		}
		slot = &n.child[lpmBit(nn.data, n.prefixLen)]
	}

	exact := n != nil && m == n.prefixLen && m == nn.prefixLen
	switch {
	case exact && n.elem != 0 && flags == UpdateNoExist:
		return 0, EEXIST
	case (!exact || n.elem == 0) && flags == UpdateExist:
		return 0, ENOENT
	case (!exact || n.elem == 0) && t.count >= int(t.spec.MaxEntries):
		return 0, E2BIG
	}

	switch {
	case n == nil:
		slot.Store(nn)
	case exact:
		// Same prefix: the new node takes over the children, and the old
		// value (if any) is retired.
		nn.child[0].Store(n.child[0].Load())
		nn.child[1].Store(n.child[1].Load())
		slot.Store(nn)
		if n.elem != 0 {
			return n.elem, nil
		}
	case m == nn.prefixLen:
		// The new prefix contains n's: n hangs below it.
		nn.child[lpmBit(n.data, m)].Store(n)
		slot.Store(nn)
	default:
		// They diverge after m bits: join them under an intermediate node.
		im := t.newNode(m, nn.data, 0)
		im.child[lpmBit(n.data, m)].Store(n)
		im.child[lpmBit(nn.data, m)].Store(nn)
		slot.Store(im)
	}
	t.count++
	return 0, nil
}

func (t *lpmTrie) Delete(key []byte) error {
	pl := binary.LittleEndian.Uint32(key)
	if pl > t.maxPrefix {
		return EINVAL
	}
	t.mu.Lock()
	elem, err := t.deleteLocked(pl, key[4:])
	t.mu.Unlock()
	if err != nil {
		return err
	}
	t.retire(elem - 1)
	return nil
}

func (t *lpmTrie) DeleteUser(key []byte) error {
	if len(key) != int(t.spec.KeySize) {
		return EINVAL
	}
	return t.Delete(key)
}

// deleteLocked unlinks the exact prefix pl/data and returns its value slot
// (index+1). It keeps the trie compact as Linux does: a node with two
// children becomes intermediate, a childless node under an intermediate
// parent takes the parent with it, and otherwise the node's only child (or
// nothing) takes its place.
func (t *lpmTrie) deleteLocked(pl uint32, data []byte) (uint32, error) {
	slot, parentSlot := &t.root, (*atomic.Pointer[lpmNode])(nil)
	var parent, n *lpmNode
	var m uint32
	for {
		n = slot.Load()
		if n == nil {
			break
		}
		m = lpmMatch(n, data, pl)
		if m != n.prefixLen || n.prefixLen == pl {
			break
		}
		parent, parentSlot = n, slot
		slot = &n.child[lpmBit(data, n.prefixLen)]
	}
	if n == nil || n.prefixLen != pl || m != pl || n.elem == 0 {
		return 0, ENOENT
	}
	t.count--
	c0, c1 := n.child[0].Load(), n.child[1].Load()
	switch {
	case c0 != nil && c1 != nil:
		im := &lpmNode{prefixLen: n.prefixLen, data: n.data, word: n.word}
		im.child[0].Store(c0)
		im.child[1].Store(c1)
		slot.Store(im)
	case c0 == nil && c1 == nil && parent != nil && parent.elem == 0:
		other := parent.child[0].Load()
		if other == n {
			other = parent.child[1].Load()
		}
		parentSlot.Store(other)
	case c0 != nil:
		slot.Store(c0)
	default:
		slot.Store(c1) // possibly nil
	}
	return n.elem, nil
}

func (t *lpmTrie) release(elem uint32) {
	t.used[elem].Store(false)
	t.free.push(elem)
}

func (t *lpmTrie) retire(elem uint32) {
	t.env.Epoch.Retire(func() { t.release(elem) })
	t.reclaim.retired(t.env.Epoch)
}

// NextKey iterates in postorder, as Linux does (children before their
// parent, the 0 side first); a key that is not stored restarts from the
// first.
func (t *lpmTrie) NextKey(key, next []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	root := t.root.Load()
	if root == nil {
		return ENOENT
	}
	var n *lpmNode
	if key != nil && len(key) == int(t.spec.KeySize) {
		n = t.successor(root, binary.LittleEndian.Uint32(key), key[4:])
		if n == nil {
			return ENOENT
		}
	} else {
		n = lpmFirst(root)
	}
	binary.LittleEndian.PutUint32(next, n.prefixLen)
	copy(next[4:], n.data)
	return nil
}

// lpmFirst returns the first node with a value in postorder below n: the
// leaf reached by going to the 0 side whenever there is one (leaves always
// have values; intermediate nodes have two children).
func lpmFirst(n *lpmNode) *lpmNode {
	for {
		if c := n.child[0].Load(); c != nil {
			n = c
		} else if c := n.child[1].Load(); c != nil {
			n = c
		} else {
			return n
		}
	}
}

// successor returns the node after prefix pl/data in postorder, the first
// node if that prefix is not stored, or nil after the last.
func (t *lpmTrie) successor(root *lpmNode, pl uint32, data []byte) *lpmNode {
	if pl > t.maxPrefix {
		return lpmFirst(root)
	}
	var path []*lpmNode
	n := root
	for n != nil {
		m := lpmMatch(n, data, pl)
		if m != n.prefixLen {
			n = nil
			break
		}
		path = append(path, n)
		if n.prefixLen == pl {
			break
		}
		n = n.child[lpmBit(data, n.prefixLen)].Load()
	}
	if n == nil || n.elem == 0 {
		return lpmFirst(root)
	}
	for i := len(path) - 1; i > 0; i-- {
		cur, p := path[i], path[i-1]
		if p.child[0].Load() == cur {
			if r := p.child[1].Load(); r != nil {
				return lpmFirst(r)
			}
		}
		if p.elem != 0 {
			return p
		}
	}
	return nil
}

// lpmAccounting counts value slots and trie nodes; for tests, when no
// operation is in flight.
type lpmAccounting struct {
	used, freeList, withValue, count int
}

func (t *lpmTrie) account() lpmAccounting {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := lpmAccounting{freeList: t.free.len(), count: t.count}
	for i := range t.used {
		if t.used[i].Load() {
			a.used++
		}
	}
	var walk func(n *lpmNode)
	walk = func(n *lpmNode) {
		if n == nil {
			return
		}
		if n.elem != 0 {
			a.withValue++
		}
		walk(n.child[0].Load())
		walk(n.child[1].Load())
	}
	walk(t.root.Load())
	return a
}
