package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/isa"
)

func TestClangObjects(t *testing.T) {
	srcs, err := filepath.Glob("testdata/*.c")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no C sources in testdata: %v", err)
	}
	for _, src := range srcs {
		obj := strings.TrimSuffix(src, ".c") + ".o"
		t.Run(filepath.Base(src), func(t *testing.T) { clangtest.CheckObject(t, src, obj) })
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustLoad(t *testing.T, obj string) *CollectionSpec {
	t.Helper()
	cs, err := LoadFile(filepath.Join("testdata", obj))
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", obj, err)
	}
	checkInvariants(t, cs)
	return cs
}

// checkInvariants checks what every successfully loaded spec promises,
// whatever the object: valid instructions whose map references are indices
// into MapRefs, MapRefs naming existing maps, Lines and Functions in range.
func checkInvariants(t testing.TB, cs *CollectionSpec) {
	t.Helper()
	if len(cs.Programs) == 0 {
		t.Fatal("spec without programs")
	}
	for name, m := range cs.Maps {
		if m.Name != name {
			t.Errorf("map %q has Name %q", name, m.Name)
		}
		for _, kv := range m.Contents {
			if len(kv.Key) != int(m.KeySize) || (kv.Ref == "" && len(kv.Value) != int(m.ValueSize)) {
				t.Errorf("map %s: entry %x=%x does not fit key size %d, value size %d", name, kv.Key, kv.Value, m.KeySize, m.ValueSize)
			}
		}
	}
	for name, p := range cs.Programs {
		if p.Name != name {
			t.Errorf("program %q has Name %q", name, p.Name)
		}
		if err := isa.Validate(p.Instructions); err != nil {
			t.Errorf("program %s: %v", name, err)
		}
		for _, ref := range p.MapRefs {
			if cs.Maps[ref] == nil {
				t.Errorf("program %s refers to map %q, which is not in Maps", name, ref)
			}
		}
		for i, ins := range p.Instructions {
			if i > 0 && p.Instructions[i-1].IsLDDW() {
				continue
			}
			if !ins.IsLDDW() {
				continue
			}
			switch ins.Src {
			case isa.PseudoImm64, isa.PseudoFunc:
			case isa.PseudoMapIdx, isa.PseudoMapIdxVal:
				if idx := int(uint32(ins.Imm)); idx >= len(p.MapRefs) {
					t.Errorf("program %s: instruction %d refers to map index %d of %d", name, i, idx, len(p.MapRefs))
				}
			default:
				t.Errorf("program %s: instruction %d: lddw source %d left for the runtime", name, i, ins.Src)
			}
		}
		if p.Lines != nil && len(p.Lines) != len(p.Instructions) {
			t.Errorf("program %s: %d lines for %d instructions", name, len(p.Lines), len(p.Instructions))
		}
		if p.Functions[0] != name {
			t.Errorf("program %s: Functions[0] = %q", name, p.Functions[0])
		}
		for slot := range p.Functions {
			if slot < 0 || slot >= len(p.Instructions) {
				t.Errorf("program %s: function at slot %d of %d", name, slot, len(p.Instructions))
			}
		}
	}
}

// mapRef is an expected map reference: the lddw at Slot loads map Map, at
// Offset into its value when Value is set.
type mapRef struct {
	Slot   int
	Map    string
	Value  bool
	Offset uint32
}

type wantProgram struct {
	Section   string
	License   string
	MapRefs   []string
	Loads     []mapRef
	Functions map[int]string
	Source    string // the C file whose lines Lines must quote
}

func checkProgram(t *testing.T, cs *CollectionSpec, name string, want wantProgram) {
	t.Helper()
	p := cs.Programs[name]
	if p == nil {
		t.Fatalf("no program %s; have %v", name, sortedKeys(cs.Programs))
	}
	if p.Section != want.Section || p.License != want.License {
		t.Errorf("program %s: section %q license %q, want %q %q", name, p.Section, p.License, want.Section, want.License)
	}
	if !reflect.DeepEqual(p.MapRefs, want.MapRefs) {
		t.Errorf("program %s: MapRefs = %q, want %q", name, p.MapRefs, want.MapRefs)
	}
	var loads []mapRef
	for i, ins := range p.Instructions {
		if !ins.IsLDDW() || (i > 0 && p.Instructions[i-1].IsLDDW()) {
			continue
		}
		switch ins.Src {
		case isa.PseudoMapIdx:
			if uint64(ins.Imm)>>32 != 0 {
				t.Errorf("program %s: instruction %d: map_idx with high half %#x", name, i, ins.Imm)
			}
			loads = append(loads, mapRef{Slot: i, Map: p.MapRefs[uint32(ins.Imm)]})
		case isa.PseudoMapIdxVal:
			loads = append(loads, mapRef{Slot: i, Map: p.MapRefs[uint32(ins.Imm)], Value: true, Offset: uint32(uint64(ins.Imm) >> 32)})
		}
	}
	if !reflect.DeepEqual(loads, want.Loads) {
		t.Errorf("program %s: map loads\n got %+v\nwant %+v", name, loads, want.Loads)
	}
	if !reflect.DeepEqual(p.Functions, want.Functions) {
		t.Errorf("program %s: Functions = %v, want %v", name, p.Functions, want.Functions)
	}
	// Every local call lands on a named function.
	for i, ins := range p.Instructions {
		if ins.IsLocalCall() {
			target, _ := ins.Branch(i)
			if p.Functions[target] == "" {
				t.Errorf("program %s: call at %d to slot %d, which starts no function", name, i, target)
			}
		}
	}
	checkLines(t, p, want.Source)
}

// checkLines checks that the program has line info and that every entry
// quotes its line of the C source.
func checkLines(t *testing.T, p *ProgramSpec, src string) {
	t.Helper()
	if p.Lines == nil {
		t.Fatalf("program %s: no line info", p.Name)
	}
	text := strings.Split(string(readFile(t, filepath.Join("testdata", src))), "\n")
	n := 0
	for i, l := range p.Lines {
		if l == (Line{}) {
			continue
		}
		n++
		if l.File != "./"+src {
			t.Errorf("program %s: slot %d: file %q, want %q", p.Name, i, l.File, "./"+src)
		}
		if l.Line < 1 || int(l.Line) > len(text) || l.Text != text[l.Line-1] {
			t.Errorf("program %s: slot %d: line %d %q does not match the source", p.Name, i, l.Line, l.Text)
		}
	}
	if n == 0 {
		t.Errorf("program %s: all %d lines empty", p.Name, len(p.Lines))
	}
	// The first slot of a program always has a line.
	if l, ok := p.SourceLine(0); !ok || l.Line == 0 {
		t.Errorf("program %s: SourceLine(0) = %v, %v", p.Name, l, ok)
	}
}

func TestBTFMaps(t *testing.T) {
	cs := mustLoad(t, "maps.o")
	if cs.File != "testdata/maps.o" {
		t.Errorf("File = %q", cs.File)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	inner := &maps.Spec{Name: "outer_inner", Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4}
	want := map[string]*MapSpec{
		"counts":   {Spec: maps.Spec{Type: maps.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024}, Pinning: PinByName},
		"stats":    {Spec: maps.Spec{Type: maps.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 8}},
		"recent":   {Spec: maps.Spec{Type: maps.LRUHash, KeySize: 8, ValueSize: 4, MaxEntries: 128}},
		"prefixes": {Spec: maps.Spec{Type: maps.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 64, Flags: maps.FlagNoPrealloc}},
		"events":   {Spec: maps.Spec{Type: maps.RingBuf, MaxEntries: 4096}},
		"pending":  {Spec: maps.Spec{Type: maps.Queue, ValueSize: 4, MaxEntries: 16}},
		"inner_a":  {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4}},
		"inner_b":  {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4}},
		"outer": {
			Spec:     maps.Spec{Type: maps.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 3, InnerMap: inner},
			Contents: []KV{{Key: u32(0), Ref: "inner_a"}, {Key: u32(2), Ref: "inner_b"}},
		},
		"jumps": {
			Spec:     maps.Spec{Type: maps.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2},
			Contents: []KV{{Key: u32(1), Ref: "tail"}},
		},
	}
	for name, w := range want {
		w.Name, w.Section = name, ".maps"
	}
	if !reflect.DeepEqual(cs.Maps, want) {
		for _, name := range sortedKeys(want) {
			if !reflect.DeepEqual(cs.Maps[name], want[name]) {
				t.Errorf("map %s:\n got %+v\nwant %+v", name, cs.Maps[name], want[name])
			}
		}
		t.Errorf("maps %v, want %v", sortedKeys(cs.Maps), sortedKeys(want))
	}

	refs := []string{"outer", "counts", "stats", "recent", "prefixes", "pending", "events", "jumps"}
	var loads []mapRef
	for i, slot := range []int{7, 22, 29, 40, 51, 55, 60, 67} {
		loads = append(loads, mapRef{Slot: slot, Map: refs[i]})
	}
	checkProgram(t, cs, "classify", wantProgram{
		Section: "xdp", License: "GPL", MapRefs: refs, Loads: loads,
		Functions: map[int]string{0: "classify"}, Source: "maps.c",
	})
	checkProgram(t, cs, "tail", wantProgram{
		Section: "xdp", License: "GPL", Functions: map[int]string{0: "tail"}, Source: "maps.c",
	})
	// The tail call's map load has no line of its own; SourceLine finds it.
	p := cs.Programs["classify"]
	if p.Lines[67] != (Line{}) {
		t.Errorf("slot 67 has line %v; the test expects it to rely on SourceLine", p.Lines[67])
	}
	if l, ok := p.SourceLine(67); !ok || !strings.Contains(l.Text, "bpf_tail_call(ctx, &jumps, 1)") {
		t.Errorf("SourceLine(67) = %v, %v", l, ok)
	}
	if l, ok := p.SourceLine(len(p.Instructions)); ok {
		t.Errorf("SourceLine past the end = %v", l)
	}
}

func TestLegacyMaps(t *testing.T) {
	cs := mustLoad(t, "legacy.o")
	want := map[string]*MapSpec{
		"packets": {Spec: maps.Spec{Name: "packets", Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}, Section: "maps"},
		"flows":   {Spec: maps.Spec{Name: "flows", Type: maps.PerCPUHash, KeySize: 8, ValueSize: 4, MaxEntries: 256, Flags: maps.FlagNoPrealloc}, Section: "maps"},
	}
	if !reflect.DeepEqual(cs.Maps, want) {
		t.Errorf("maps:\n got %+v %+v\nwant %+v %+v", cs.Maps["packets"], cs.Maps["flows"], want["packets"], want["flows"])
	}
	checkProgram(t, cs, "count", wantProgram{
		Section: "socket", License: "Dual BSD/GPL", MapRefs: []string{"packets", "flows"},
		Loads:     []mapRef{{Slot: 5, Map: "packets"}, {Slot: 17, Map: "flows"}},
		Functions: map[int]string{0: "count"}, Source: "legacy.c",
	})
}

func TestGlobals(t *testing.T) {
	cs := mustLoad(t, "globals.o")
	u64s := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	zero4 := []byte{0, 0, 0, 0}
	// seen, limits[4], and what clang kept of hidden (hidden[2]).
	data := append(u64s(1, 10, 20, 30, 40), 9, 0, 0, 0)
	// mode (padded), weights[3].
	rodata := u64s(3, 100, 200, 300)
	want := map[string]*MapSpec{
		".data": {
			Spec:     maps.Spec{Name: ".data", Type: maps.Array, KeySize: 4, ValueSize: 44, MaxEntries: 1},
			Contents: []KV{{Key: zero4, Value: data}}, Section: ".data",
		},
		".rodata": {
			Spec:     maps.Spec{Name: ".rodata", Type: maps.Array, KeySize: 4, ValueSize: 32, MaxEntries: 1, Flags: maps.FlagRdonlyProg},
			Contents: []KV{{Key: zero4, Value: rodata}}, Section: ".rodata", Frozen: true,
		},
		".bss": {
			Spec:     maps.Spec{Name: ".bss", Type: maps.Array, KeySize: 4, ValueSize: 72, MaxEntries: 1},
			Contents: []KV{{Key: zero4, Value: make([]byte, 72)}}, Section: ".bss",
		},
		// String literals: constant too, so frozen like .rodata.
		".rodata.str1.1": {
			Spec:     maps.Spec{Name: ".rodata.str1.1", Type: maps.Array, KeySize: 4, ValueSize: 11, MaxEntries: 1, Flags: maps.FlagRdonlyProg},
			Contents: []KV{{Key: zero4, Value: []byte("seen %llu\n\x00")}}, Section: ".rodata.str1.1", Frozen: true,
		},
	}
	for _, name := range sortedKeys(want) {
		if !reflect.DeepEqual(cs.Maps[name], want[name]) {
			t.Errorf("map %s:\n got %+v\nwant %+v", name, cs.Maps[name], want[name])
		}
	}
	if len(cs.Maps) != len(want) {
		t.Errorf("maps %v, want %v", sortedKeys(cs.Maps), sortedKeys(want))
	}

	refs := []string{".data", ".rodata", ".bss"}
	checkProgram(t, cs, "on_process", wantProgram{
		Section: "process", License: "Dual MIT/GPL", MapRefs: refs,
		Loads: []mapRef{
			{0, ".data", true, 0},    // seen
			{5, ".rodata", true, 0},  // mode
			{8, ".data", true, 8},    // limits
			{20, ".bss", true, 0},    // totals, in account
			{28, ".bss", true, 64},   // scratch, through the section
			{35, ".rodata", true, 8}, // weights, in scale
		},
		Functions: map[int]string{0: "on_process", 18: "account", 35: "scale"},
		Source:    "globals.c",
	})
	checkProgram(t, cs, "on_file", wantProgram{
		Section: "file/pre", License: "Dual MIT/GPL", MapRefs: refs,
		Loads: []mapRef{
			{0, ".data", true, 40}, // hidden[2], through the section
			{5, ".rodata", true, 8},
			{13, ".bss", true, 0},
			{21, ".bss", true, 64},
			{28, ".rodata", true, 8},
		},
		Functions: map[int]string{0: "on_file", 11: "account", 28: "scale"},
		Source:    "globals.c",
	})
	checkProgram(t, cs, "on_exit", wantProgram{
		Section: "process/exit", License: "Dual MIT/GPL", MapRefs: []string{".data", ".rodata.str1.1"},
		Loads:     []mapRef{{0, ".data", true, 0}, {3, ".rodata.str1.1", true, 0}},
		Functions: map[int]string{0: "on_exit"},
		Source:    "globals.c",
	})
	// The callee's lines are those of its own source lines.
	p := cs.Programs["on_file"]
	if l, ok := p.SourceLine(28); !ok || !strings.Contains(l.Text, "return x * weights[2]") {
		t.Errorf("SourceLine(28) = %v, %v", l, ok)
	}
}

// TestObjectErrors loads the objects that must fail and checks that the
// message names the file and what is wrong where.
func TestObjectErrors(t *testing.T) {
	tests := []struct {
		obj  string
		want []string
	}{
		{"extern.o", []string{"testdata/extern.o: ", "program calls_extern", "section tc", "instruction 1", `unresolved symbol "undefined_helper"`, "declared but not defined",
			"(at ./extern.c:12: return undefined_helper(3) + 1;)"}},
		{"externmap.o", []string{"testdata/externmap.o: ", "program uses_missing", "section xdp", "instruction 4", `unresolved symbol "missing_map"`, "extern",
			"(at ./externmap.c:24: return bpf_map_lookup_elem(&missing_map, &key) != 0;)"}},
		{"perfmap.o", []string{"testdata/perfmap.o: ", "map perf_events (section .maps)", "type 4 (BPF_MAP_TYPE_PERF_EVENT_ARRAY)", "not supported", "hash (1), array (2)", "ringbuf (27)"}},
		{"noprog.o", []string{"testdata/noprog.o: ", "no programs", `SEC("name")`}},
		{"ldabs.o", []string{"testdata/ldabs.o: ", "program first_byte", "section socket", "invalid instruction 1", "legacy packet access", "at ./ldabs.c:13: int proto = load_byte(skb, 23);"}},
	}
	for _, tt := range tests {
		t.Run(tt.obj, func(t *testing.T) {
			cs, err := LoadFile(filepath.Join("testdata", tt.obj))
			if err == nil {
				t.Fatalf("loaded %d programs, want an error", len(cs.Programs))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
	_, err := LoadFile("testdata/ldabs.o")
	var ie *isa.Error
	if !errors.As(err, &ie) || ie.Index != 1 {
		t.Errorf("ldabs.o: error %v does not wrap the *isa.Error of instruction 1", err)
	}
}

// sectionHeader returns the file offset of the header of the named section.
func sectionHeader(t *testing.T, obj []byte, name string) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	shoff := binary.LittleEndian.Uint64(obj[0x28:])
	for i, s := range f.Sections {
		if s.Name == name {
			return int(shoff) + i*64
		}
	}
	t.Fatalf("no section %s", name)
	return 0
}

// Offsets in an ELF64 section header.
const (
	shFlags = 8
	shSize  = 32
)

func TestInputErrors(t *testing.T) {
	good := readFile(t, "testdata/maps.o")
	globals := readFile(t, "testdata/globals.o")
	patch := func(b []byte, f func(b []byte)) []byte {
		b = bytes.Clone(b)
		f(b)
		return b
	}
	tests := []struct {
		name  string
		input []byte
		want  []string
	}{
		{"empty", nil, []string{"empty file"}},
		{"magic only", []byte("\x7fEL"), []string{"truncated ELF file: only 3 bytes"}},
		{"header cut", good[:40], []string{"truncated ELF file: only 40 bytes"}},
		{"pe", append([]byte("MZ\x90\x00\x03"), make([]byte, 100)...), []string{"not an ELF file", `"MZ"`, "Windows PE"}},
		{"bitcode", []byte("BC\xc0\xde\x35\x14\x00\x00"), []string{"not an ELF file", "LLVM bitcode", "-emit-llvm"}},
		{"C source", []byte("// prog.c\n#include <linux/bpf.h>\nint x;\n"), []string{"not an ELF file", `text, starting with "// prog.c"`, "compiled"}},
		{"binary", []byte{1, 2, 3, 4, 5, 6, 7, 8, 0xff}, []string{"not an ELF file", "01 02 03 04 05 06 07 08 ff", "7f 45 4c 46"}},
		{"x86-64", patch(good, func(b []byte) { binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_X86_64)) }),
			[]string{"ELF object for x86-64", "EM_X86_64", "clang -target bpf"}},
		{"arm64", patch(good, func(b []byte) { binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_AARCH64)) }),
			[]string{"ELF object for arm64", "clang -target bpf"}},
		{"sparc", patch(good, func(b []byte) { binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_SPARCV9)) }),
			[]string{"another architecture", "EM_SPARCV9"}},
		{"32-bit", patch(good, func(b []byte) { b[elf.EI_CLASS] = byte(elf.ELFCLASS32) }), []string{"ELFCLASS32 ELF file", "64-bit"}},
		{"big-endian", patch(good, func(b []byte) {
			b[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
			binary.BigEndian.PutUint16(b[18:], uint16(elf.EM_BPF))
		}), []string{"big-endian", "bpfel"}},
		{"bad data encoding", patch(good, func(b []byte) { b[elf.EI_DATA] = 7 }), []string{"invalid data encoding 7"}},
		{"no section headers", good[:len(good)-100], []string{"malformed or truncated ELF file"}},
		{"section past the end", patch(good, func(b []byte) {
			binary.LittleEndian.PutUint64(b[sectionHeader(t, b, ".BTF")+shSize:], uint64(len(b)))
		}), []string{`truncated ELF file: section ".BTF"`, "extends past the end of the file"}},
		{"huge bss", patch(globals, func(b []byte) {
			binary.LittleEndian.PutUint64(b[sectionHeader(t, b, ".bss")+shSize:], 1<<40)
		}), []string{"section .bss is 1099511627776 bytes", "limited to"}},
		{"compressed BTF", patch(good, func(b []byte) {
			h := sectionHeader(t, b, ".BTF") + shFlags
			binary.LittleEndian.PutUint64(b[h:], binary.LittleEndian.Uint64(b[h:])|uint64(elf.SHF_COMPRESSED))
		}), []string{`section ".BTF" is compressed`}},
		{"no BTF for .maps", patch(good, func(b []byte) {
			// Rename .BTF so that it is not found.
			f, _ := elf.NewFile(bytes.NewReader(good))
			for _, s := range f.Sections {
				if s.Type == elf.SHT_STRTAB {
					data, _ := s.Data()
					if i := bytes.Index(data, []byte(".BTF\x00")); i >= 0 {
						b[int(s.Offset)+i+1] = 'X'
					}
				}
			}
		}), []string{"invalid eBPF object", "compile with -g"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Load(bytes.NewReader(tt.input), "in.o")
			if err == nil {
				t.Fatalf("loaded %d programs, want an error", len(cs.Programs))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "in.o: ") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := LoadFile("testdata/no-such.o"); err == nil || !strings.Contains(err.Error(), "no-such.o") {
		t.Errorf("LoadFile of a missing file: %v", err)
	}
	_, err := Load(failingReader{}, "broken.o")
	if err == nil || !strings.Contains(err.Error(), "broken.o: disk on fire") {
		t.Errorf("Load from a failing reader: %v", err)
	}
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

// TestTruncated cuts every object at many offsets: each must fail cleanly.
func TestTruncated(t *testing.T) {
	objs, _ := filepath.Glob("testdata/*.o")
	for _, obj := range objs {
		data := readFile(t, obj)
		step := 1
		if testing.Short() {
			step = 7
		}
		for n := 0; n < len(data); n += step {
			cs, err := Load(bytes.NewReader(data[:n]), "cut.o")
			if err == nil {
				t.Fatalf("%s cut to %d of %d bytes loaded %d programs", obj, n, len(data), len(cs.Programs))
			}
			if !strings.HasPrefix(err.Error(), "cut.o: ") {
				t.Fatalf("%s cut to %d bytes: error %q does not name the file", obj, n, err)
			}
		}
	}
}

// TestMangled flips bytes of the ELF header, the section headers and the
// sections cilium/ebpf parses. Some flips leave a loadable object; none may
// panic, and whatever loads must keep the spec's promises.
func TestMangled(t *testing.T) {
	objs, _ := filepath.Glob("testdata/*.o")
	for _, obj := range objs {
		data := readFile(t, obj)
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var offsets []int
		for i := 0; i < 64; i++ {
			offsets = append(offsets, i)
		}
		shoff := int(binary.LittleEndian.Uint64(data[0x28:]))
		for i := shoff; i < len(data); i += 3 {
			offsets = append(offsets, i)
		}
		for _, s := range f.Sections {
			switch {
			case s.Name == ".BTF" || s.Name == ".BTF.ext" || s.Name == ".symtab" || s.Name == ".maps" || s.Name == "maps" ||
				s.Flags&elf.SHF_EXECINSTR != 0 || strings.HasPrefix(s.Name, ".rel"):
				for i := int(s.Offset); i < int(s.Offset+s.Size); i += 5 {
					offsets = append(offsets, i)
				}
			}
		}
		for _, off := range offsets {
			for _, x := range []byte{0xff, 0x80, 0x01} {
				b := bytes.Clone(data)
				b[off] ^= x
				cs, err := Load(bytes.NewReader(b), "mangled.o")
				if err != nil {
					if !strings.HasPrefix(err.Error(), "mangled.o: ") {
						t.Fatalf("%s byte %d ^ %#x: error %q does not name the file", obj, off, x, err)
					}
					continue
				}
				checkInvariants(t, cs)
			}
		}
		// Header fields that no valid object can do without.
		for _, h := range []struct {
			off int
			val byte
		}{{0, 0}, {1, 'X'}, {elf.EI_CLASS, 0}, {elf.EI_DATA, 0}, {18, 0x3e}, {0x2f, 0x7f}, {0x3a, 1}, {0x3d, 0xff}} {
			b := bytes.Clone(data)
			b[h.off] = h.val
			if _, err := Load(bytes.NewReader(b), "mangled.o"); err == nil {
				t.Errorf("%s with byte %#x = %#x loaded", obj, h.off, h.val)
			}
		}
	}
}
