package isa

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Run with: go test -run XXX -fuzz FuzzDecode ./isa/
func FuzzDecode(f *testing.F) {
	for _, c := range readConformance(f) {
		f.Add(Encode(c.program(f)))
	}
	f.Add([]byte{})
	f.Add(rawExit[:5])
	f.Add(code(raw(OpLDDW, 1, 0, 0, 1)))
	f.Add(code(raw(OpLDDW, 1, PseudoFunc, 0, 0), raw(0, 0, 0, 0, 0), rawExit))
	f.Add(code(raw(OpCallX, 0, 0, 0, 3), rawExit))
	f.Add(code(raw(0x8e, 0, 0, 0, 0), rawExit))
	f.Add(code(raw(ClassSTX|ModeATOMIC|SizeW, 1, 2, -4, AtomicCmpXchg), raw(ClassALU|ALUMov|SrcX, 1, 2, 16, 0), rawExit))
	f.Add(code(raw(OpJA32, 0, 0, 0, 1), raw(OpLDDW, 1, PseudoMapValue, 0, 3), raw(0, 0, 0, 0, 8), rawExit))

	f.Fuzz(func(t *testing.T, b []byte) {
		insns, err := Decode(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			var e *Error
			if errors.As(err, &e) && (e.Index < 0 || e.Index >= len(b)/InstructionSize) {
				t.Fatalf("error index %d outside the %d-slot program: %v", e.Index, len(b)/InstructionSize, err)
			}
			return
		}
		if len(insns) != len(b)/InstructionSize {
			t.Fatalf("%d instructions from %d bytes", len(insns), len(b))
		}
		if err := Validate(insns); err != nil {
			t.Fatalf("Decode returned instructions that do not validate: %v", err)
		}
		back, err := Decode(Encode(insns))
		if err != nil {
			t.Fatalf("Decode(Encode(insns)): %v", err)
		}
		if !reflect.DeepEqual(back, insns) {
			t.Fatalf("Decode(Encode(insns)) = %v, want %v", back, insns)
		}
		for i := 0; i < len(insns); i += insns[i].Width() {
			s := insns[i].String()
			if s == "" || strings.HasPrefix(s, ".invalid") {
				t.Fatalf("slot %d (%+v) renders as %q", i, insns[i], s)
			}
		}
		text := Disassemble(insns)
		asm, err := Assemble(text)
		if err != nil {
			t.Fatalf("Assemble(Disassemble(insns)): %v\n%s", err, text)
		}
		if !reflect.DeepEqual(asm, insns) {
			t.Fatalf("Assemble(Disassemble(insns)) differs:\n%s\n got %v\nwant %v", text, asm, insns)
		}
	})
}

// Run with: go test -run XXX -fuzz FuzzAssemble ./isa/
func FuzzAssemble(f *testing.F) {
	for _, c := range readConformance(f) {
		if c.asm != "" {
			f.Add(c.asm)
		}
	}
	f.Add("")
	f.Add("a: b: ja b\nexit")
	f.Add("jne %r0, 1, exit\nmov %r0, 2\nexit")
	f.Add("lddw %r1, map_value:3+8\nlddw %r1, func:fn\ncall local fn\nexit\nfn: call %r2\nexit")
	f.Add("lddw %r0, func:+0\nexit")
	f.Add("ja +32768\nexit")
	f.Add("lock fetch xchg [%r1], %r2\nexit")
	f.Add("movsx832 %r1, %r2\nmovsx3264 %r1, %r2\nsmod32 %r1, -3\nexit")

	f.Fuzz(func(t *testing.T, src string) {
		insns, err := Assemble(src)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			var se *SyntaxError
			if errors.As(err, &se) && (se.Line < 1 || se.Line > strings.Count(src, "\n")+1) {
				t.Fatalf("error line %d outside the source: %v", se.Line, err)
			}
			return
		}
		if err := Validate(insns); err != nil {
			t.Fatalf("Assemble returned instructions that do not validate: %v", err)
		}
		back, err := Decode(Encode(insns))
		if err != nil {
			t.Fatalf("Decode(Encode(insns)): %v", err)
		}
		if !reflect.DeepEqual(back, insns) {
			t.Fatalf("Decode(Encode(insns)) = %v, want %v", back, insns)
		}
		text := Disassemble(insns)
		again, err := Assemble(text)
		if err != nil {
			t.Fatalf("Assemble(Disassemble(insns)): %v\n%s", err, text)
		}
		if !reflect.DeepEqual(again, insns) {
			t.Fatalf("Assemble(Disassemble(insns)) differs:\n%s\n got %v\nwant %v", text, again, insns)
		}
	})
}
