// Package mem allocates the memory that eBPF programs address directly: their
// stacks, contexts, packet buffers and map storage.
//
// Programs hold plain 64-bit addresses in their registers, so this memory
// must never move and must not be Go heap memory: the garbage collector does
// not see an address kept in a uint64, and the race detector's pointer checks
// reject heap pointers manufactured from integers. On systems with mmap the
// memory comes from anonymous mappings; elsewhere it falls back to the Go heap,
// which is correct but not checkptr-clean.
package mem

import (
	"fmt"
	"unsafe"
)

// Block is a region of stable, zeroed memory outside the Go heap.
type Block struct {
	b []byte
}

// Alloc returns a zeroed block of at least n bytes (n > 0).
func Alloc(n int) (*Block, error) {
	if n <= 0 {
		return nil, fmt.Errorf("mem: invalid allocation size %d", n)
	}
	b, err := alloc(n)
	if err != nil {
		return nil, fmt.Errorf("mem: allocating %d bytes: %w", n, err)
	}
	register(b[:n])
	// Keep the capacity: free needs the whole mapping (alloc rounds up to
	// whole pages, and munmap of a shorter slice fails).
	return &Block{b: b[:n]}, nil
}

// AllocLow is Alloc for memory whose every address fits in 32 bits. Linux
// program types whose contexts hold 32-bit pointer fields (xdp_md's data and
// data_end) address their packet data this way, so that a program's 32-bit
// load of the field yields the real address.
func AllocLow(n int) (*Block, error) {
	if n <= 0 {
		return nil, fmt.Errorf("mem: invalid allocation size %d", n)
	}
	b, err := allocLow(n)
	if err != nil {
		return nil, fmt.Errorf("mem: allocating %d bytes below 4 GiB: %w", n, err)
	}
	register(b[:n])
	return &Block{b: b[:n]}, nil
}

// lowEnough reports whether all of b lies below 4 GiB.
func lowEnough(b []byte) bool {
	end := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) + uint64(len(b))
	return end <= 1<<32
}

func unsafeBytes(p unsafe.Pointer, n int) []byte { return unsafe.Slice((*byte)(p), n) }

func addrOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// Bytes returns the block's memory. The slice stays valid until Free.
func (b *Block) Bytes() []byte { return b.b[:len(b.b):len(b.b)] }

// Addr returns the address of the first byte, as programs see it.
func (b *Block) Addr() uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b.b)))) }

// Len returns the size of the block in bytes.
func (b *Block) Len() int { return len(b.b) }

// Free releases the block. Nothing may use its memory afterwards.
func (b *Block) Free() error {
	if b == nil || b.b == nil {
		return nil
	}
	unregister(b.b)
	err := free(b.b[:cap(b.b)])
	b.b = nil
	return err
}

// Slice returns n bytes of memory at addr, an address a program produced.
// The caller must know that the range lies inside live, runtime-owned memory
// (the verifier or a checked-mode bounds check proved it).
func Slice(addr uint64, n int) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(Pointer(addr)), n)
}

// Pointer converts a program address into a pointer. The same caveat as for
// Slice applies.
func Pointer(addr uint64) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(nil), uintptr(addr))
}
