package maps

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func init() {
	register(Array, newArray)
	register(PerCPUArray, newArray)
	register(ProgArray, newProgArray)
	register(ArrayOfMaps, newArrayOfMaps)
}

// arrayMap is Array and PerCPUArray: max_entries values at fixed addresses,
// indexed by a 4-byte key. Every index always exists; values start zeroed.
// Per-CPU arrays keep each CPU's values contiguous.
type arrayMap struct {
	spec   Spec
	cpus   int    // 1, or the number of CPUs for PerCPUArray
	stride uint64 // value size rounded up to 8
	blk    *mem.Block
	base   uint64
	frozen atomic.Bool
}

func checkArraySpec(spec *Spec) error {
	if spec.KeySize != 4 && !(spec.KeySize == 8 && spec.Type != ProgArray && spec.Type != ArrayOfMaps) {
		return fmtErr("array maps take 4-byte keys (the index), not %d bytes", spec.KeySize)
	}
	if spec.ValueSize == 0 {
		return fmtErr("value size must not be zero")
	}
	return nil
}

func newArray(spec *Spec, env *Env) (Map, error) {
	if err := checkArraySpec(spec); err != nil {
		return nil, err
	}
	cpus := 1
	if spec.Type == PerCPUArray {
		cpus = env.CPUs
	}
	a := &arrayMap{spec: *spec, cpus: cpus, stride: uint64(ValueStride(spec.ValueSize))}
	size := uint64(cpus) * uint64(spec.MaxEntries) * a.stride
	if size > maxMapBytes {
		return nil, fmtErr("needs %d bytes of storage, more than the %d a map may use", size, uint64(maxMapBytes))
	}
	blk, err := mem.Alloc(int(size))
	if err != nil {
		return nil, err
	}
	a.blk, a.base = blk, blk.Addr()
	return a, nil
}

// maxMapBytes bounds the storage of one map, so that a bad spec in an
// object fails cleanly instead of exhausting memory.
const maxMapBytes = 1 << 34

func (a *arrayMap) Spec() *Spec { return &a.spec }

func (a *arrayMap) addr(idx uint32, cpu int) uint64 {
	return a.base + (uint64(cpu)*uint64(a.spec.MaxEntries)+uint64(idx))*a.stride
}

func (a *arrayMap) Lookup(key []byte, cpu int) uint64 {
	idx := arrayIndex(key)
	if idx >= a.spec.MaxEntries {
		return 0
	}
	if a.cpus == 1 {
		cpu = 0
	}
	return a.addr(idx, cpu)
}

func (a *arrayMap) Update(key, value []byte, flags uint64, cpu int) error {
	idx, err := a.index(key, flags)
	if err != nil {
		return err
	}
	if a.cpus == 1 {
		cpu = 0
	}
	copy(mem.Slice(a.addr(idx, cpu), int(a.spec.ValueSize)), value)
	return nil
}

func (a *arrayMap) index(key []byte, flags uint64) (uint32, error) {
	if err := checkFlags(flags); err != nil {
		return 0, err
	}
	if flags == UpdateNoExist {
		return 0, EEXIST // every index exists
	}
	idx := arrayIndex(key)
	if idx >= a.spec.MaxEntries {
		return 0, E2BIG
	}
	return idx, nil
}

// arrayIndex reads an array key: a 4-byte index or, as eBPF for Windows
// accepts, a longer key of which only the first 4 bytes are the index
// (ntosebpfext's process_monitor.c declares a uint64_t key and looks index
// 0 up through a uint32_t variable, so the other bytes are whatever the
// stack holds).
func arrayIndex(key []byte) uint32 { return binary.LittleEndian.Uint32(key) }

func (a *arrayMap) Delete([]byte) error { return EINVAL }

func (a *arrayMap) LookupUser(key, value []byte) error {
	idx := arrayIndex(key)
	if idx >= a.spec.MaxEntries {
		return ENOENT
	}
	if a.cpus == 1 {
		copy(value, mem.Slice(a.addr(idx, 0), int(a.spec.ValueSize)))
		return nil
	}
	for cpu := 0; cpu < a.cpus; cpu++ {
		copy(value[cpu*int(a.stride):], mem.Slice(a.addr(idx, cpu), int(a.spec.ValueSize)))
	}
	return nil
}

func (a *arrayMap) UpdateUser(key, value []byte, flags uint64) error {
	if a.frozen.Load() {
		return EPERM
	}
	idx, err := a.index(key, flags)
	if err != nil {
		return err
	}
	if a.cpus == 1 {
		copy(mem.Slice(a.addr(idx, 0), int(a.spec.ValueSize)), value)
		return nil
	}
	for cpu := 0; cpu < a.cpus; cpu++ {
		copy(mem.Slice(a.addr(idx, cpu), int(a.spec.ValueSize)), value[cpu*int(a.stride):])
	}
	return nil
}

func (a *arrayMap) DeleteUser([]byte) error { return EINVAL }

func (a *arrayMap) NextKey(key, next []byte) error {
	return arrayNextKey(a.spec.MaxEntries, key, next)
}

// arrayNextKey is next-key for index-keyed maps: the first index for a nil
// key or one out of range, else the following index.
func arrayNextKey(max uint32, key, next []byte) error {
	n := uint32(0)
	if key != nil {
		if idx := arrayIndex(key); idx < max {
			n = idx + 1
		}
	}
	if n >= max {
		return ENOENT
	}
	clear(next)
	binary.LittleEndian.PutUint32(next, n)
	return nil
}

func (a *arrayMap) Iterate(cpu int, scratch []byte, scratchAddr uint64, fn func(keyAddr, valueAddr uint64) bool) int {
	if a.cpus == 1 {
		cpu = 0
	}
	n := 0
	for idx := uint32(0); idx < a.spec.MaxEntries; idx++ {
		binary.LittleEndian.PutUint32(scratch, idx)
		n++
		if !fn(scratchAddr, a.addr(idx, cpu)) {
			break
		}
	}
	return n
}

// DirectValueAddr returns the address of byte offset of the single value of
// a one-entry array, which is how programs address global variables
// (.data, .rodata, .bss): lddw with a map value source.
func (a *arrayMap) DirectValueAddr(offset uint32) (uint64, error) {
	if a.cpus != 1 || a.spec.MaxEntries != 1 {
		return 0, fmtErr("direct value access needs a one-entry array, not %s", &a.spec)
	}
	if offset >= a.spec.ValueSize {
		return 0, fmtErr("offset %d is outside the %d-byte value", offset, a.spec.ValueSize)
	}
	return a.base + uint64(offset), nil
}

// ArrayLayout describes where an array's values live, so that the helper
// path can compute a value's address without calling through the Map
// interface: value idx of cpu is at Base + cpu*CPUSpan + idx*Stride.
type ArrayLayout struct {
	Base    uint64
	Stride  uint64
	CPUSpan uint64 // 0 unless per-CPU
	Entries uint32
}

// Layout returns the array's layout.
func (a *arrayMap) Layout() ArrayLayout {
	l := ArrayLayout{Base: a.base, Stride: a.stride, Entries: a.spec.MaxEntries}
	if a.cpus > 1 {
		l.CPUSpan = uint64(a.spec.MaxEntries) * a.stride
	}
	return l
}

// Freeze makes the map read-only for user space (.rodata after loading).
func (a *arrayMap) Freeze() { a.frozen.Store(true) }

// Region returns the whole storage of the array, for checked-mode grants.
func (a *arrayMap) Region() (addr, size uint64) { return a.base, uint64(a.blk.Len()) }

func (a *arrayMap) Close() error { return a.blk.Free() }

// DirectValuer is implemented by maps whose value programs may address
// directly (one-entry arrays holding global variables).
type DirectValuer interface {
	DirectValueAddr(offset uint32) (uint64, error)
}

// Arrayer is implemented by array and per-CPU array maps.
type Arrayer interface{ Layout() ArrayLayout }

// Freezer is implemented by maps that can be made read-only for user space.
type Freezer interface{ Freeze() }

// idArray is the common part of ProgArray and ArrayOfMaps: each index holds
// an id that user space sets (a program or map id) and, for map-in-map, the
// handle programs see. 0 means empty.
type idArray struct {
	spec    Spec
	ids     []atomic.Uint32
	handles []atomic.Uint64
}

func (a *idArray) Spec() *Spec { return &a.spec }

func (a *idArray) slot(key []byte) (uint32, bool) {
	idx := binary.LittleEndian.Uint32(key)
	return idx, idx < a.spec.MaxEntries
}

func (a *idArray) LookupUser(key, value []byte) error {
	idx, ok := a.slot(key)
	if !ok {
		return ENOENT
	}
	id := a.ids[idx].Load()
	if id == 0 {
		return ENOENT
	}
	binary.LittleEndian.PutUint32(value, id)
	return nil
}

func (a *idArray) DeleteUser(key []byte) error { return a.Delete(key) }

func (a *idArray) Delete(key []byte) error {
	idx, ok := a.slot(key)
	if !ok {
		return E2BIG
	}
	if a.ids[idx].Swap(0) == 0 {
		return ENOENT
	}
	a.handles[idx].Store(0)
	return nil
}

func (a *idArray) NextKey(key, next []byte) error { return arrayNextKey(a.spec.MaxEntries, key, next) }

func (a *idArray) set(key []byte, flags uint64, id uint32, handle uint64) error {
	if err := checkFlags(flags); err != nil {
		return err
	}
	idx, ok := a.slot(key)
	if !ok {
		return E2BIG
	}
	if flags == UpdateNoExist && a.ids[idx].Load() != 0 {
		return EEXIST
	}
	if flags == UpdateExist && a.ids[idx].Load() == 0 {
		return ENOENT
	}
	a.handles[idx].Store(handle)
	a.ids[idx].Store(id)
	return nil
}

func (a *idArray) Close() error { return nil }

func newIDArray(spec *Spec) (*idArray, error) {
	if spec.KeySize != 4 || spec.ValueSize != 4 {
		return nil, fmtErr("%s takes 4-byte keys and 4-byte values (ids), not %d and %d", spec.Type, spec.KeySize, spec.ValueSize)
	}
	if spec.MaxEntries > 1<<24 {
		return nil, fmtErr("at most %d entries", 1<<24)
	}
	return &idArray{spec: *spec, ids: make([]atomic.Uint32, spec.MaxEntries), handles: make([]atomic.Uint64, spec.MaxEntries)}, nil
}

// ProgArrayMap is a ProgArray: the program table of bpf_tail_call. It
// stores program ids; the runtime resolves them.
type ProgArrayMap struct{ idArray }

func newProgArray(spec *Spec, _ *Env) (Map, error) {
	a, err := newIDArray(spec)
	if err != nil {
		return nil, err
	}
	return &ProgArrayMap{*a}, nil
}

// Program returns the id of the program at index, or false when the index
// is out of range or empty.
func (p *ProgArrayMap) Program(index uint32) (uint32, bool) {
	if index >= p.spec.MaxEntries {
		return 0, false
	}
	id := p.ids[index].Load()
	return id, id != 0
}

// Lookup is not available to programs for prog arrays (Linux rejects it in
// the verifier); it finds nothing.
func (p *ProgArrayMap) Lookup([]byte, int) uint64 { return 0 }

// Update from programs is not allowed for prog arrays.
func (p *ProgArrayMap) Update([]byte, []byte, uint64, int) error { return EPERM }

// UpdateUser stores a program id; the runtime checks that it names a
// program of a compatible type before calling it.
func (p *ProgArrayMap) UpdateUser(key, value []byte, flags uint64) error {
	id := binary.LittleEndian.Uint32(value)
	if id == 0 {
		return EINVAL
	}
	return p.set(key, flags, id, uint64(id))
}

// arrayOfMaps is an ArrayOfMaps: each index holds an inner map.
type arrayOfMaps struct {
	idArray
	env *Env
}

func newArrayOfMaps(spec *Spec, env *Env) (Map, error) {
	if spec.InnerMap == nil {
		return nil, fmtErr("array_of_maps needs an inner map template")
	}
	a, err := newIDArray(spec)
	if err != nil {
		return nil, err
	}
	return &arrayOfMaps{idArray: *a, env: env}, nil
}

// Lookup returns the handle of the inner map at the index, which programs
// pass on to other map helpers.
func (a *arrayOfMaps) Lookup(key []byte, _ int) uint64 {
	idx, ok := a.slot(key)
	if !ok {
		return 0
	}
	return a.handles[idx].Load()
}

// Update from programs is not allowed for map-in-map types.
func (a *arrayOfMaps) Update([]byte, []byte, uint64, int) error { return EPERM }

func (a *arrayOfMaps) UpdateUser(key, value []byte, flags uint64) error {
	h, err := resolveInner(a.env, &a.spec, value)
	if err != nil {
		return err
	}
	return a.set(key, flags, binary.LittleEndian.Uint32(value), h)
}

// resolveInner checks that value names a map matching spec's inner map
// template and returns the handle programs use for it.
func resolveInner(env *Env, spec *Spec, value []byte) (uint64, error) {
	id := binary.LittleEndian.Uint32(value)
	if env.Maps == nil {
		return 0, EINVAL
	}
	m, h, ok := env.Maps.Map(id)
	if !ok {
		return 0, fmtErr("no map with id %d: %w", id, EINVAL)
	}
	if !m.Spec().Compatible(spec.InnerMap) {
		return 0, fmtErr("inner map %s does not match the template %s: %w", m.Spec(), spec.InnerMap, EINVAL)
	}
	return h, nil
}
