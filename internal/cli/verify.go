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
	"github.com/ebpfhost/ebpfhost/internal/store"
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
perf events) and their helpers, chosen from section names as libbpf does.

With --platform ebpfhost, the program types of the program-information
store are added to the built-in ones (see 'ebpfhost store --help'): those
of --store DIR, or else of $EBPFHOST_STORE or /var/lib/ebpfhost/store when
it exists. So an object for an extension this binary does not host verifies
once that extension's host has run 'ebpfhost store export'. A built-in type
wins over a stored type of the same name (the store may be older than this
binary; a warning says when the two differ), and a stored type whose id,
GUID or section prefix a built-in type already has is left out with a
warning. Problems with the default store are warnings; with --store they
are errors.`

// verifyReport is one program's outcome, also the JSON output.
type verifyReport struct {
	Name         string       `json:"name"`
	Section      string       `json:"section"`
	Type         string       `json:"type,omitempty"`
	Stored       string       `json:"stored,omitempty"` // the store file of the type, when it came from the store
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
	storeDir := fs.String("store", "", "add the program types stored in `DIR` (default $EBPFHOST_STORE or /var/lib/ebpfhost/store, when it exists)")
	noStore := fs.Bool("no-store", false, "use the built-in program types only, not the store")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("verify takes one object file")
	}
	var reg *progtype.Registry
	var stored map[string]store.Entry
	var storeRead string
	switch *platform {
	case "ebpfhost":
		reg = builtin.Registry()
		if *noStore && *storeDir != "" {
			return usagef("--store and --no-store contradict each other")
		}
		if !*noStore {
			if stored, storeRead, err = storeForVerify(e, reg, *storeDir); err != nil {
				return err
			}
		}
	case "linux":
		reg = linux.Registry()
		if *storeDir != "" {
			return usagef("--store applies to --platform ebpfhost (the store holds ebpfhost extensions' program types)")
		}
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
			hint := ""
			if *platform == "ebpfhost" {
				hint = "; for an extension this binary does not host, run 'ebpfhost store export' on its host and pass that store with --store DIR"
			}
			r.Error = &verifyError{Kind: "unknown section", Instruction: -1,
				Reason: fmt.Sprintf("no %s program type handles section %q (known section prefixes: %s)%s", *platform, ps.Section, strings.Join(reg.Sections(), ", "), hint)}
			failed = true
			reports = append(reports, r)
			continue
		}
		r.Type = info.Name
		if st, ok := stored[info.Name]; ok && st.ProgramType == info {
			r.Stored = st.File
		}
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
		doc := map[string]any{"file": pos[0], "platform": *platform, "programs": reports}
		if storeRead != "" {
			doc["store"] = storeRead
		}
		if err := enc.Encode(doc); err != nil {
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
		if r.Stored != "" {
			typ += " from the store"
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
