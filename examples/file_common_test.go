package examples_test

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	source "github.com/ebpfhost/ebpfhost/internal/source/file"
)

// fileHost is a runtime with the file extension and one example object
// loaded: the file examples attach to its hooks, and the tests feed it
// events with Handle, as an event source would.
type fileHost struct {
	rt *core.Runtime
	x  *fileext.Extension
	c  *core.Collection
}

// inFileModes runs f in fast and in checked mode, as inModes does.
func inFileModes(t *testing.T, f func(t *testing.T, checked bool)) {
	for _, mode := range []struct {
		name    string
		checked bool
	}{{"fast", false}, {"checked", true}} {
		t.Run(mode.name, func(t *testing.T) { f(t, mode.checked) })
	}
}

// loadFileExample loads name.o into a new runtime with cpus virtual CPUs
// (0: the default); the runtime goes away when the test ends.
func loadFileExample(t *testing.T, name string, checked bool, cpus int) *fileHost {
	t.Helper()
	rt, err := core.New(core.Options{Checked: checked, CPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	exts := builtin.New()
	if err := exts.Register(rt); err != nil {
		t.Fatal(err)
	}
	// In checked mode any program failure is a bug: make it fail the test.
	exts.File.OnError = func(l *core.Link, err error) { t.Errorf("a file program failed: %v", err) }
	spec, err := loader.LoadFile(name + ".o")
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.LoadCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &fileHost{rt: rt, x: exts.File, c: c}
}

// attach attaches a program of the object to its section's hook.
func (h *fileHost) attach(t *testing.T, prog string, opts *fileext.AttachOptions) *core.Link {
	t.Helper()
	p, ok := h.c.Programs[prog]
	if !ok {
		t.Fatalf("no program %q", prog)
	}
	var o any
	if opts != nil {
		o = opts
	}
	l, err := p.Attach("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (h *fileHost) mapOf(t *testing.T, name string) *core.Map {
	t.Helper()
	m, ok := h.c.Maps[name]
	if !ok {
		t.Fatalf("no map %q", name)
	}
	return m
}

// put stores value at a uint32 key.
func (h *fileHost) put(t *testing.T, mapName string, key uint32, value []byte) {
	t.Helper()
	m := h.mapOf(t, mapName)
	v := make([]byte, m.Spec().ValueSize)
	copy(v, value)
	if err := m.Update(binary.LittleEndian.AppendUint32(nil, key), v, maps.UpdateAny); err != nil {
		t.Fatal(err)
	}
}

// get reads the value at a uint32 key (every CPU's, for a per-CPU map).
func (h *fileHost) get(t *testing.T, mapName string, key uint32) []byte {
	t.Helper()
	m := h.mapOf(t, mapName)
	v := make([]byte, m.UserValueSize())
	if err := m.Lookup(binary.LittleEndian.AppendUint32(nil, key), v); err != nil {
		t.Fatalf("%s[%d]: %v", mapName, key, err)
	}
	return v
}

// u64 reads a uint64 value at a uint32 key; for a per-CPU map, the sum
// over the CPUs.
func (h *fileHost) u64(t *testing.T, mapName string, key uint32) uint64 {
	t.Helper()
	v := h.get(t, mapName, key)
	var s uint64
	for i := 0; i+8 <= len(v); i += 8 {
		s += binary.LittleEndian.Uint64(v[i:])
	}
	return s
}

// handle delivers an event and returns the verdict.
func (h *fileHost) handle(ev source.Event) source.Verdict {
	return h.x.Handle(&ev)
}

// ringReader opens the reader of a ring buffer map.
func (h *fileHost) ringReader(t *testing.T, name string) *maps.RingBufReader {
	t.Helper()
	rd, err := h.mapOf(t, name).Impl().(*maps.RingBufMap).NewReader()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// next reads the next record, failing the test when there is none.
func next(t *testing.T, rd *maps.RingBufReader) []byte {
	t.Helper()
	rd.SetDeadline(time.Now().Add(time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("ring buffer: %v, want a record", err)
	}
	return rec.RawSample
}

// noMore checks that the ring buffer has nothing left.
func noMore(t *testing.T, rd *maps.RingBufReader) {
	t.Helper()
	if err := rd.Poll(0); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ring buffer: another record or an error (%v), want nothing left", err)
	}
}

// Open flags, as in Linux's fcntl.h.
const (
	oRDONLY = 0
	oWRONLY = 1
	oRDWR   = 2
	oCREAT  = 0o100
	oTRUNC  = 0o1000
	oAPPEND = 0o2000
)
