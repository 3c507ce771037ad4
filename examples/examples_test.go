package examples_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost"
	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// The examples, each a C source and the object built from it.
var examples = []string{"xdp_pass", "xdp_stats", "maps_tour", "helpers_tour", "process_monitor", "process_deny",
	"file_access", "file_iolatency", "file_redirect", "file_deny_write"}

// TestObjectsUpToDate rebuilds each committed object from its source with
// the command in doc.go and fails if it differs.
func TestObjectsUpToDate(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			clangtest.CheckObject(t, name+".c", name+".o", "-I", "../include")
		})
	}
}

// XDP verdicts.
const (
	xdpDrop = 1
	xdpPass = 2
	xdpTX   = 3
)

// Errnos as helpers return them.
const (
	eNOENT = -2
	e2BIG  = -7
	eEXIST = -17
	eINVAL = -22
	eRANGE = -34
)

// inModes runs f once in fast mode and once in checked mode, where any
// access of a program or helper outside the memory it was given stops the
// program and fails the run.
func inModes(t *testing.T, opts ebpfhost.Options, f func(t *testing.T, opts ebpfhost.Options)) {
	for _, mode := range []struct {
		name    string
		checked bool
	}{{"fast", false}, {"checked", true}} {
		t.Run(mode.name, func(t *testing.T) {
			o := opts
			o.Checked = mode.checked
			f(t, o)
		})
	}
}

// load loads an example object into a new runtime; both go away when the
// test ends.
func load(t *testing.T, opts ebpfhost.Options, name string) (*ebpfhost.Runtime, *ebpfhost.Collection) {
	t.Helper()
	rt, err := ebpfhost.New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	coll, err := rt.LoadFile(name + ".o")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	return rt, coll
}

// program returns a program of the collection by name.
func program(t *testing.T, coll *ebpfhost.Collection, name string) *ebpfhost.Program {
	t.Helper()
	p, ok := coll.Programs[name]
	if !ok {
		t.Fatalf("no program %q", name)
	}
	return p
}

// mapOf returns a map of the collection by name.
func mapOf(t *testing.T, coll *ebpfhost.Collection, name string) *ebpfhost.Map {
	t.Helper()
	m, ok := coll.Maps[name]
	if !ok {
		t.Fatalf("no map %q", name)
	}
	return m
}

// run test-runs a program on data and checks its verdict.
func run(t *testing.T, p *ebpfhost.Program, data []byte, verdict uint64) *ebpfhost.TestRunResult {
	t.Helper()
	res, err := p.TestRun(&ebpfhost.TestRunOptions{Data: data})
	if err != nil {
		t.Fatalf("%s: %v", p.Name(), err)
	}
	if res.ReturnValue != verdict {
		t.Fatalf("%s returned %d, want %d", p.Name(), res.ReturnValue, verdict)
	}
	return res
}

// results reads the whole results array of maps_tour or helpers_tour.
func results(t *testing.T, coll *ebpfhost.Collection) []int64 {
	t.Helper()
	m := mapOf(t, coll, "results")
	out := make([]int64, m.MaxEntries())
	for i := range out {
		if err := m.Lookup(uint32(i), &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkResults compares the results array with want, padded with zeros:
// checks a program did not make must be zero.
func checkResults(t *testing.T, coll *ebpfhost.Collection, want ...int64) []int64 {
	t.Helper()
	got := results(t, coll)
	padded := make([]int64, len(got))
	copy(padded, want)
	if !slices.Equal(got, padded) {
		t.Errorf("results:\n got %v\nwant %v", trimZeros(got), want)
	}
	return got
}

func trimZeros(v []int64) []int64 {
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return v
}

// clearResults zeroes the results array between runs on one collection.
func clearResults(t *testing.T, coll *ebpfhost.Collection) {
	t.Helper()
	m := mapOf(t, coll, "results")
	for i := uint32(0); i < m.MaxEntries(); i++ {
		if err := m.Put(i, int64(0)); err != nil {
			t.Fatal(err)
		}
	}
}

// hashContents reads a map with uint32 keys and uint64 values.
func hashContents(t *testing.T, m *ebpfhost.Map) map[uint32]uint64 {
	t.Helper()
	out := map[uint32]uint64{}
	var k uint32
	var v uint64
	it := m.Iterate()
	for it.Next(&k, &v) {
		out[k] = v
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// perCPUContents reads a per-CPU map with uint32 keys and uint64 values.
func perCPUContents(t *testing.T, m *ebpfhost.Map) map[uint32][]uint64 {
	t.Helper()
	out := map[uint32][]uint64{}
	var k uint32
	var v []uint64
	it := m.Iterate()
	for it.Next(&k, &v) {
		out[k] = slices.Clone(v)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s
}

// onlyOn checks that a per-CPU value is want on cpu and zero elsewhere.
func onlyOn(t *testing.T, what string, v []uint64, cpu int, want uint64) {
	t.Helper()
	for c, x := range v {
		if (c == cpu && x != want) || (c != cpu && x != 0) {
			t.Errorf("%s: per-CPU values %v, want %d on CPU %d only", what, v, want, cpu)
			return
		}
	}
}

// cString returns a NUL-terminated string from a buffer.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// isErr reports whether err is the map error want.
func isErr(err, want error) bool { return err != nil && errors.Is(err, want) }

// noMoreRecords checks that a ring buffer reader has nothing left.
func noMoreRecords(t *testing.T, rd *ebpfhost.RingBufReader) {
	t.Helper()
	if err := rd.Poll(0); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ring buffer: another record or an error (%v), want nothing left", err)
	}
}

// TestEveryHelperAndMapType checks the examples' claim: together they call
// every general helper the runtime offers and declare a map of every type it
// implements.
func TestEveryHelperAndMapType(t *testing.T) {
	called := map[int32]bool{}
	declared := map[maps.Type]bool{}
	for _, name := range examples {
		spec, err := loader.LoadFile(name + ".o")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range spec.Programs {
			for _, ins := range p.Instructions {
				if ins.IsHelperCall() {
					called[int32(ins.Imm)] = true
				}
			}
		}
		for _, m := range spec.Maps {
			declared[m.Type] = true
		}
	}
	for _, h := range progtype.GeneralHelpers() {
		if !called[h.ID] {
			t.Errorf("no example calls %s (helper %#x)", h.Name, h.ID)
		}
	}
	// The types the runtime implements are the ones it has names for.
	for typ := maps.Type(1); typ < 64; typ++ {
		if !strings.HasPrefix(typ.String(), "map type ") && !declared[typ] {
			t.Errorf("no example declares a %s map", typ)
		}
	}
}
