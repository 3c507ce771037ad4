package cli

//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c mytype.c -o mytype.o"

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/store"
)

const storeHelp = `
Manages the program-information store: the program types (name, GUID, id,
section prefixes, context descriptor, helper prototypes, return range) and
attach types of the extensions a host runs, written to disk so that a
process that does not host those extensions can still verify objects for
them. It plays the role of eBPF for Windows' eBPF store and ntosebpfext's
export_program_info tool.

  export  write the program types and attach types of the extensions this
          binary hosts (one JSON file each; a file of the same name is
          replaced atomically, other stored types are left alone)
  list    print what the store holds (--json: the stored documents)
  clear   remove the store's files: program-type.*.json, attach-type.*.json
          and leftovers of interrupted exports; the directory and any other
          file in it stay

The store is the directory given with --store, else $EBPFHOST_STORE, else
/var/lib/ebpfhost/store (writing there needs root). 'ebpfhost verify' reads
it. Helper implementations are code and are not stored: a stored type can
be verified against, not run.`

func runStore(e *env, args []string) error {
	fs := newFlags(e, "store", "export|list|clear [--store DIR] [--json]", storeHelp)
	dirFlag := fs.String("store", "", "the store `DIR` (default $EBPFHOST_STORE or "+store.DefaultDir+")")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("store takes one of export, list or clear")
	}
	dir := *dirFlag
	if dir == "" {
		dir = store.Dir()
	}
	switch pos[0] {
	case "export":
		return storeExport(e, dir, builtin.New().Extensions(), *jsonOut)
	case "list":
		return storeList(e, dir, *jsonOut)
	case "clear":
		return storeClear(e, dir, *jsonOut)
	}
	return usagef("unknown store command %q (export, list or clear)", pos[0])
}

// storeErr adds what to do when the store is not ours to change.
func storeErr(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%v: run as root, or use --store DIR (or $%s) for a store of your own", err, store.EnvDir)
	}
	return err
}

// storeItem is one line of export's and clear's JSON output.
type storeItem struct {
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Extension string `json:"extension,omitempty"`
	File      string `json:"file"`
}

func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exportExtensions writes the program types and attach types of exts to
// the store in dir, one extension at a time.
func exportExtensions(dir string, exts []*core.Extension) ([]store.Entry, error) {
	var all []store.Entry
	for _, x := range exts {
		var types []*progtype.ProgramType
		var attachs []*progtype.AttachType
		for _, t := range x.ProgramTypes {
			types = append(types, t.ProgramType)
		}
		for _, a := range x.AttachTypes {
			attachs = append(attachs, a.AttachType)
		}
		done, err := store.ExportWith(dir, store.Origin{Extension: x.Name, ExportedBy: "ebpfhost " + Version}, types, attachs)
		all = append(all, done...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

func storeExport(e *env, dir string, exts []*core.Extension, jsonOut bool) error {
	done, err := exportExtensions(dir, exts)
	if err != nil {
		return storeErr(err)
	}
	if jsonOut {
		items := []storeItem{}
		for _, d := range done {
			items = append(items, storeItem{string(d.Kind), d.Name, d.Extension, d.File})
		}
		return printJSON(e, map[string]any{"store": dir, "exported": items})
	}
	n := map[store.Kind]int{}
	for _, d := range done {
		fmt.Fprintf(e.stdout, "%s %s (extension %s): %s\n", d.Kind, d.Name, d.Extension, d.File)
		n[d.Kind]++
	}
	fmt.Fprintf(e.stdout, "exported %s and %s of %s to %s\n",
		plural(n[store.KindProgramType], "program type"), plural(n[store.KindAttachType], "attach type"), plural(len(exts), "extension"), dir)
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func storeList(e *env, dir string, jsonOut bool) error {
	entries, err := store.List(dir)
	missing := errors.Is(err, fs.ErrNotExist) && entries == nil
	if missing {
		err = nil
	} else if err != nil && entries == nil {
		return storeErr(err)
	}
	if jsonOut {
		types, attachs := []store.Entry{}, []store.Entry{}
		for _, x := range entries {
			if x.Kind == store.KindProgramType {
				types = append(types, x)
			} else {
				attachs = append(attachs, x)
			}
		}
		errs := []string{}
		if err != nil {
			errs = strings.Split(err.Error(), "\n")
		}
		if jerr := printJSON(e, map[string]any{"store": dir, "program_types": types, "attach_types": attachs, "errors": errs}); jerr != nil {
			return jerr
		}
	} else {
		printStore(e, dir, entries, missing)
	}
	if err != nil {
		if !jsonOut {
			fmt.Fprintln(e.stderr, storeErr(err))
		}
		return &exitError{1}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printStore(e *env, dir string, entries []store.Entry, missing bool) {
	switch {
	case missing:
		fmt.Fprintf(e.stdout, "store %s does not exist: nothing has been exported there (ebpfhost store export)\n", dir)
		return
	case len(entries) == 0:
		fmt.Fprintf(e.stdout, "store %s is empty\n", dir)
		return
	}
	fmt.Fprintf(e.stdout, "store %s:\n", dir)
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	n := 0
	for _, x := range entries {
		if t := x.ProgramType; t != nil {
			if n == 0 {
				fmt.Fprintln(w, "\nprogram type\tGUID\tid\tsections\thelpers\textension")
			}
			n++
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Name, dash(t.GUID), typeID(t.ID),
				strings.Join(t.SectionPrefixes, ","), len(t.Helpers), dash(x.Extension))
		}
	}
	w.Flush()
	n = 0
	for _, x := range entries {
		if a := x.AttachType; a != nil {
			if n == 0 {
				fmt.Fprintln(w, "\nattach type\tGUID\tprogram type\tsections\textension")
			}
			n++
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Name, dash(a.GUID), a.ProgramType,
				dash(strings.Join(a.SectionPrefixes, ",")), dash(x.Extension))
		}
	}
	w.Flush()
}

// typeID shows ebpfhost's own ids (from 0x10000) in hex too.
func typeID(id uint32) string {
	if id >= 0x10000 {
		return fmt.Sprintf("%d (%#x)", id, id)
	}
	return fmt.Sprint(id)
}

func storeClear(e *env, dir string, jsonOut bool) error {
	removed, err := store.Clear(dir)
	if errors.Is(err, fs.ErrNotExist) && removed == nil {
		if jsonOut {
			return printJSON(e, map[string]any{"store": dir, "removed": []string{}})
		}
		fmt.Fprintf(e.stdout, "store %s does not exist: nothing to clear\n", dir)
		return nil
	}
	if jsonOut {
		if removed == nil {
			removed = []string{}
		}
		if jerr := printJSON(e, map[string]any{"store": dir, "removed": removed}); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintf(e.stdout, "removed %s from %s\n", plural(len(removed), "file"), dir)
	}
	if err == nil {
		return nil
	}
	// One line per file that stayed, then what to do.
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, x := range errs[:len(errs)-1] {
		fmt.Fprintf(e.stderr, "ebpfhost store: %v\n", x)
	}
	return storeErr(errs[len(errs)-1])
}

// storeForVerify adds the program types of a store to reg for ebpfhost
// verify. explicit is --store; without it the default store is read when
// it exists, and problems with it are warnings, not failures. It returns
// the stored program types added, by name, and the directory read ("" when
// none was).
func storeForVerify(e *env, reg *progtype.Registry, explicit string) (map[string]store.Entry, string, error) {
	dir := explicit
	if dir == "" {
		dir = store.Dir()
	}
	entries, err := store.List(dir)
	if err != nil {
		switch {
		case explicit == "" && errors.Is(err, fs.ErrNotExist) && entries == nil:
			return nil, "", nil
		case errors.Is(err, fs.ErrNotExist) && entries == nil:
			return nil, "", fmt.Errorf("store %s does not exist (create it with 'ebpfhost store export --store %s' on the host of the extension)", dir, dir)
		case explicit != "":
			return nil, "", storeErr(err)
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(e.stderr, "ebpfhost verify: warning: %s; ignoring it (--no-store ignores the store)\n", l)
		}
		if entries == nil {
			return nil, "", nil
		}
	}
	added, notes := store.AddTo(reg, entries)
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "ebpfhost verify: warning: %v\n", n)
	}
	stored := map[string]store.Entry{}
	for _, a := range added {
		if a.ProgramType != nil {
			stored[a.Name] = a
		}
	}
	return stored, dir, nil
}
