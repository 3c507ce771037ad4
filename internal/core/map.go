package core

import (
	"fmt"
	"sync"

	"github.com/ebpfhost/ebpfhost/internal/maps"
)

// Map is a map loaded into a runtime.
type Map struct {
	rt     *Runtime
	id     uint32
	handle uint64
	m      maps.Map
	spec   maps.Spec

	// Cached from the spec for the helpers' hot paths.
	keySize, valueSize uint64
	// progWritable is false for maps programs may only read (.rodata,
	// BPF_F_RDONLY_PROG).
	progWritable bool
	// array is the layout of array and per-CPU array maps (Stride 0 for
	// other types), which lets bpf_map_lookup_elem skip the interface call.
	array maps.ArrayLayout
	// lookupGrants says whether values returned by lookups are memory a
	// checked program may be granted (not for map-in-map, whose lookups
	// return map handles).
	lookupGrants bool

	// pinned maps are shared by name between the collections that pin
	// them and live until the runtime closes, as a map pinned in Linux's
	// bpffs outlives the programs that created it.
	pinned bool

	closeOnce sync.Once
	closeErr  error
}

// pinnedMap returns the map pinned under name, if any.
func (rt *Runtime) pinnedMap(name string) (*Map, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m, ok := rt.pins[name]
	return m, ok
}

// pin shares m under name with later collections.
func (rt *Runtime) pin(name string, m *Map) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.pins == nil {
		rt.pins = map[string]*Map{}
	}
	m.pinned = true
	rt.pins[name] = m
}

// NewMap creates a map in the runtime. Initial contents and freezing are
// the caller's business (LoadCollection does both).
func (rt *Runtime) NewMap(spec *maps.Spec) (*Map, error) {
	env := &maps.Env{CPUs: rt.CPUs(), Epoch: rt.epoch, Maps: resolver{rt}}
	m, err := maps.New(spec, env)
	if err != nil {
		return nil, err
	}
	cm := &Map{
		rt: rt, m: m, spec: *m.Spec(),
		keySize: uint64(spec.KeySize), valueSize: uint64(spec.ValueSize),
		progWritable: spec.Flags&maps.FlagRdonlyProg == 0,
		lookupGrants: spec.Type != maps.ArrayOfMaps && spec.Type != maps.HashOfMaps,
	}
	if a, ok := m.(maps.Arrayer); ok && spec.KeySize == 4 {
		cm.array = a.Layout()
	}
	rt.addMap(cm)
	return cm, nil
}

// ID returns the map's id, which user space stores in map-in-map and uses
// to find the map.
func (m *Map) ID() uint32 { return m.id }

// Spec returns the map's spec.
func (m *Map) Spec() *maps.Spec { return &m.spec }

// Impl returns the map's data structure.
func (m *Map) Impl() maps.Map { return m.m }

// Handle returns the value programs hold for this map.
func (m *Map) Handle() uint64 { return m.handle }

// UserValueSize is the size of value buffers for Lookup and Update: the
// value size, or every CPU's value padded to 8 bytes for per-CPU maps.
func (m *Map) UserValueSize() int { return maps.UserValueSize(&m.spec, m.rt.CPUs()) }

// Lookup copies the value stored under key into value.
func (m *Map) Lookup(key, value []byte) error {
	if err := m.checkSizes(key, value); err != nil {
		return err
	}
	return m.m.LookupUser(key, value)
}

// Update stores value under key (flags: maps.UpdateAny, UpdateNoExist,
// UpdateExist).
func (m *Map) Update(key, value []byte, flags uint64) error {
	if err := m.checkSizes(key, value); err != nil {
		return err
	}
	if m.spec.Type == maps.ProgArray {
		if err := m.checkProgram(value); err != nil {
			return err
		}
	}
	return m.m.UpdateUser(key, value, flags)
}

// Delete removes key.
func (m *Map) Delete(key []byte) error {
	if len(key) != int(m.keySize) {
		return fmt.Errorf("map %q: key is %d bytes, the map's keys are %d: %w", m.spec.Name, len(key), m.keySize, maps.EINVAL)
	}
	return m.m.DeleteUser(key)
}

// NextKey writes the key after key (the first for nil) into next.
func (m *Map) NextKey(key, next []byte) error {
	if (key != nil && len(key) != int(m.keySize)) || len(next) != int(m.keySize) {
		return fmt.Errorf("map %q: keys are %d bytes: %w", m.spec.Name, m.keySize, maps.EINVAL)
	}
	return m.m.NextKey(key, next)
}

func (m *Map) checkSizes(key, value []byte) error {
	if len(key) != int(m.keySize) {
		return fmt.Errorf("map %q: key is %d bytes, the map's keys are %d: %w", m.spec.Name, len(key), m.keySize, maps.EINVAL)
	}
	if want := m.UserValueSize(); len(value) != want {
		return fmt.Errorf("map %q: value buffer is %d bytes, want %d: %w", m.spec.Name, len(value), want, maps.EINVAL)
	}
	return nil
}

// checkProgram makes sure a prog_array value names a loaded program.
func (m *Map) checkProgram(value []byte) error {
	id := uint32(value[0]) | uint32(value[1])<<8 | uint32(value[2])<<16 | uint32(value[3])<<24
	if _, ok := m.rt.ProgramByID(id); !ok {
		return fmt.Errorf("map %q: no program with id %d: %w", m.spec.Name, id, maps.EINVAL)
	}
	return nil
}

// Close removes the map from the runtime and frees it once no running
// program can still be using it.
func (m *Map) Close() error {
	m.closeOnce.Do(func() {
		m.rt.removeMap(m)
		m.rt.epoch.Barrier()
		m.closeErr = m.m.Close()
	})
	return m.closeErr
}
