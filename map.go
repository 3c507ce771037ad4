package ebpfhost

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/maps"
)

// Errors map operations return; test for them with errors.Is.
var (
	ErrKeyNotExist = maps.ENOENT // the key is not in the map
	ErrKeyExist    = maps.EEXIST // UpdateNoExist found the key
	ErrMapFull     = maps.E2BIG  // no room for a new key, or index out of range
	ErrNotSupp     = maps.ENOTSUP
)

// MapUpdateFlags say what Update does about an existing or missing key.
type MapUpdateFlags uint64

// Update flags, as in Linux.
const (
	UpdateAny     MapUpdateFlags = maps.UpdateAny     // create or replace
	UpdateNoExist MapUpdateFlags = maps.UpdateNoExist // create only
	UpdateExist   MapUpdateFlags = maps.UpdateExist   // replace only
)

// Map is a loaded map.
//
// Keys and values are given as Go values of the map's key and value size:
// byte slices, fixed-size types (integers, arrays, structs of them) and
// pointers to them, or types implementing encoding.BinaryMarshaler and
// BinaryUnmarshaler. They are encoded in the host's byte order, as the
// program sees them. Per-CPU maps take and return a slice with one value
// per virtual CPU.
type Map struct {
	m    *core.Map
	cpus int
}

// Name returns the map's name.
func (m *Map) Name() string { return m.m.Spec().Name }

// Type returns the map's type (Linux numbering, e.g. 1 for hash).
func (m *Map) Type() uint32 { return uint32(m.m.Spec().Type) }

// TypeName returns the map's type as Linux names it ("hash", "ringbuf").
func (m *Map) TypeName() string { return m.m.Spec().Type.String() }

// KeySize, ValueSize and MaxEntries return the map's geometry.
func (m *Map) KeySize() uint32    { return m.m.Spec().KeySize }
func (m *Map) ValueSize() uint32  { return m.m.Spec().ValueSize }
func (m *Map) MaxEntries() uint32 { return m.m.Spec().MaxEntries }

// ID returns the map's id, which map-in-map types store.
func (m *Map) ID() uint32 { return m.m.ID() }

// Lookup copies the value stored under key into valueOut (a pointer, a
// byte slice of the value size, or for per-CPU maps a pointer to a slice).
func (m *Map) Lookup(key, valueOut any) error {
	k, err := m.marshalKey(key)
	if err != nil {
		return err
	}
	buf := make([]byte, m.m.UserValueSize())
	if err := m.m.Lookup(k, buf); err != nil {
		return fmt.Errorf("lookup in %q: %w", m.Name(), err)
	}
	return m.unmarshalValue(buf, valueOut)
}

// LookupAndDelete removes the next value of a queue or stack and copies
// it into valueOut (key must be nil); ErrKeyNotExist when it is empty. Other
// map types return ErrNotSupp.
func (m *Map) LookupAndDelete(key, valueOut any) error {
	q, ok := m.m.Impl().(maps.QueueLike)
	if !ok || key != nil {
		return fmt.Errorf("lookup and delete in %q (%s): %w", m.Name(), m.TypeName(), ErrNotSupp)
	}
	buf := make([]byte, m.ValueSize())
	if err := q.Pop(buf); err != nil {
		return fmt.Errorf("lookup and delete in %q: %w", m.Name(), err)
	}
	return unmarshal(buf, valueOut)
}

// Put stores value under key, creating or replacing it.
func (m *Map) Put(key, value any) error { return m.Update(key, value, UpdateAny) }

// Update stores value under key with the given flags.
func (m *Map) Update(key, value any, flags MapUpdateFlags) error {
	k, err := m.marshalKey(key)
	if err != nil {
		return err
	}
	v, err := m.marshalValue(value)
	if err != nil {
		return err
	}
	if err := m.m.Update(k, v, uint64(flags)); err != nil {
		return fmt.Errorf("update of %q: %w", m.Name(), err)
	}
	return nil
}

// Delete removes key.
func (m *Map) Delete(key any) error {
	k, err := m.marshalKey(key)
	if err != nil {
		return err
	}
	if err := m.m.Delete(k); err != nil {
		return fmt.Errorf("delete from %q: %w", m.Name(), err)
	}
	return nil
}

// NextKey stores the key after key in nextKeyOut; a nil key asks for the
// first key. It returns ErrKeyNotExist after the last key.
func (m *Map) NextKey(key, nextKeyOut any) error {
	var k []byte
	if key != nil {
		var err error
		if k, err = m.marshalKey(key); err != nil {
			return err
		}
	}
	next := make([]byte, m.KeySize())
	if err := m.m.NextKey(k, next); err != nil {
		return err
	}
	return unmarshal(next, nextKeyOut)
}

// Iterate returns an iterator over the map's keys and values.
func (m *Map) Iterate() *MapIterator { return &MapIterator{m: m} }

// MapIterator walks a map with NextKey. Keys removed meanwhile may be
// skipped, keys added may or may not appear, as with Linux.
type MapIterator struct {
	m    *Map
	key  []byte
	done bool
	err  error
}

// Next stores the next key and value into keyOut and valueOut and reports
// whether there was one.
func (it *MapIterator) Next(keyOut, valueOut any) bool {
	for !it.done {
		next := make([]byte, it.m.KeySize())
		if err := it.m.m.NextKey(it.key, next); err != nil {
			it.done = true
			if !errors.Is(err, maps.ENOENT) {
				it.err = err
			}
			return false
		}
		it.key = next
		buf := make([]byte, it.m.m.UserValueSize())
		if err := it.m.m.Lookup(next, buf); err != nil {
			if errors.Is(err, maps.ENOENT) {
				continue // deleted since NextKey
			}
			it.done, it.err = true, err
			return false
		}
		if err := unmarshal(next, keyOut); err != nil {
			it.done, it.err = true, err
			return false
		}
		if err := it.m.unmarshalValue(buf, valueOut); err != nil {
			it.done, it.err = true, err
			return false
		}
		return true
	}
	return false
}

// Err returns the error that stopped the iteration, if any.
func (it *MapIterator) Err() error { return it.err }

// BatchLookup copies up to len(keys) entries following cursor into keys and
// values (slices of the key and value types), and returns how many it
// copied. The cursor remembers where to continue; ErrKeyNotExist says the
// map has no more entries (n may still be positive).
func (m *Map) BatchLookup(cursor *MapBatchCursor, keys, values any) (int, error) {
	kv, vv := reflect.ValueOf(keys), reflect.ValueOf(values)
	if kv.Kind() != reflect.Slice || vv.Kind() != reflect.Slice || kv.Len() != vv.Len() {
		return 0, fmt.Errorf("batch lookup: keys and values must be slices of the same length")
	}
	n := 0
	for n < kv.Len() {
		next := make([]byte, m.KeySize())
		if err := m.m.NextKey(cursor.key, next); err != nil {
			return n, err
		}
		cursor.key = next
		buf := make([]byte, m.m.UserValueSize())
		if err := m.m.Lookup(next, buf); err != nil {
			if errors.Is(err, maps.ENOENT) {
				continue
			}
			return n, err
		}
		if err := unmarshal(next, kv.Index(n).Addr().Interface()); err != nil {
			return n, err
		}
		if err := m.unmarshalValue(buf, vv.Index(n).Addr().Interface()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// MapBatchCursor is the position of a BatchLookup; the zero value starts at
// the first key.
type MapBatchCursor struct{ key []byte }

func (m *Map) marshalKey(key any) ([]byte, error) {
	b, err := marshal(key, int(m.KeySize()))
	if err != nil {
		return nil, fmt.Errorf("map %q key: %w", m.Name(), err)
	}
	return b, nil
}

// PerCPU reports whether the map keeps one value per virtual CPU; its
// values are then slices with one element per CPU.
func (m *Map) PerCPU() bool { return m.m.Spec().Type.PerCPU() }

// marshalValue encodes a value; per-CPU maps take a slice of CPUs values.
func (m *Map) marshalValue(value any) ([]byte, error) {
	if m.isIDMap() {
		return marshalID(value)
	}
	if !m.PerCPU() {
		b, err := marshal(value, int(m.ValueSize()))
		if err != nil {
			return nil, fmt.Errorf("map %q value: %w", m.Name(), err)
		}
		return b, nil
	}
	v := reflect.ValueOf(value)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Slice || v.Len() != m.cpus {
		return nil, fmt.Errorf("map %q is per-CPU: give a slice of %d values, one per virtual CPU", m.Name(), m.cpus)
	}
	stride := maps.ValueStride(m.ValueSize())
	out := make([]byte, stride*m.cpus)
	for i := 0; i < m.cpus; i++ {
		b, err := marshal(v.Index(i).Interface(), int(m.ValueSize()))
		if err != nil {
			return nil, fmt.Errorf("map %q value for CPU %d: %w", m.Name(), i, err)
		}
		copy(out[i*stride:], b)
	}
	return out, nil
}

func (m *Map) unmarshalValue(buf []byte, out any) error {
	if !m.PerCPU() {
		return unmarshal(buf, out)
	}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("map %q is per-CPU: give a pointer to a slice", m.Name())
	}
	s := v.Elem()
	s.Set(reflect.MakeSlice(s.Type(), m.cpus, m.cpus))
	stride := maps.ValueStride(m.ValueSize())
	for i := 0; i < m.cpus; i++ {
		if err := unmarshal(buf[i*stride:i*stride+int(m.ValueSize())], s.Index(i).Addr().Interface()); err != nil {
			return err
		}
	}
	return nil
}

// isIDMap reports whether values are ids (map-in-map, prog_array).
func (m *Map) isIDMap() bool {
	switch m.m.Spec().Type {
	case maps.ArrayOfMaps, maps.HashOfMaps, maps.ProgArray:
		return true
	}
	return false
}

// marshalID accepts a *Map, a *Program or a raw uint32 id.
func marshalID(v any) ([]byte, error) {
	var id uint32
	switch x := v.(type) {
	case *Map:
		id = x.ID()
	case *Program:
		id = x.ID()
	case uint32:
		id = x
	default:
		return marshal(v, 4)
	}
	return binary.NativeEndian.AppendUint32(nil, id), nil
}

// marshal encodes v into exactly size bytes.
func marshal(v any, size int) ([]byte, error) {
	if v == nil && size == 0 {
		return nil, nil // the key of a queue, stack or ring buffer
	}
	switch x := v.(type) {
	case []byte:
		if len(x) != size {
			return nil, fmt.Errorf("%d bytes given, %d expected", len(x), size)
		}
		return x, nil
	case encoding.BinaryMarshaler:
		b, err := x.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if len(b) != size {
			return nil, fmt.Errorf("MarshalBinary gave %d bytes, %d expected", len(b), size)
		}
		return b, nil
	}
	if n := binary.Size(v); n != size {
		if n < 0 {
			return nil, fmt.Errorf("%T has no fixed size; use a byte slice or a fixed-size type", v)
		}
		return nil, fmt.Errorf("%T is %d bytes, %d expected", v, n, size)
	}
	return binary.Append(nil, binary.NativeEndian, v)
}

// unmarshal decodes b into out.
func unmarshal(b []byte, out any) error {
	switch x := out.(type) {
	case []byte:
		if len(x) != len(b) {
			return fmt.Errorf("%d-byte buffer given, %d expected", len(x), len(b))
		}
		copy(x, b)
		return nil
	case *[]byte:
		*x = append((*x)[:0], b...)
		return nil
	case encoding.BinaryUnmarshaler:
		return x.UnmarshalBinary(b)
	}
	if n := binary.Size(out); n != len(b) {
		if n < 0 {
			return fmt.Errorf("%T has no fixed size; use a pointer to a fixed-size type or a byte slice", out)
		}
		return fmt.Errorf("%T is %d bytes, %d expected", out, n, len(b))
	}
	_, err := binary.Decode(b, binary.NativeEndian, out)
	return err
}
