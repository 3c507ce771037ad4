package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/progtype/linux"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
)

const verifyHelp = `
Verifies the programs of an ELF object without running them: on every path,
every memory access must stay inside memory the program may touch, nothing
uninitialized may be read, pointers may not leak, helpers must get the
right arguments, ring buffer reservations must be settled, and the program
must terminate. Exits 0 when every program verifies, 1 otherwise.

A rejection names the instruction, its C source line (when the object was
built with -g), the reason and what the verifier knew of the registers
involved; --log also prints every instruction of the failing path with the
registers it used.

--platform ebpfhost (the default) checks against the program types
ebpfhost runs; --platform linux against Linux's program types (xdp, socket
filters, tc, cgroup_skb, sockops, kprobes, tracepoints, raw tracepoints,
perf events) and their helpers, chosen from section names as libbpf does.`

// verifyReport is one program's outcome, also the JSON output.
type verifyReport struct {
	Name         string       `json:"name"`
	Section      string       `json:"section"`
	Type         string       `json:"type,omitempty"`
	Verified     bool         `json:"verified"`
	Instructions int          `json:"instructions"`
	Steps        int          `json:"steps"`
	States       int          `json:"states"`
	Milliseconds float64      `json:"ms"`
	Error        *verifyError `json:"error,omitempty"`
}

type verifyError struct {
	Kind        string   `json:"kind"`
	Instruction int      `json:"instruction"`
	Text        string   `json:"disassembly,omitempty"`
	Source      string   `json:"source,omitempty"`
	Reason      string   `json:"reason"`
	Registers   []string `json:"registers,omitempty"`
	Log         []string `json:"log,omitempty"`
}

func runVerify(e *env, args []string) error {
	fs := newFlags(e, "verify", "OBJ [flags]", verifyHelp)
	section := fs.String("section", "", "only the programs in ELF `section`")
	name := fs.String("program", "", "only the program with this function `name`")
	jsonOut := fs.Bool("json", false, "print JSON")
	log := fs.Bool("log", false, "print the failing path, instruction by instruction")
	platform := fs.String("platform", "ebpfhost", "program types to check against: ebpfhost or linux")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("verify takes one object file")
	}
	var reg *progtype.Registry
	switch *platform {
	case "ebpfhost":
		reg = builtin.Registry()
	case "linux":
		reg = linux.Registry()
	default:
		return usagef("unknown platform %q (ebpfhost or linux)", *platform)
	}
	spec, err := loader.LoadFile(pos[0])
	if err != nil {
		return err
	}
	var names []string
	for n, ps := range spec.Programs {
		if (*section == "" || ps.Section == *section) && (*name == "" || n == *name) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := spec.Programs[names[i]], spec.Programs[names[j]]
		if a.Section != b.Section {
			return a.Section < b.Section
		}
		return names[i] < names[j]
	})
	if len(names) == 0 {
		return fmt.Errorf("%s: no program matches --section %q --program %q", pos[0], *section, *name)
	}
	var reports []verifyReport
	failed := false
	for _, n := range names {
		ps := spec.Programs[n]
		r := verifyReport{Name: n, Section: ps.Section, Instructions: len(ps.Instructions)}
		info, ok := reg.ForSection(ps.Section)
		if !ok {
			r.Error = &verifyError{Kind: "unknown section", Instruction: -1,
				Reason: fmt.Sprintf("no %s program type handles section %q (known section prefixes: %s)", *platform, ps.Section, strings.Join(reg.Sections(), ", "))}
			failed = true
			reports = append(reports, r)
			continue
		}
		r.Type = info.Name
		res, err := verifier.Verify(core.VerifierProgram(ps, info, core.SpecMapInfo(spec)), &verifier.Options{Log: *log})
		r.Steps, r.States = res.Steps, res.States
		r.Milliseconds = float64(res.Duration.Microseconds()) / 1000
		var ve *verifier.Error
		switch {
		case err == nil:
			r.Verified = true
		case errors.As(err, &ve):
			r.Error = &verifyError{Kind: string(ve.Kind), Instruction: ve.PC, Text: ve.Instruction, Source: ve.Source,
				Reason: ve.Reason, Registers: ve.Registers, Log: ve.Log}
			failed = true
		default:
			r.Error = &verifyError{Kind: "error", Instruction: -1, Reason: err.Error()}
			failed = true
		}
		reports = append(reports, r)
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"file": pos[0], "platform": *platform, "programs": reports}); err != nil {
			return err
		}
	} else {
		printVerify(e, pos[0], reports)
	}
	if failed {
		return &exitError{1}
	}
	return nil
}

func printVerify(e *env, file string, reports []verifyReport) {
	fmt.Fprintf(e.stdout, "%s:\n", file)
	for _, r := range reports {
		typ := r.Type
		if typ == "" {
			typ = "?"
		}
		if r.Verified {
			fmt.Fprintf(e.stdout, "  %s (section %s, type %s): verified: %d instructions, %d states, %d steps, %.3f ms\n",
				r.Name, r.Section, typ, r.Instructions, r.States, r.Steps, r.Milliseconds)
			continue
		}
		fmt.Fprintf(e.stdout, "  %s (section %s, type %s): REJECTED", r.Name, r.Section, typ)
		if r.Steps > 0 {
			fmt.Fprintf(e.stdout, " after %d steps, %.3f ms", r.Steps, r.Milliseconds)
		}
		fmt.Fprintln(e.stdout)
		x := r.Error
		if x.Instruction >= 0 {
			fmt.Fprintf(e.stdout, "      instruction %d: %s\n", x.Instruction, x.Text)
		}
		if x.Source != "" {
			fmt.Fprintf(e.stdout, "      at %s\n", x.Source)
		}
		fmt.Fprintf(e.stdout, "      %s: %s\n", x.Kind, x.Reason)
		for _, reg := range x.Registers {
			fmt.Fprintf(e.stdout, "      %s\n", reg)
		}
		if len(x.Log) > 0 {
			fmt.Fprintln(e.stdout, "      the failing path:")
			for _, l := range x.Log {
				fmt.Fprintf(e.stdout, "        %s\n", l)
			}
		}
	}
}
