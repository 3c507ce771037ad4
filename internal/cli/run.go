package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfhost/ebpfhost/internal/conformance"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/isa"
)

const runHelp = `
Runs a program in the interpreter and prints r0. FILE holds assembler text,
bytecode (hex or raw) or a conformance test file (whose memory is used unless
--mem says otherwise). The memory, if any, is passed in r1 and its length in
r2. Helper 5 is the conformance suite's "unwind" helper; the runtime's
helpers arrive with ELF loading.

There is no verifier in front of this command yet, so programs run in
checked mode by default: every memory access is bounds-checked against the
stack and the memory passed in, and a violation stops the program with an
error naming the instruction. --fast runs without checks and must only be
used on programs you trust.`

func runRun(e *env, args []string) error {
	fs := newFlags(e, "run", "[flags] FILE", runHelp)
	memHex := fs.String("mem", "", "memory to pass in r1, as hex `bytes` (\"01 02 ff\")")
	memFile := fs.String("mem-file", "", "memory to pass in r1, read from `FILE` (binary)")
	fast := fs.Bool("fast", false, "run without bounds checks (trusted programs only)")
	budget := fs.Uint64("budget", 0, "stop the program after `N` instructions (0: no limit)")
	repeat := fs.Int("repeat", 1, "run `N` times and report the mean duration")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run takes one program file (or - for standard input)")
	}
	if *repeat < 1 {
		return usagef("--repeat must be at least 1")
	}
	if *memHex != "" && *memFile != "" {
		return usagef("--mem and --mem-file are mutually exclusive")
	}
	data, name, err := readInput(e, pos[0])
	if err != nil {
		return err
	}
	insns, test, err := loadProgram(data, name)
	if err != nil {
		return err
	}
	var memory []byte
	switch {
	case *memHex != "":
		if memory, err = parseHex(*memHex); err != nil {
			return usagef("--mem: %v", err)
		}
	case *memFile != "":
		if memory, err = os.ReadFile(*memFile); err != nil {
			return err
		}
	case test != nil:
		memory = test.Memory
	}

	p, err := interp.Compile(insns, interp.Options{
		Helpers: conformance.Helpers(),
		Checked: !*fast,
		Budget:  *budget,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	vm, err := interp.New()
	if err != nil {
		return err
	}
	defer vm.Close()
	var addr uint64
	if len(memory) > 0 {
		blk, err := mem.Alloc(len(memory))
		if err != nil {
			return err
		}
		defer blk.Free()
		copy(blk.Bytes(), memory)
		addr = blk.Addr()
	}
	var r0 uint64
	start := time.Now()
	for i := 0; i < *repeat; i++ {
		if addr != 0 {
			vm.Grant(addr, uint64(len(memory)), true)
		}
		if r0, err = vm.Run(p, addr, uint64(len(memory))); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	mean := time.Since(start) / time.Duration(*repeat)
	if *jsonOut {
		out := map[string]any{"r0": r0, "r0_hex": fmt.Sprintf("0x%x", r0)}
		if *repeat > 1 {
			out["runs"] = *repeat
			out["mean_ns"] = mean.Nanoseconds()
		}
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(out)
	}
	fmt.Fprintf(e.stdout, "r0 = 0x%x (%d)\n", r0, int64(r0))
	if *repeat > 1 {
		fmt.Fprintf(e.stdout, "%d runs, mean %v per run\n", *repeat, mean)
	}
	return nil
}

const conformanceHelp = `
Runs bpf_conformance test files (.data): assembles or decodes each program,
runs it with the test's memory and compares r0 with the expected result.
Directories are searched for *.data files. Prints failures and a summary;
exits 1 if any test fails.`

func runConformance(e *env, args []string) error {
	fs := newFlags(e, "conformance", "[flags] FILE|DIR...", conformanceHelp)
	mode := fs.String("mode", "both", "execution `mode`: fast, checked or both")
	jsonOut := fs.Bool("json", false, "print JSON")
	verbose := fs.Bool("v", false, "also list the tests that pass")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("give the test files or directories to run")
	}
	var modes []bool // checked?
	switch *mode {
	case "fast":
		modes = []bool{false}
	case "checked":
		modes = []bool{true}
	case "both":
		modes = []bool{false, true}
	default:
		return usagef("unknown mode %q (fast, checked or both)", *mode)
	}
	var files []string
	for _, p := range pos {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := filepath.Glob(filepath.Join(p, "*.data"))
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("%s: no .data files in this directory", p)
		}
		files = append(files, found...)
	}
	sort.Strings(files)

	type result struct {
		File  string `json:"file"`
		Mode  string `json:"mode"`
		Pass  bool   `json:"pass"`
		Error string `json:"error,omitempty"`
	}
	var results []result
	failed := 0
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		test, perr := conformance.Parse(filepath.Base(f), string(text))
		for _, checked := range modes {
			m := "fast"
			if checked {
				m = "checked"
			}
			r := result{File: f, Mode: m, Pass: true}
			err := perr
			if err == nil {
				err = test.Check(interp.Options{Checked: checked})
			}
			if err != nil {
				r.Pass, r.Error = false, err.Error()
				failed++
			}
			results = append(results, r)
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"results": results, "passed": len(results) - failed, "failed": failed}); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch {
			case !r.Pass:
				fmt.Fprintf(e.stdout, "FAIL %s (%s): %s\n", r.File, r.Mode, r.Error)
			case *verbose:
				fmt.Fprintf(e.stdout, "PASS %s (%s)\n", r.File, r.Mode)
			}
		}
		fmt.Fprintf(e.stdout, "%d of %d passed (%d files, modes: %s)\n", len(results)-failed, len(results), len(files), *mode)
	}
	if failed > 0 {
		return &exitError{1}
	}
	return nil
}

const pluginHelp = `
Speaks the plugin protocol of the bpf_conformance runner, so that the
official runner can test ebpfhost:

  bpf_conformance_runner --test_file_directory tests \
      --plugin_path ebpfhost --plugin_options conformance-plugin

The optional first argument is the memory to pass to the program, as hex
bytes; the program arrives on standard input as hex bytes (or, with --elf, an
ELF object as hex bytes). r0 is printed in hex. A program that cannot be
decoded, or fails while running, prints the reason on standard error and
exits 1.`

func runPlugin(e *env, args []string) error {
	fs := newFlags(e, "conformance-plugin", "[MEMORY-HEX] [flags]", pluginHelp)
	elf := fs.Bool("elf", false, "the program on stdin is an ELF object (hex), as the runner's --elf option sends")
	fast := fs.Bool("fast", false, "run without bounds checks (the default is checked mode)")
	budget := fs.Uint64("budget", 1<<32, "stop a program after `N` instructions")
	debug := fs.Bool("debug", false, "print the disassembly on standard error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("at most one memory argument, got %d", len(pos))
	}
	var memory []byte
	if len(pos) == 1 && strings.TrimSpace(pos[0]) != "" {
		if memory, err = parseHex(pos[0]); err != nil {
			return fmt.Errorf("memory argument: %w", err)
		}
	}
	in, err := readAllLimited(e, 64<<20)
	if err != nil {
		return err
	}
	code, err := parseHex(string(in))
	if err != nil {
		return fmt.Errorf("program on standard input: %w", err)
	}
	var insns []isa.Instruction
	if *elf {
		insns, err = firstProgram(code)
	} else {
		insns, err = isa.Decode(code)
	}
	if err != nil {
		return err
	}
	if *debug {
		fmt.Fprint(e.stderr, isa.Disassemble(insns))
	}
	r0, err := conformance.Run(insns, memory, interp.Options{Checked: !*fast, Budget: *budget})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%x\n", r0)
	return nil
}

// firstProgram extracts the (only) program of an ELF object.
func firstProgram(obj []byte) (insns []isa.Instruction, err error) {
	defer func() {
		if r := recover(); r != nil {
			insns, err = nil, fmt.Errorf("malformed ELF object (the parser failed: %v)", r)
		}
	}()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("not a loadable eBPF ELF object: %w", err)
	}
	if len(spec.Programs) != 1 {
		return nil, fmt.Errorf("the ELF object has %d programs; the plugin runs objects with exactly one", len(spec.Programs))
	}
	for _, p := range spec.Programs {
		return isa.FromCilium(p.Instructions)
	}
	return nil, errors.New("unreachable")
}

// readAllLimited reads standard input, refusing more than limit bytes.
func readAllLimited(e *env, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(e.stdin, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("standard input is larger than %d bytes", limit)
	}
	return b, nil
}
