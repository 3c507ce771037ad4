package core_test

import (
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/isa"
)

func loadErr(t *testing.T, rt *core.Runtime, section, src string, lines []loader.Line, specs ...maps.Spec) error {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	cs := &loader.CollectionSpec{File: "x.o", Maps: map[string]*loader.MapSpec{}, Programs: map[string]*loader.ProgramSpec{}}
	var refs []string
	for i, s := range specs {
		name := string(rune('a' + i))
		cs.Maps[name] = &loader.MapSpec{Spec: s, Section: ".maps"}
		refs = append(refs, name)
	}
	cs.Programs["p"] = &loader.ProgramSpec{Name: "p", Section: section, Instructions: insns, MapRefs: refs, Lines: lines, Functions: map[int]string{0: "p"}}
	c, err := rt.LoadCollection(cs)
	if err == nil {
		c.Close()
	}
	return err
}

func TestLoadErrors(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 1})
	lines := []loader.Line{{File: "./x.c", Line: 7, Text: "\treturn frob(1);"}}
	for _, tc := range []struct {
		name, section, src string
		specs              []maps.Spec
		want               string
	}{
		{"unknown section", "kprobe/sys_open", "mov %r0, 0\nexit", nil,
			`x.o: section "kprobe/sys_open", program p: no program type handles section "kprobe/sys_open" (known section prefixes: xdp, xdp.frags)`},
		{"unknown helper", "xdp", "call 999\nexit", nil,
			`x.o: section "xdp", program p: the verifier rejected the program: program p: instruction 0 (call 999) at ./x.c:7: return frob(1);: helper 999 is not available to xdp programs`},
		{"map reference out of range", "xdp", "lddw %r1, map_idx:3\nmov %r0, 0\nexit", nil,
			`instruction 0 (lddw %r1, map_idx:3) at ./x.c:7: return frob(1);: map reference 3, but the program uses 0 maps`},
		{"value of a hash", "xdp", "lddw %r1, map_idx_value:0+0\nmov %r0, 0\nexit",
			[]maps.Spec{{Type: maps.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, "direct access to the value of map a needs a one-entry array, not hash"},
		{"bad map", "xdp", "mov %r0, 0\nexit",
			[]maps.Spec{{Type: maps.Array, KeySize: 2, ValueSize: 4, MaxEntries: 1}}, "array maps take 4-byte keys"},
	} {
		err := loadErr(t, rt, tc.section, tc.src, lines, tc.specs...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
}

// TestCheckedHelperArguments: in checked mode a helper given memory the
// program may not touch stops the program with a message naming the
// helper. The verifier refuses such programs, so they load unverified.
func TestCheckedHelperArguments(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 1, Checked: true})
	c := loadUnverified(t, rt, `
		lddw %r1, map_idx:0
		lddw %r2, 0x12345678
		call 1
		mov %r0, 2
		exit`, maps.Spec{Type: maps.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 4})
	_, err := c.Programs["prog"].TestRun(nil)
	if err == nil || !strings.Contains(err.Error(), "helper bpf_map_lookup_elem: 8 bytes at 0x12345678 are not readable memory of this program") {
		t.Fatalf("got %v", err)
	}
	// A program writing through a value pointer it got from a lookup is
	// fine; one byte past the value is not.
	c = loadUnverified(t, rt, `
		stdw [%r10-8], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -8
		call 1
		jeq %r0, 0, out
		stdw [%r0+0], 5
		stb [%r0+8], 1
	out:
		mov %r0, 2
		exit`, maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	_, err = c.Programs["prog"].TestRun(nil)
	if err == nil || !strings.Contains(err.Error(), "instruction 8 (stb [%r0+8], 1): write of 1 bytes") {
		t.Fatalf("got %v", err)
	}
}

func TestXDPTestRunContext(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 1})
	// Return the packet length, the second byte of the context's
	// ingress_ifindex field, and flip the first packet byte.
	c := load(t, rt, `
		ldxw %r2, [%r1+0]
		ldxw %r3, [%r1+4]
		mov %r0, %r3
		sub %r0, %r2
		ldxw %r4, [%r1+12]
		lsh %r4, 8
		or %r0, %r4
		mov %r5, %r2
		add %r5, 1
		jgt %r5, %r3, out
		ldxb %r6, [%r2+0]
		xor %r6, 0xff
		stxb [%r2+0], %r6
	out:
		exit`)
	p := c.Programs["prog"]
	ctx := make([]byte, 24)
	ctx[12] = 3
	res, err := p.TestRun(&core.TestRunOptions{Context: ctx, Data: []byte{1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if res.R0 != 3<<8|4 || string(res.Data) != "\xfe\x02\x03\x04" || res.Context[12] != 3 || res.Context[0] != 0 {
		t.Errorf("r0 %#x, data %x, ctx %x", res.R0, res.Data, res.Context)
	}
	bad := make([]byte, 24)
	bad[0] = 1
	if _, err := p.TestRun(&core.TestRunOptions{Context: bad}); err == nil || !strings.Contains(err.Error(), "data, data_end and data_meta must be 0") {
		t.Errorf("ctx with pointers: %v", err)
	}
	if _, err := p.TestRun(&core.TestRunOptions{Context: make([]byte, 25)}); err == nil || !strings.Contains(err.Error(), "struct xdp_md is 24") {
		t.Errorf("ctx too large: %v", err)
	}
}

// TestSnprintfWildString: a %s argument is a plain value the verifier
// cannot check; pointing it anywhere but runtime memory prints an empty
// string instead of crashing the process, in fast mode too. (The verifier
// now wants the format in .rodata; the test loads unverified because it is
// about the helper's own defences.)
func TestSnprintfWildString(t *testing.T) {
	for _, checked := range []bool{false, true} {
		rt := newRuntime(t, core.Options{CPUs: 1, Checked: checked})
		c := loadUnverified(t, rt, `
			stw [%r10-8], 0x21207325    # "%s !" little-endian
			stw [%r10-4], 0
			lddw %r1, 0x7654321000
			stxdw [%r10-16], %r1         # the wild pointer
			mov %r1, %r10
			add %r1, -48                 # output buffer
			mov %r2, 16
			mov %r3, %r10
			add %r3, -8                  # fmt
			mov %r4, %r10
			add %r4, -16                 # data
			mov %r5, 8
			call 165
			exit`)
		res, err := c.Programs["prog"].TestRun(nil)
		if err != nil || res.R0 != 3 { // " !" and the NUL
			t.Errorf("checked=%v: r0 %v, %v; want 3", checked, res, err)
		}
	}
}

// TestPinnedMapsAreShared: two collections pinning a map by name share it,
// and it outlives the first collection.
func TestPinnedMapsAreShared(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 1})
	spec := func(max uint32) *loader.CollectionSpec {
		insns, err := isa.Assemble("mov %r0, 2\nexit")
		if err != nil {
			t.Fatal(err)
		}
		return &loader.CollectionSpec{File: "pin.o",
			Maps: map[string]*loader.MapSpec{"shared": {
				Spec:    maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: max},
				Pinning: loader.PinByName,
			}},
			Programs: map[string]*loader.ProgramSpec{"p": {Name: "p", Section: "xdp", Instructions: insns}},
		}
	}
	a, err := rt.LoadCollection(spec(2))
	if err != nil {
		t.Fatal(err)
	}
	key, one := []byte{1, 0, 0, 0}, []byte{7, 0, 0, 0}
	if err := a.Maps["shared"].Update(key, one, maps.UpdateAny); err != nil {
		t.Fatal(err)
	}
	b, err := rt.LoadCollection(spec(2))
	if err != nil {
		t.Fatal(err)
	}
	if a.Maps["shared"] != b.Maps["shared"] {
		t.Fatal("the pinned map is not shared")
	}
	a.Close()
	out := make([]byte, 4)
	if err := b.Maps["shared"].Lookup(key, out); err != nil || out[0] != 7 {
		t.Fatalf("after the first collection closed: %x, %v", out, err)
	}
	if _, err := rt.LoadCollection(spec(3)); err == nil || !strings.Contains(err.Error(), `map "shared" is pinned by name, and the pinned map`) {
		t.Fatalf("incompatible pinned map: %v", err)
	}
	b.Close()
}
