package isa

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// conformanceDir holds the bpf_conformance suite's test files.
const conformanceDir = "../internal/conformance/testdata/tests"

// conformanceFile is the part of a bpf_conformance test file that matters to
// the instruction set: the program as text and, when present, as raw words.
type conformanceFile struct {
	name string
	asm  string
	raw  []byte // little-endian bytecode of the "-- raw" section, or nil
}

// readConformance parses every test file of the suite. Only the "asm" and
// "raw" sections are kept; "raw" holds one 64-bit little-endian word per
// instruction slot.
func readConformance(tb testing.TB) []conformanceFile {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(conformanceDir, "*.data"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no conformance files in %s", conformanceDir)
	}
	files := make([]conformanceFile, 0, len(paths))
	for _, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		f := conformanceFile{name: filepath.Base(path)}
		var asm strings.Builder
		section := ""
		for n, line := range strings.Split(string(text), "\n") {
			line = strings.TrimRight(line, "\r")
			if name, ok := strings.CutPrefix(line, "-- "); ok {
				section = strings.TrimSpace(name)
				continue
			}
			switch section {
			case "asm":
				asm.WriteString(line)
				asm.WriteByte('\n')
			case "raw":
				for _, word := range strings.Fields(line) {
					if strings.HasPrefix(word, "#") {
						break
					}
					v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(word), "0x"), 16, 64)
					if err != nil {
						tb.Fatalf("%s:%d: bad raw word %q: %v", f.name, n+1, word, err)
					}
					f.raw = binary.LittleEndian.AppendUint64(f.raw, v)
				}
			}
		}
		f.asm = asm.String()
		files = append(files, f)
	}
	return files
}

// program returns the file's program: the raw section decoded when there is
// one, else the assembled asm section, as the suite's runners do.
func (f conformanceFile) program(tb testing.TB) []Instruction {
	tb.Helper()
	var insns []Instruction
	var err error
	if f.raw != nil {
		insns, err = Decode(f.raw)
	} else {
		insns, err = Assemble(f.asm)
	}
	if err != nil {
		tb.Fatalf("%s: %v", f.name, err)
	}
	return insns
}

func TestConformanceFilesParse(t *testing.T) {
	files := readConformance(t)
	if len(files) != 313 {
		t.Errorf("found %d conformance files, want 313", len(files))
	}
	for _, f := range files {
		if f.asm == "" && f.raw == nil {
			t.Errorf("%s: neither an asm nor a raw section", f.name)
		}
	}
}

func TestConformanceEncodeDecode(t *testing.T) {
	for _, f := range readConformance(t) {
		t.Run(f.name, func(t *testing.T) {
			insns := f.program(t)
			code := Encode(insns)
			if len(code) != len(insns)*InstructionSize {
				t.Fatalf("Encode: %d bytes for %d slots", len(code), len(insns))
			}
			back, err := Decode(code)
			if err != nil {
				t.Fatalf("Decode(Encode(p)): %v", err)
			}
			if !reflect.DeepEqual(back, insns) {
				t.Fatalf("Decode(Encode(p)) differs from p:\n got %v\nwant %v", back, insns)
			}
			if again := Encode(back); !bytes.Equal(again, code) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", again, code)
			}
			if f.raw != nil {
				if got := Encode(insns); !bytes.Equal(got, f.raw) {
					t.Fatalf("Encode(Decode(raw)) differs from raw:\n got %x\nwant %x", got, f.raw)
				}
			}
		})
	}
}

// Where a file has both sections, the text must assemble to exactly the raw
// bytes.
func TestConformanceAsmMatchesRaw(t *testing.T) {
	n := 0
	for _, f := range readConformance(t) {
		if f.raw == nil || f.asm == "" {
			continue
		}
		n++
		insns, err := Assemble(f.asm)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if got := Encode(insns); !bytes.Equal(got, f.raw) {
			t.Errorf("%s: asm assembles to\n%x\nraw section is\n%x", f.name, got, f.raw)
		}
	}
	if n == 0 {
		t.Fatal("no conformance file has both an asm and a raw section (lddw.data should)")
	}
}

func TestConformanceLDDWRaw(t *testing.T) {
	want := []byte{
		0x18, 0x00, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55,
		0x00, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11,
		0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	for _, f := range readConformance(t) {
		if f.name != "lddw.data" {
			continue
		}
		if !bytes.Equal(f.raw, want) {
			t.Fatalf("raw section of lddw.data read as %x, want %x", f.raw, want)
		}
		insns, err := Assemble(f.asm)
		if err != nil {
			t.Fatal(err)
		}
		if got := Encode(insns); !bytes.Equal(got, want) {
			t.Fatalf("lddw.data assembles to %x, want %x", got, want)
		}
		if insns[0].Imm != 0x1122334455667788 {
			t.Fatalf("lddw immediate is %#x", insns[0].Imm)
		}
		return
	}
	t.Fatal("lddw.data not found")
}

func TestConformanceDisassembleRoundTrip(t *testing.T) {
	for _, f := range readConformance(t) {
		t.Run(f.name, func(t *testing.T) {
			insns := f.program(t)
			text := Disassemble(insns)
			back, err := Assemble(text)
			if err != nil {
				t.Fatalf("Assemble(Disassemble(p)): %v\n%s", err, text)
			}
			if !reflect.DeepEqual(back, insns) {
				t.Fatalf("Assemble(Disassemble(p)) differs from p:\n%s\n got %v\nwant %v", text, back, insns)
			}
			for i, ins := range insns {
				if i > 0 && insns[i-1].IsLDDW() {
					continue // second slot of an lddw
				}
				checkSingleRoundTrip(t, i, ins)
			}
		})
	}
}

// checkSingleRoundTrip checks that an instruction's String assembles back to
// the instruction on its own. Instructions with targets relative to their
// position are skipped: alone they point outside the program.
func checkSingleRoundTrip(t *testing.T, i int, ins Instruction) {
	t.Helper()
	if _, ok := ins.Branch(i); ok || ins.IsLDDW() && ins.Src == PseudoFunc {
		return
	}
	text := ins.String()
	got, err := Assemble(text)
	if err != nil {
		t.Errorf("slot %d: Assemble(%q): %v", i, text, err)
		return
	}
	if len(got) != ins.Width() || got[0] != ins {
		t.Errorf("slot %d: Assemble(%q) = %v, want %v", i, text, got, ins)
	}
}
