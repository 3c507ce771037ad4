package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfhost/ebpfhost/isa"
)

const asmHelp = `
Assembles eBPF assembler text in the syntax of the bpf_conformance suite
(mov %r0, 1 / ldxdw %r0, [%r1+8] / jne %r1, 0, loop / call 1 / exit ...) into
bytecode. FILE may also be a conformance test file (its "-- asm" section is
used). Without FILE, or with "-", the text is read from standard input.

Output formats: hex (one instruction per line, bytes in hex, with the
instruction as a comment; 'ebpfhost disasm' and 'run' read it back), words
(0x-prefixed 64-bit words, the format of the suite's "-- raw" sections), raw
(binary bytecode, little-endian) and json.`

func runAsm(e *env, args []string) error {
	fs := newFlags(e, "asm", "[flags] [FILE]", asmHelp)
	out := fs.String("o", "", "write the output to `FILE` instead of standard output")
	format := fs.String("format", "hex", "output `format`: hex, words, raw or json")
	jsonOut := fs.Bool("json", false, "same as --format json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("asm takes at most one input file, got %d", len(pos))
	}
	if *jsonOut {
		*format = "json"
	}
	path := ""
	if len(pos) == 1 {
		path = pos[0]
	}
	data, name, err := readInput(e, path)
	if err != nil {
		return err
	}
	var insns []isa.Instruction
	if classify(data) == kindTest {
		insns, _, err = loadProgram(data, name)
	} else {
		insns, err = isa.Assemble(string(data))
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
	}
	if err != nil {
		return err
	}
	code := isa.Encode(insns)

	var buf bytes.Buffer
	switch *format {
	case "hex":
		for i, ins := range insns {
			if i > 0 && insns[i-1].IsLDDW() {
				fmt.Fprintf(&buf, "%s\n", slotHex(code, i))
				continue
			}
			fmt.Fprintf(&buf, "%s  # %d: %s\n", slotHex(code, i), i, ins)
		}
	case "words":
		for i := range insns {
			fmt.Fprintf(&buf, "0x%016x\n", binary.LittleEndian.Uint64(code[i*8:]))
		}
	case "raw":
		buf.Write(code)
	case "json":
		type jsonInsn struct {
			Index int    `json:"index"`
			Hex   string `json:"hex"`
			Text  string `json:"text,omitempty"`
		}
		list := make([]jsonInsn, len(insns))
		for i, ins := range insns {
			list[i] = jsonInsn{Index: i, Hex: fmt.Sprintf("%x", code[i*8:(i+1)*8])}
			if i == 0 || !insns[i-1].IsLDDW() {
				list[i].Text = ins.String()
			}
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"instructions": list, "bytes": len(code)}); err != nil {
			return err
		}
	default:
		return usagef("unknown format %q (hex, words, raw or json)", *format)
	}
	if *out != "" {
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}

const disasmHelp = `
Disassembles a program. FILE may be an ELF object compiled with
'clang -target bpf' (every program section is listed, with the C source
lines when the object has BTF line info, -g), bytecode in hex ('ebpfhost asm'
output, or 0x-prefixed 64-bit words) or raw binary bytecode.

Jump and call targets are shown as labels. --plain prints assembler text
that 'ebpfhost asm' turns back into the same bytecode.`

// listing is one program's disassembly, also the JSON output.
type listing struct {
	Section      string        `json:"section,omitempty"`
	Name         string        `json:"name,omitempty"`
	License      string        `json:"license,omitempty"`
	Instructions []listingLine `json:"instructions"`
}

type listingLine struct {
	Index    int         `json:"index"`
	Label    string      `json:"label,omitempty"`
	Symbol   string      `json:"function,omitempty"` // a function starts here
	Hex      string      `json:"hex"`
	Text     string      `json:"text,omitempty"` // empty on the second slot of lddw
	Comment  string      `json:"comment,omitempty"`
	Source   *sourceLine `json:"source,omitempty"`
	insn     isa.Instruction
	isSecond bool
}

type sourceLine struct {
	File string `json:"file"`
	Line uint32 `json:"line"`
	Text string `json:"text"`
}

func runDisasm(e *env, args []string) error {
	fs := newFlags(e, "disasm", "[flags] FILE", disasmHelp)
	section := fs.String("section", "", "only the program(s) in ELF `section`")
	jsonOut := fs.Bool("json", false, "print JSON")
	showBytes := fs.Bool("bytes", false, "show the encoded bytes of each instruction")
	plain := fs.Bool("plain", false, "print plain assembler text (re-assemblable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("disasm takes one input file (or - for standard input)")
	}
	data, name, err := readInput(e, pos[0])
	if err != nil {
		return err
	}

	var progs []listing
	if classify(data) == kindELF {
		progs, err = disasmELF(data, name, *section)
		if err != nil {
			return err
		}
	} else {
		if *section != "" {
			return usagef("--section applies to ELF objects, and %s is not one", name)
		}
		insns, _, err := loadProgram(data, name)
		if err != nil {
			return err
		}
		progs = []listing{{Instructions: listInstructions(insns, nil, nil)}}
	}

	switch {
	case *jsonOut:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"file": name, "programs": progs})
	case *plain:
		for i, p := range progs {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			if p.Section != "" {
				fmt.Fprintf(e.stdout, "# section %s, function %s\n", p.Section, p.Name)
			}
			insns := make([]isa.Instruction, len(p.Instructions))
			for j, l := range p.Instructions {
				insns[j] = l.insn
			}
			fmt.Fprint(e.stdout, isa.Disassemble(insns))
		}
		return nil
	}
	for i, p := range progs {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		if p.Section != "" {
			n := 0
			for _, l := range p.Instructions {
				if !l.isSecond {
					n++
				}
			}
			fmt.Fprintf(e.stdout, "section %s, function %s: %d instructions, license %q\n", p.Section, p.Name, n, p.License)
		}
		printListing(e.stdout, p.Instructions, *showBytes)
	}
	return nil
}

func printListing(w io.Writer, lines []listingLine, showBytes bool) {
	var last *sourceLine
	for _, l := range lines {
		if l.Symbol != "" && l.Symbol != l.Label {
			fmt.Fprintf(w, "%s:\n", l.Symbol)
		}
		if l.Label != "" {
			fmt.Fprintf(w, "%s:\n", l.Label)
		}
		if l.Source != nil && (last == nil || *last != *l.Source) {
			fmt.Fprintf(w, "    ; %s:%d: %s\n", l.Source.File, l.Source.Line, strings.TrimSpace(l.Source.Text))
			last = l.Source
		}
		bytes := ""
		if showBytes {
			bytes = l.Hex + "  "
		}
		if l.isSecond {
			if showBytes {
				fmt.Fprintf(w, "  %5d: %s\n", l.Index, l.Hex)
			}
			continue
		}
		text := l.Text
		if l.Comment != "" {
			text = fmt.Sprintf("%-32s # %s", text, l.Comment)
		}
		fmt.Fprintf(w, "  %5d: %s%s\n", l.Index, bytes, text)
	}
}

// listInstructions lays out a program; names label jump targets (function
// symbols) and annotate, when set, adds the function symbol, comment and
// source line of a slot.
func listInstructions(insns []isa.Instruction, names map[int]string, annotate func(i int, l *listingLine)) []listingLine {
	code := isa.Encode(insns)
	var out []listingLine
	for _, dl := range isa.DisassembleLines(insns, names) {
		l := listingLine{
			Index:    dl.Index,
			Label:    dl.Label,
			Hex:      slotHex(code, dl.Index),
			Text:     dl.Text,
			insn:     insns[dl.Index],
			isSecond: dl.Text == "",
		}
		if !l.isSecond {
			if ins := insns[dl.Index]; ins.IsHelperCall() {
				l.Comment = helperName(int32(ins.Imm))
			}
			if annotate != nil {
				annotate(dl.Index, &l)
			}
		}
		out = append(out, l)
	}
	return out
}

var camel = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// helperName names a Linux helper id the way C programs call it
// (bpf_map_lookup_elem), or returns "" for ids Linux does not define.
func helperName(id int32) string {
	if id <= 0 {
		return ""
	}
	s := asm.BuiltinFunc(id).String()
	name, ok := strings.CutPrefix(s, "Fn")
	if !ok {
		return ""
	}
	return "bpf_" + strings.ToLower(camel.ReplaceAllString(name, "${1}_${2}"))
}

// disasmELF lists the programs of an ELF object, optionally only those of
// one section.
func disasmELF(data []byte, name, section string) (progs []listing, err error) {
	defer func() {
		// The object is untrusted input; a parser bug must not crash the
		// command.
		if r := recover(); r != nil {
			progs, err = nil, fmt.Errorf("%s: malformed ELF object (the parser failed: %v)", name, r)
		}
	}()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a loadable eBPF ELF object: %w", name, err)
	}
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := spec.Programs[names[i]], spec.Programs[names[j]]
		if a.SectionName != b.SectionName {
			return a.SectionName < b.SectionName
		}
		return names[i] < names[j]
	})
	var sections []string
	for _, n := range names {
		ps := spec.Programs[n]
		sections = append(sections, ps.SectionName)
		if section != "" && ps.SectionName != section {
			continue
		}
		insns, err := isa.FromCilium(ps.Instructions)
		if err != nil {
			return nil, fmt.Errorf("%s: section %s, function %s: %w", name, ps.SectionName, n, err)
		}
		meta := annotations(ps.Instructions)
		names := map[int]string{}
		for i, m := range meta {
			if m.symbol != "" {
				names[i] = m.symbol
			}
		}
		progs = append(progs, listing{
			Section: ps.SectionName,
			Name:    n,
			License: ps.License,
			Instructions: listInstructions(insns, names, func(i int, l *listingLine) {
				m, ok := meta[i]
				if !ok {
					return
				}
				l.Symbol = m.symbol
				// Calls and function pointers show the callee as their
				// label; map loads get the map's name.
				if m.ref != "" && l.insn.IsLDDW() && l.insn.Src != isa.PseudoFunc {
					l.Comment = "map " + m.ref
				}
				l.Source = m.source
			}),
		})
	}
	if len(progs) == 0 {
		if section != "" {
			return nil, fmt.Errorf("%s: no program in section %q; sections with programs: %s", name, section, strings.Join(sections, ", "))
		}
		return nil, fmt.Errorf("%s: the object contains no programs", name)
	}
	return progs, nil
}

type insnMeta struct {
	symbol, ref string
	source      *sourceLine
}

// annotations indexes cilium/ebpf's per-instruction metadata (function
// symbols, map and call references, BTF line info) by slot.
func annotations(insns asm.Instructions) map[int]insnMeta {
	out := map[int]insnMeta{}
	iter := insns.Iterate()
	for iter.Next() {
		ins := iter.Ins
		m := insnMeta{symbol: ins.Symbol(), ref: ins.Reference()}
		// Line 0 marks code the compiler made up; it has no source text.
		if line, ok := ins.Source().(*btf.Line); ok && line != nil && line.LineNumber() != 0 {
			m.source = &sourceLine{File: line.FileName(), Line: line.LineNumber(), Text: line.Line()}
		}
		if m != (insnMeta{}) {
			out[int(iter.Offset)] = m
		}
	}
	return out
}
