package loader

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/ebpfhost/ebpfhost/isa"
)

// The tests here build cilium/ebpf specs by hand to reach the checks no
// clang-built object in testdata triggers.

func baseSpec() *ebpf.CollectionSpec {
	return &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			"m": {Name: "m", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		},
		Programs: map[string]*ebpf.ProgramSpec{
			"prog": {Name: "prog", SectionName: "xdp", License: "GPL", Instructions: asm.Instructions{
				asm.LoadMapPtr(asm.R1, 0).WithSymbol("prog").WithReference("m"),
				asm.LoadMapValue(asm.R2, 0, 24).WithReference("m"),
				asm.Mov.Imm(asm.R0, 0),
				asm.Return(),
			}},
		},
	}
}

func convertSpec(cs *ebpf.CollectionSpec) (*CollectionSpec, error) {
	l := &loader{name: "hand.o", mapSections: map[string]string{}}
	for name := range cs.Maps {
		l.mapSections[name] = ".maps"
	}
	return l.convert(cs)
}

func TestConvertRewritesMapLoads(t *testing.T) {
	cs, err := convertSpec(baseSpec())
	if err != nil {
		t.Fatal(err)
	}
	p := cs.Programs["prog"]
	if !reflect.DeepEqual(p.MapRefs, []string{"m"}) {
		t.Errorf("MapRefs = %q", p.MapRefs)
	}
	want := []isa.Instruction{
		{Opcode: isa.OpLDDW, Dst: isa.R1, Src: isa.PseudoMapIdx, Imm: 0},
		{},
		{Opcode: isa.OpLDDW, Dst: isa.R2, Src: isa.PseudoMapIdxVal, Imm: 24 << 32},
		{Imm: 24},
		{Opcode: isa.ClassALU64 | isa.ALUMov, Dst: isa.R0},
		{Opcode: isa.OpExit},
	}
	if !reflect.DeepEqual(p.Instructions, want) {
		t.Errorf("instructions\n got %v\nwant %v", p.Instructions, want)
	}
	if p.Lines != nil {
		t.Errorf("Lines = %v without line info", p.Lines)
	}
}

func TestConvertIntegerContents(t *testing.T) {
	spec := baseSpec()
	spec.Maps["m"].Contents = []ebpf.MapKV{{Key: uint32(7), Value: uint64(0x0102030405060708)}, {Key: []byte{1, 2, 3, 4}, Value: int64(-1)}}
	cs, err := convertSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{
		{Key: []byte{7, 0, 0, 0}, Value: []byte{8, 7, 6, 5, 4, 3, 2, 1}},
		{Key: []byte{1, 2, 3, 4}, Value: bytes.Repeat([]byte{0xff}, 8)},
	}
	if !reflect.DeepEqual(cs.Maps["m"].Contents, want) {
		t.Errorf("Contents = %v, want %v", cs.Maps["m"].Contents, want)
	}
}

func TestConvertErrors(t *testing.T) {
	prog := func(insns ...asm.Instruction) func(*ebpf.CollectionSpec) {
		return func(cs *ebpf.CollectionSpec) {
			insns[0] = insns[0].WithSymbol("prog")
			cs.Programs["prog"].Instructions = append(asm.Instructions(insns), asm.Return())
		}
	}
	kfunc := asm.Instruction{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call), Src: asm.PseudoKfuncCall, Constant: -1}
	inner := &ebpf.MapSpec{Name: "t", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 2}
	tests := []struct {
		name   string
		change func(*ebpf.CollectionSpec)
		want   []string
	}{
		{"no programs", func(cs *ebpf.CollectionSpec) { cs.Programs = nil }, []string{"no programs"}},
		{"missing map", prog(asm.LoadMapPtr(asm.R1, 0).WithReference("nope")),
			[]string{"program prog (section xdp)", "instruction 0", `unresolved reference to map "nope"`}},
		{"map by number", prog(asm.LoadMapPtr(asm.R1, 3)),
			[]string{"program prog (section xdp)", "instruction 0", "loads a map by number"}},
		{"map index in object", prog(asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R1, Src: asm.Register(isa.PseudoMapIdx)}),
			[]string{"program prog (section xdp)", "lddw with source 5 is not allowed"}},
		{"kfunc", prog(asm.Mov.Imm(asm.R1, 0), kfunc.WithReference("bpf_obj_new")),
			[]string{"program prog (section xdp)", "instruction 1", `unresolved symbol "bpf_obj_new"`, "kernel function"}},
		{"undefined callee", prog(asm.Call.Label("helper_fn")),
			[]string{"program prog (section xdp)", `unresolved symbol "helper_fn"`, "calls function helper_fn"}},
		{"undefined function pointer", prog(asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R1, Src: asm.PseudoFunc, Constant: -1}.WithReference("cb")),
			[]string{`unresolved symbol "cb"`, "takes the address of function cb"}},
		{"extern variable", prog(asm.LoadImm(asm.R1, 0, asm.DWord).WithReference("some_var")),
			[]string{`unresolved symbol "some_var"`, "declared extern"}},
		{"invalid instruction", prog(asm.Mov.Imm(asm.R10, 1)),
			[]string{"program prog (section xdp): invalid instruction 0", "frame pointer"}},
		{"unsupported type", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].Type = ebpf.SockMap },
			[]string{"map m (section .maps): type 15 (BPF_MAP_TYPE_SOCKMAP) is not supported"}},
		{"unknown type", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].Type = 1000 },
			[]string{"map m (section .maps): type 1000 (not a Linux map type)"}},
		{"pinning", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].Pinning = 2 }, []string{"map m (section .maps): pinning 2 is not supported"}},
		{"extra definition bytes", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].Extra = bytes.NewReader([]byte{0, 0, 0, 0, 1, 0, 0, 0}) },
			[]string{"map m (section .maps): the map definition has 8 bytes after map_flags"}},
		{"struct contents", func(cs *ebpf.CollectionSpec) {
			cs.Maps["m"].Contents = []ebpf.MapKV{{Key: uint32(1), Value: struct{ A int }{}}}
		},
			[]string{"map m (section .maps): initial entry 0: value", "struct { A int }", "cannot turn into bytes"}},
		{"key size", func(cs *ebpf.CollectionSpec) {
			cs.Maps["m"].Contents = []ebpf.MapKV{{Key: uint16(1), Value: uint64(1)}}
		},
			[]string{"initial entry 0: key is 2 bytes, the map's keys are 4"}},
		{"value size", func(cs *ebpf.CollectionSpec) {
			cs.Maps["m"].Contents = []ebpf.MapKV{{Key: uint32(1), Value: []byte{1}}}
		},
			[]string{"initial entry 0: value is 1 bytes, the map's values are 8"}},
		{"reference from a hash", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].Contents = []ebpf.MapKV{{Key: uint32(1), Value: "prog"}} },
			[]string{"map m (section .maps): initial value 01000000 refers to \"prog\"", "only map-in-map and prog_array"}},
		{"kconfig", func(cs *ebpf.CollectionSpec) {
			cs.Maps[".kconfig"] = &ebpf.MapSpec{Name: ".kconfig", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
		}, []string{"map .kconfig (section .kconfig)", "__kconfig"}},
		{"map-in-map without template", func(cs *ebpf.CollectionSpec) {
			cs.Maps["outer"] = &ebpf.MapSpec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2}
		}, []string{"map outer (section .maps): a array_of_maps needs an inner map template"}},
		{"template on a hash", func(cs *ebpf.CollectionSpec) { cs.Maps["m"].InnerMap = inner },
			[]string{"map m (section .maps): only array_of_maps and hash_of_maps have an inner map template"}},
		{"unsupported template", func(cs *ebpf.CollectionSpec) {
			cs.Maps["outer"] = &ebpf.MapSpec{Type: ebpf.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2,
				InnerMap: &ebpf.MapSpec{Type: ebpf.PerfEventArray, KeySize: 4, ValueSize: 4}}
		}, []string{"map outer (section .maps): inner map template: type 4 (BPF_MAP_TYPE_PERF_EVENT_ARRAY)"}},
		{"nested template", func(cs *ebpf.CollectionSpec) {
			cs.Maps["outer"] = &ebpf.MapSpec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2,
				InnerMap: &ebpf.MapSpec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: inner}}
		}, []string{"map outer (section .maps): inner map template: maps of maps cannot be nested"}},
		{"inner map missing", func(cs *ebpf.CollectionSpec) {
			cs.Maps["outer"] = &ebpf.MapSpec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: inner,
				Contents: []ebpf.MapKV{{Key: uint32(1), Value: "ghost"}}}
		}, []string{"map outer (section .maps): initial value 01000000 refers to map \"ghost\", which the object does not define"}},
		{"inner map mismatch", func(cs *ebpf.CollectionSpec) {
			cs.Maps["outer"] = &ebpf.MapSpec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: inner,
				Contents: []ebpf.MapKV{{Key: uint32(0), Value: "m"}}}
		}, []string{"map outer (section .maps): initial value 00000000 is map m, hash \"m\"", "does not match the inner map template array"}},
		{"prog array of a non-program", func(cs *ebpf.CollectionSpec) {
			cs.Maps["jumps"] = &ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 2,
				Contents: []ebpf.MapKV{{Key: uint32(1), Value: "helper"}}}
		}, []string{"map jumps (section .maps): initial value 01000000 refers to \"helper\", which is not a program"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			tt.change(spec)
			cs, err := convertSpec(spec)
			if err == nil {
				t.Fatalf("converted %d programs, want an error", len(cs.Programs))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "hand.o: ") {
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

func TestDescribe(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"!<arch>\nfoo", "an ar archive"},
		{"\x1f\x8b\x08", "gzip"},
		{"héllo wörld\n", `text, starting with "héllo wörld"`},
		{"abc\xe2\x82", "text"}, // a rune cut off by the end of the header
		{"abc\xff\xfe", "first bytes are 61 62 63 ff fe"},
		{"\x00\x01\x02", "first bytes are 00 01 02"},
	}
	for _, tt := range tests {
		if got := describe([]byte(tt.in)); !strings.Contains(got, tt.want) {
			t.Errorf("describe(%q) = %q, want it to contain %q", tt.in, got, tt.want)
		}
	}
}

func TestParserPanicError(t *testing.T) {
	l := &loader{name: "p.o"}
	err := l.guard("testing", func() error { panic("boom") })
	pe, ok := err.(*ParserPanicError)
	if !ok || pe.File != "p.o" || len(pe.Stack) == 0 {
		t.Fatalf("guard returned %#v", err)
	}
	if want := "p.o: malformed eBPF object: the ELF parser panicked while testing: boom"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if l.wrapParseError(err) != err {
		t.Error("wrapParseError rewrapped a panic error")
	}
}
