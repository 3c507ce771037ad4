package cli

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ebpfhost/ebpfhost/internal/conformance"
	"github.com/ebpfhost/ebpfhost/isa"
)

// inputKind is what a program file turned out to hold.
type inputKind int

const (
	kindELF inputKind = iota
	kindTest
	kindHex
	kindAsm
	kindBinary
)

var elfMagic = []byte("\x7fELF")

// classify tells ELF objects, conformance test files, hex text, assembler
// text and raw bytecode apart.
func classify(data []byte) inputKind {
	switch {
	case bytes.HasPrefix(data, elfMagic):
		return kindELF
	case !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0:
		return kindBinary
	}
	text := string(data)
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); l == "-- asm" || l == "-- raw" {
			return kindTest
		}
	}
	if _, err := parseHex(text); err == nil {
		return kindHex
	}
	return kindAsm
}

// parseHex reads bytecode written as hex: two-digit bytes ("b7 00 ...") or
// 0x-prefixed 64-bit little-endian instruction words ("0x00000001000000b7",
// the format of the conformance suite's raw sections). '#' starts a comment.
func parseHex(text string) ([]byte, error) {
	var out []byte
	for n, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, tok := range strings.Fields(line) {
			switch {
			case len(tok) == 18 && (strings.HasPrefix(tok, "0x") || strings.HasPrefix(tok, "0X")):
				v, err := strconv.ParseUint(tok[2:], 16, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d: bad instruction word %q", n+1, tok)
				}
				out = binary.LittleEndian.AppendUint64(out, v)
			case len(tok) == 2:
				v, err := strconv.ParseUint(tok, 16, 8)
				if err != nil {
					return nil, fmt.Errorf("line %d: bad hex byte %q", n+1, tok)
				}
				out = append(out, byte(v))
			default:
				return nil, fmt.Errorf("line %d: %q is neither a hex byte nor a 0x-prefixed 64-bit word", n+1, tok)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no bytes")
	}
	return out, nil
}

// loadProgram reads a program from a file that holds assembler text, a
// conformance test file, hex text or raw bytecode. For test files it also
// returns the parsed test (its memory and expected result).
func loadProgram(data []byte, name string) ([]isa.Instruction, *conformance.Test, error) {
	switch classify(data) {
	case kindELF:
		return nil, nil, fmt.Errorf("%s is an ELF object; this command takes assembler text or bytecode (use 'ebpfhost disasm' to look inside objects)", name)
	case kindTest:
		t, err := conformance.Parse(name, string(data))
		if err != nil {
			return nil, nil, err
		}
		insns, err := t.Program()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return insns, t, nil
	case kindHex:
		code, err := parseHex(string(data))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		insns, err := isa.Decode(code)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return insns, nil, nil
	case kindAsm:
		insns, err := isa.Assemble(string(data))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return insns, nil, nil
	default:
		insns, err := isa.Decode(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return insns, nil, nil
	}
}

// slotHex returns the 8 encoded bytes of slot i as "b7 00 00 ...".
func slotHex(code []byte, i int) string {
	b := code[i*isa.InstructionSize : (i+1)*isa.InstructionSize]
	parts := make([]string, len(b))
	for j, c := range b {
		parts[j] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, " ")
}
