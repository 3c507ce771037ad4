// Package maps holds the eBPF map types: the data structures programs reach
// through helpers and user space reaches through the Go API.
//
// Map types and flags use Linux's numbering (as cilium/ebpf's MapType does),
// so objects written for Linux load unchanged. Keys and values that programs
// see live outside the Go heap (package mem) at stable addresses; a value
// pointer returned to a program stays valid until the program's invocation
// ends, even if the entry is deleted or replaced meanwhile, because removed
// memory is retired through an epoch domain (package epoch) instead of being
// reused at once.
//
// Two sides use a map:
//
//   - programs, through helpers, on a virtual CPU that is inside an epoch
//     (Enter/Exit around the invocation): lookups are lock-free and return
//     value addresses;
//   - user space, through the *User methods, which copy keys and values in
//     and out and may block on locks.
package maps

import (
	"fmt"
)

// Type is a map type, numbered as in Linux (enum bpf_map_type).
type Type uint32

// The map types ebpfhost implements.
const (
	Hash           Type = 1
	Array          Type = 2
	ProgArray      Type = 3
	PerCPUHash     Type = 5
	PerCPUArray    Type = 6
	LRUHash        Type = 9
	LRUPerCPUHash  Type = 10
	LPMTrie        Type = 11
	ArrayOfMaps    Type = 12
	HashOfMaps     Type = 13
	Queue          Type = 22
	Stack          Type = 23
	RingBuf        Type = 27
	maxLinuxMapTyp Type = 33
)

var typeNames = map[Type]string{
	Hash: "hash", Array: "array", ProgArray: "prog_array", PerCPUHash: "percpu_hash",
	PerCPUArray: "percpu_array", LRUHash: "lru_hash", LRUPerCPUHash: "lru_percpu_hash",
	LPMTrie: "lpm_trie", ArrayOfMaps: "array_of_maps", HashOfMaps: "hash_of_maps",
	Queue: "queue", Stack: "stack", RingBuf: "ringbuf",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("map type %d", uint32(t))
}

// PerCPU reports whether the type keeps one value per virtual CPU.
func (t Type) PerCPU() bool {
	return t == PerCPUHash || t == PerCPUArray || t == LRUPerCPUHash
}

// Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST), as passed to
// bpf_map_update_elem and the user-space update.
const (
	UpdateAny     = 0
	UpdateNoExist = 1
	UpdateExist   = 2
)

// Creation flags that change behaviour (Spec.Flags).
const (
	FlagNoPrealloc = 1 << 0 // BPF_F_NO_PREALLOC: accepted; storage is allocated up front regardless
	FlagRdonlyProg = 1 << 7 // BPF_F_RDONLY_PROG: programs may only read
	FlagWronlyProg = 1 << 8 // BPF_F_WRONLY_PROG
)

// Spec describes a map to create.
type Spec struct {
	Name       string
	Type       Type
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	// InnerMap is the template every inner map of an ArrayOfMaps or
	// HashOfMaps must match (type, key and value size, max entries).
	InnerMap *Spec
}

func (s *Spec) String() string {
	return fmt.Sprintf("%s %q (key %d bytes, value %d bytes, %d entries)", s.Type, s.Name, s.KeySize, s.ValueSize, s.MaxEntries)
}

// Compatible reports whether a map created from s can stand where a map of
// spec t is expected (an inner map of a map-in-map).
func (s *Spec) Compatible(t *Spec) bool {
	return s.Type == t.Type && s.KeySize == t.KeySize && s.ValueSize == t.ValueSize && s.MaxEntries == t.MaxEntries
}

// Env is what maps need from the runtime that creates them.
type Env struct {
	// CPUs is the number of virtual CPUs; per-CPU maps keep that many values
	// and cpu arguments are in [0, CPUs).
	CPUs int
	// Epoch reclaims memory removed from maps (see package epoch). Its
	// participants are the virtual CPUs.
	Epoch Retirer
	// Maps resolves a map id (what user space stores in a map-in-map) to the
	// map and the handle value programs use for it.
	Maps Resolver
}

// Retirer is the part of epoch.Domain maps use.
type Retirer interface {
	Retire(free func())
	Collect() int
}

// Resolver finds maps by id for map-in-map types.
type Resolver interface {
	// Map returns the map with the given id and the value a program uses
	// to refer to it (what lddw of that map yields).
	Map(id uint32) (m Map, handle uint64, ok bool)
}

// Map is the interface every map type implements.
//
// The program-side methods take key and value memory as slices (usually
// over the program's stack, which the caller made with mem.Slice) and a
// virtual CPU number; they must be called between the CPU's epoch Enter and
// Exit. The user-space methods copy and may be called from any goroutine.
type Map interface {
	Spec() *Spec

	// Lookup returns the address of the value stored under key as the
	// program on cpu sees it (its own slot for per-CPU maps), or 0. For
	// map-in-map types it returns the inner map's handle. Types without
	// lookup (queue, stack, ring buffer) return 0.
	Lookup(key []byte, cpu int) uint64
	// Update stores value under key with UpdateAny, UpdateNoExist or
	// UpdateExist semantics; for per-CPU maps only cpu's slot changes.
	Update(key, value []byte, flags uint64, cpu int) error
	// Delete removes key.
	Delete(key []byte) error

	// LookupUser copies the value stored under key into value. For per-CPU
	// maps value holds every CPU's value, each padded to 8 bytes
	// (ValueStride). For map-in-map and prog arrays the value is the id.
	LookupUser(key, value []byte) error
	// UpdateUser stores value under key; per-CPU maps take every CPU's
	// value, padded as for LookupUser. Map-in-map and prog arrays take an id.
	UpdateUser(key, value []byte, flags uint64) error
	// DeleteUser removes key.
	DeleteUser(key []byte) error
	// NextKey writes the key following key into next, or the first key
	// when key is nil; ErrKeyNotExist after the last one.
	NextKey(key, next []byte) error

	// Close releases the map's memory. Programs must no longer run with it.
	Close() error
}

// Iterable maps support bpf_for_each_map_elem: Iterate calls fn with the
// address of each key and value in program-visible memory (scratch is
// KeySize bytes of program-visible memory the map may use for keys it does
// not store, such as array indices) until fn returns false, and returns the
// number of elements visited.
type Iterable interface {
	Iterate(cpu int, scratch []byte, scratchAddr uint64, fn func(keyAddr, valueAddr uint64) bool) int
}

// QueueLike maps (queue, stack) hold values without keys.
type QueueLike interface {
	Push(value []byte, flags uint64) error
	Pop(value []byte) error
	Peek(value []byte) error
}

// UpdateFlagExistOverwrite is BPF_EXIST for queue and stack pushes: when full,
// drop the oldest value instead of failing.
const UpdateFlagExistOverwrite = UpdateExist

// ValueStride returns the distance between per-CPU values in user-space
// buffers: the value size rounded up to 8 bytes, as Linux lays them out.
func ValueStride(valueSize uint32) int { return int(valueSize+7) &^ 7 }

// UserValueSize returns the size of the value buffer LookupUser and
// UpdateUser use for a map of spec s on cpus virtual CPUs.
func UserValueSize(s *Spec, cpus int) int {
	switch {
	case s.Type.PerCPU():
		return ValueStride(s.ValueSize) * cpus
	default:
		return int(s.ValueSize)
	}
}

// constructor builds one map type.
type constructor func(spec *Spec, env *Env) (Map, error)

var constructors = map[Type]constructor{}

// register makes a map type available to New; each type's file registers
// itself.
func register(t Type, c constructor) { constructors[t] = c }

// New creates a map. It checks the spec against what the type requires and
// fails with a message naming the map and the problem.
func New(spec *Spec, env *Env) (Map, error) {
	if env == nil || env.CPUs < 1 {
		return nil, fmt.Errorf("map %q: the runtime gave no virtual CPUs", spec.Name)
	}
	c, ok := constructors[spec.Type]
	if !ok {
		if spec.Type <= maxLinuxMapTyp {
			return nil, fmt.Errorf("map %q: %s is not supported by ebpfhost (supported: %s)", spec.Name, spec.Type, supportedTypes())
		}
		return nil, fmt.Errorf("map %q: unknown map type %d", spec.Name, uint32(spec.Type))
	}
	if spec.MaxEntries == 0 && spec.Type != RingBuf {
		return nil, fmt.Errorf("map %q: max_entries must not be zero", spec.Name)
	}
	m, err := c(spec, env)
	if err != nil {
		return nil, fmt.Errorf("map %q (%s): %w", spec.Name, spec.Type, err)
	}
	return m, nil
}

func supportedTypes() string {
	s := ""
	for t := Hash; t <= maxLinuxMapTyp; t++ {
		if _, ok := constructors[t]; ok {
			if s != "" {
				s += ", "
			}
			s += t.String()
		}
	}
	return s
}
