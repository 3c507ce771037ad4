package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ebpfhost/ebpfhost"
)

const progHelp = `
Works with the programs of an ELF object compiled with clang -target bpf.

  ebpfhost prog list OBJ            the programs (section, type) and maps
  ebpfhost prog run OBJ [flags]     test-run a program (BPF_PROG_TEST_RUN)

prog run loads the object into a fresh runtime (which verifies every
program: one the verifier rejects does not run), runs the program against a
context its type builds from --data and --ctx, and prints r0 and the mean
time per run; --maps prints the maps afterwards, --trace the
bpf_trace_printk output. --checked also bounds-checks every memory access
at run time.`

func runProg(e *env, args []string) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		newFlags(e, "prog", "list|run OBJ [flags]", progHelp).Usage()
		return nil
	}
	if len(args) == 0 {
		return usagef("prog needs a subcommand: list or run")
	}
	switch args[0] {
	case "list":
		return runProgList(e, args[1:])
	case "run":
		return runProgRun(e, args[1:])
	}
	return usagef("unknown prog subcommand %q (list or run)", args[0])
}

func runProgList(e *env, args []string) error {
	fs := newFlags(e, "prog list", "OBJ [--json]", "Lists the programs and maps of an object.")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("prog list takes one object file")
	}
	rt, coll, err := loadObject(pos[0], false)
	if err != nil {
		return err
	}
	defer rt.Close()
	defer coll.Close()
	type progInfo struct {
		Name, Section, Type string
	}
	type mapInfo struct {
		Name, Type                     string
		KeySize, ValueSize, MaxEntries uint32
	}
	var progs []progInfo
	for _, p := range coll.Programs {
		progs = append(progs, progInfo{p.Name(), p.Section(), p.Type()})
	}
	sort.Slice(progs, func(i, j int) bool { return progs[i].Name < progs[j].Name })
	var ms []mapInfo
	for _, m := range coll.Maps {
		ms = append(ms, mapInfo{m.Name(), m.TypeName(), m.KeySize(), m.ValueSize(), m.MaxEntries()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"programs": progs, "maps": ms})
	}
	fmt.Fprintln(e.stdout, "programs:")
	for _, p := range progs {
		fmt.Fprintf(e.stdout, "  %-24s section %-16s type %s\n", p.Name, p.Section, p.Type)
	}
	fmt.Fprintln(e.stdout, "maps:")
	for _, m := range ms {
		fmt.Fprintf(e.stdout, "  %-24s %-16s key %d, value %d, %d entries\n", m.Name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries)
	}
	return nil
}

// loadObject loads an object into a fresh runtime.
func loadObject(path string, checked bool) (*ebpfhost.Runtime, *ebpfhost.Collection, error) {
	rt, err := ebpfhost.New(&ebpfhost.Options{Checked: checked})
	if err != nil {
		return nil, nil, err
	}
	coll, err := rt.LoadFile(path)
	if err != nil {
		rt.Close()
		return nil, nil, err
	}
	return rt, coll, nil
}

func runProgRun(e *env, args []string) error {
	fs := newFlags(e, "prog run", "OBJ [flags]", progHelp)
	section := fs.String("section", "", "run the program in ELF `section` (needed when the object has several)")
	name := fs.String("program", "", "run the program with this function `name`")
	dataFile := fs.String("data", "", "read data_in (the packet) from `FILE`")
	dataHex := fs.String("data-hex", "", "data_in as hex `bytes`")
	ctxFile := fs.String("ctx", "", "read ctx_in from `FILE`")
	repeat := fs.Int("repeat", 1, "run `N` times and report the mean duration")
	checked := fs.Bool("checked", false, "also bounds-check every memory access at run time")
	showMaps := fs.Bool("maps", false, "print the maps after the runs")
	showTrace := fs.Bool("trace", false, "print the bpf_trace_printk output")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("prog run takes one object file")
	}
	if *repeat < 1 {
		return usagef("--repeat must be at least 1")
	}
	if *dataFile != "" && *dataHex != "" {
		return usagef("--data and --data-hex are mutually exclusive")
	}
	var data, ctxIn []byte
	switch {
	case *dataFile != "":
		if data, err = os.ReadFile(*dataFile); err != nil {
			return err
		}
	case *dataHex != "":
		if data, err = parseHex(*dataHex); err != nil {
			return usagef("--data-hex: %v", err)
		}
	}
	if *ctxFile != "" {
		if ctxIn, err = os.ReadFile(*ctxFile); err != nil {
			return err
		}
	}
	rt, coll, err := loadObject(pos[0], *checked)
	if err != nil {
		return err
	}
	defer rt.Close()
	defer coll.Close()
	p, err := pickProgram(coll, pos[0], *section, *name)
	if err != nil {
		return err
	}
	res, err := p.TestRun(&ebpfhost.TestRunOptions{Context: ctxIn, Data: data, Repeat: *repeat})
	if err != nil {
		return err
	}
	var trace []string
	if *showTrace {
		trace = rt.ReadTrace(1 << 12)
	}
	var dump map[string][]mapEntry
	if *showMaps {
		if dump, err = dumpMaps(coll); err != nil {
			return err
		}
	}
	if *jsonOut {
		out := map[string]any{
			"program": p.Name(), "section": p.Section(), "type": p.Type(),
			"r0": res.ReturnValue, "repeat": *repeat, "mean_ns": res.Duration,
			"data_out": hex.EncodeToString(res.Data), "ctx_out": hex.EncodeToString(res.Context),
		}
		if dump != nil {
			out["maps"] = dump
		}
		if trace != nil {
			out["trace"] = trace
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(e.stdout, "%s (section %s, type %s): r0 = %d (0x%x)%s\n", p.Name(), p.Section(), p.Type(), int64(res.ReturnValue), res.ReturnValue, verdictName(p.Type(), res.ReturnValue))
	if *repeat > 1 {
		fmt.Fprintf(e.stdout, "%d runs, mean %d ns per run\n", *repeat, res.Duration)
	}
	if len(data) > 0 && string(res.Data) != string(data) {
		fmt.Fprintf(e.stdout, "data_out: %s\n", hex.EncodeToString(res.Data))
	}
	for _, l := range trace {
		fmt.Fprintln(e.stdout, "trace:", strings.TrimSpace(l))
	}
	names := make([]string, 0, len(dump))
	for n := range dump {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(e.stdout, "map %s:\n", n)
		for _, kv := range dump[n] {
			fmt.Fprintf(e.stdout, "  %s: %s\n", kv.Key, kv.Value)
		}
	}
	return nil
}

func pickProgram(coll *ebpfhost.Collection, file, section, name string) (*ebpfhost.Program, error) {
	var match []*ebpfhost.Program
	var all []string
	for _, p := range coll.Programs {
		all = append(all, fmt.Sprintf("%s (section %s)", p.Name(), p.Section()))
		if (section == "" || p.Section() == section) && (name == "" || p.Name() == name) {
			match = append(match, p)
		}
	}
	sort.Strings(all)
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0:
		return nil, fmt.Errorf("%s: no program matches (programs: %s)", file, strings.Join(all, ", "))
	}
	return nil, fmt.Errorf("%s: several programs match; choose one with --section or --program (programs: %s)", file, strings.Join(all, ", "))
}

func verdictName(typ string, r0 uint64) string {
	if typ == "xdp" && r0 <= 4 {
		return " " + [...]string{"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"}[r0]
	}
	return ""
}

type mapEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// dumpMaps lists every keyed map's entries in hex.
func dumpMaps(coll *ebpfhost.Collection) (map[string][]mapEntry, error) {
	out := map[string][]mapEntry{}
	for name, m := range coll.Maps {
		if m.KeySize() == 0 { // ring buffers, queues, stacks
			continue
		}
		var entries []mapEntry
		it := m.Iterate()
		var k, v []byte
		var perCPU [][]byte
		for m.PerCPU() && it.Next(&k, &perCPU) || !m.PerCPU() && it.Next(&k, &v) {
			value := hex.EncodeToString(v)
			if m.PerCPU() {
				parts := make([]string, len(perCPU))
				for i, b := range perCPU {
					parts[i] = fmt.Sprintf("cpu%d=%x", i, b)
				}
				value = strings.Join(parts, " ")
			}
			entries = append(entries, mapEntry{hex.EncodeToString(k), value})
		}
		if err := it.Err(); err != nil && !errors.Is(err, ebpfhost.ErrNotSupp) {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		out[name] = entries
	}
	return out, nil
}
