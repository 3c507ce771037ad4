package mem

import (
	"sort"
	"sync"
)

// registry records every live block, so that helpers handed an arbitrary
// pointer (a %s argument of bpf_snprintf, say: a value the verifier cannot
// type) can tell runtime-owned memory from anything else before reading
// it, as Linux reads such pointers with a fault-tolerant copy.
var registry struct {
	mu     sync.RWMutex
	blocks []span // sorted by start
}

type span struct{ start, end uint64 }

func register(b []byte) {
	s := span{start: addrOf(b), end: addrOf(b) + uint64(len(b))}
	registry.mu.Lock()
	i := sort.Search(len(registry.blocks), func(i int) bool { return registry.blocks[i].start >= s.start })
	registry.blocks = append(registry.blocks, span{})
	copy(registry.blocks[i+1:], registry.blocks[i:])
	registry.blocks[i] = s
	registry.mu.Unlock()
}

func unregister(b []byte) {
	start := addrOf(b)
	registry.mu.Lock()
	i := sort.Search(len(registry.blocks), func(i int) bool { return registry.blocks[i].start >= start })
	if i < len(registry.blocks) && registry.blocks[i].start == start {
		registry.blocks = append(registry.blocks[:i], registry.blocks[i+1:]...)
	}
	registry.mu.Unlock()
}

// Extent returns how many bytes from addr onwards lie inside one live
// block (0 when addr is in none): what a helper may read at addr without
// touching memory the runtime does not own.
func Extent(addr uint64) uint64 {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	i := sort.Search(len(registry.blocks), func(i int) bool { return registry.blocks[i].start > addr })
	if i == 0 {
		return 0
	}
	if b := registry.blocks[i-1]; addr < b.end {
		return b.end - addr
	}
	return 0
}
