// Package conformance reads the test files of the bpf_conformance suite and
// runs them on the interpreter, with the helpers that suite expects.
//
// A test file has sections introduced by "-- name" lines: "asm" (the program
// as text), "raw" (the program as little-endian 64-bit words, which wins over
// asm), "mem" (hex bytes handed to the program in r1, with the length in r2),
// "result" (the expected r0), "error" (an expected failure message), and
// sections the runner ignores ("c", "no register offset").
package conformance

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

// Test is one parsed test file.
type Test struct {
	Name      string
	Asm       string // the asm section, verbatim
	Raw       []byte // the raw section as bytecode, or nil
	Memory    []byte // the mem section
	Result    uint64 // expected r0
	HasResult bool
	Error     string // expected error message, if any
}

// Parse reads a test file.
func Parse(name, text string) (*Test, error) {
	t := &Test{Name: name}
	var section string
	var asm strings.Builder
	var mem []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if rest, ok := strings.CutPrefix(line, "-- "); ok || line == "--" {
			section = strings.TrimSpace(rest)
			continue
		}
		switch section {
		case "asm":
			asm.WriteString(line)
			asm.WriteByte('\n')
		case "raw":
			for _, w := range strings.Fields(line) {
				if strings.HasPrefix(w, "#") {
					break
				}
				v, err := parseUint(w)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad raw instruction %q: %v", name, lineNo, w, err)
				}
				t.Raw = binary.LittleEndian.AppendUint64(t.Raw, v)
			}
		case "mem":
			mem = append(mem, strings.Fields(line)...)
		case "result":
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				v, err := parseUint(s)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad result %q: %v", name, lineNo, s, err)
				}
				t.Result, t.HasResult = v, true
			}
		case "error":
			if s := strings.TrimSpace(line); s != "" {
				t.Error = s
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	t.Asm = asm.String()
	for _, b := range mem {
		v, err := hex.DecodeString(b)
		if err != nil || len(v) != 1 {
			return nil, fmt.Errorf("%s: bad memory byte %q (expected two hex digits)", name, b)
		}
		t.Memory = append(t.Memory, v[0])
	}
	if t.Asm == "" && t.Raw == nil {
		return nil, fmt.Errorf("%s: no -- asm or -- raw section", name)
	}
	return t, nil
}

func parseUint(s string) (uint64, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(h, 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// Program returns the test's program: the raw section when present,
// otherwise the assembled asm section.
func (t *Test) Program() ([]isa.Instruction, error) {
	if t.Raw != nil {
		return isa.Decode(t.Raw)
	}
	return isa.Assemble(t.Asm)
}

// UnwindHelper is the id of the suite's "unwind" helper: it returns its
// argument, and when that is zero the program stops with r0 = 0.
const UnwindHelper = 5

// Helpers are the helpers the suite's programs call.
func Helpers() map[int32]interp.Helper {
	return map[int32]interp.Helper{
		UnwindHelper: func(vm *interp.VM, r1, _, _, _, _ uint64) uint64 {
			if r1 == 0 {
				vm.Unwind(0)
			}
			return r1
		},
	}
}

// Run executes a program the way the suite's plugins do: memory in r1 and
// its length in r2 (both 0 without memory). The memory is copied into
// runtime-owned memory first, so the caller's slice is never written.
func Run(insns []isa.Instruction, memory []byte, opts interp.Options) (uint64, error) {
	if opts.Helpers == nil {
		opts.Helpers = Helpers()
	}
	p, err := interp.Compile(insns, opts)
	if err != nil {
		return 0, err
	}
	vm, err := interp.New()
	if err != nil {
		return 0, err
	}
	defer vm.Close()
	var addr uint64
	if len(memory) > 0 {
		blk, err := mem.Alloc(len(memory))
		if err != nil {
			return 0, err
		}
		defer blk.Free()
		copy(blk.Bytes(), memory)
		addr = blk.Addr()
		vm.Grant(addr, uint64(len(memory)), true)
	}
	return vm.Run(p, addr, uint64(len(memory)))
}

// Check runs a parsed test and compares the outcome with its expectation.
func (t *Test) Check(opts interp.Options) error {
	insns, err := t.Program()
	if err == nil {
		var r0 uint64
		r0, err = Run(insns, t.Memory, opts)
		if err == nil {
			switch {
			case t.Error != "":
				return fmt.Errorf("expected error %q, but the program returned 0x%x", t.Error, r0)
			case t.HasResult && r0 != t.Result:
				return fmt.Errorf("returned 0x%x, expected 0x%x", r0, t.Result)
			}
			return nil
		}
	}
	if t.Error != "" {
		return nil // the suite compares plugin-specific messages; any failure counts
	}
	return errors.Join(errors.New("unexpected error"), err)
}
