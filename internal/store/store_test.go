package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/progtype/linux"
)

// full is a program type with every field set to a value other than its
// zero, so that a field the store drops shows up in the round trip.
func full() *progtype.ProgramType {
	return &progtype.ProgramType{
		Name:            "full",
		GUID:            "01234567-89ab-cdef-0123-456789ABCDEF",
		ID:              0x10123,
		SectionPrefixes: []string{"full", "full/sub/"},
		Context: progtype.ContextDescriptor{
			Size: 64, Data: 8, End: 16, Meta: 24, PointerSize: 8,
			Writable: []progtype.Range{{Offset: 32, Size: 4}, {Offset: 40, Size: 16}},
			MaxData:  1 << 20,
		},
		Helpers: []progtype.HelperProto{
			{ID: 0x10000, Name: "bpf_full_one", Ret: progtype.RetPtrToAllocMemOrNull,
				Args: []progtype.ArgType{progtype.ArgPtrToCtx, progtype.ArgConstSize, progtype.ArgPtrToWritableMemOrNull, progtype.ArgConstSizeOrZero, progtype.ArgAnything}},
			{ID: 0x10001, Name: "bpf_full_two", Ret: progtype.RetVoid, ChangesPacket: true,
				Args: []progtype.ArgType{progtype.ArgPtrToMap, progtype.ArgPtrToMapKey}},
			{ID: -7, Name: "bpf_full_negative_id", Ret: progtype.RetInteger},
		},
		ReturnMin: -4095,
		ReturnMax: 1 << 40,
	}
}

func fullAttach() *progtype.AttachType {
	return &progtype.AttachType{
		Name: "full_hook", GUID: "fedcba98-7654-3210-fedc-ba9876543210", ProgramType: "full",
		SectionPrefixes: []string{"full/pre", "full/post"},
	}
}

// fieldPaths lists every field reachable from t (through structs, slices
// and pointers), as "Context.Writable.Offset".
func fieldPaths(t reflect.Type, prefix string, out map[string]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		fieldPaths(t.Elem(), prefix, out)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := prefix + f.Name
			out[p] = true
			fieldPaths(f.Type, p+".", out)
		}
	}
}

// setPaths records the fields of v that are non-zero somewhere.
func setPaths(v reflect.Value, prefix string, out map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setPaths(v.Elem(), prefix, out)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			setPaths(v.Index(i), prefix, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := prefix + f.Name
			if !v.Field(i).IsZero() {
				out[p] = true
			}
			setPaths(v.Field(i), p+".", out)
		}
	}
}

// TestFullCoversEveryField fails when progtype gains a field that full()
// does not set: add it to full(), to the store's wire format (and
// FormatVersion) and to this round trip.
func TestFullCoversEveryField(t *testing.T) {
	for _, v := range []any{full(), fullAttach()} {
		all, set := map[string]bool{}, map[string]bool{}
		fieldPaths(reflect.TypeOf(v), "", all)
		setPaths(reflect.ValueOf(v), "", set)
		for p := range all {
			if !set[p] {
				t.Errorf("%T: field %s is zero in the test value: set it, and make sure the store keeps it", v, p)
			}
		}
	}
}

func TestRoundTripEveryField(t *testing.T) {
	dir := t.TempDir()
	o := Origin{Extension: "fullext", ExportedBy: "store test"}
	written, err := ExportWith(dir, o, []*progtype.ProgramType{full()}, []*progtype.AttachType{fullAttach()})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 || written[0].File != filepath.Join(dir, "program-type.full.json") || written[1].File != filepath.Join(dir, "attach-type.full_hook.json") {
		t.Errorf("written: %+v", written)
	}
	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	p, a := entries[0], entries[1]
	if !reflect.DeepEqual(p.ProgramType, full()) {
		t.Errorf("program type after the round trip:\n got %+v\nwant %+v", p.ProgramType, full())
	}
	if !reflect.DeepEqual(a.AttachType, fullAttach()) {
		t.Errorf("attach type after the round trip:\n got %+v\nwant %+v", a.AttachType, fullAttach())
	}
	if p.Origin != o || a.Origin != o || p.Kind != KindProgramType || a.Kind != KindAttachType || p.Name != "full" || a.Name != "full_hook" {
		t.Errorf("entries: %+v %+v", p, a)
	}
	types, attachs, err := Load(dir)
	if err != nil || len(types) != 1 || len(attachs) != 1 || !reflect.DeepEqual(types[0], full()) {
		t.Errorf("Load: %v %v %v", types, attachs, err)
	}
	// Exporting what was loaded writes the same bytes.
	before, _ := os.ReadFile(p.File)
	if _, err := ExportWith(dir, o, types, attachs); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p.File)
	if string(before) != string(after) {
		t.Errorf("re-export changed the file:\n%s\n%s", before, after)
	}
}

// Every argument and return type survives by name.
func TestRoundTripEveryArgAndRetType(t *testing.T) {
	var args []progtype.ArgType
	for a := progtype.ArgType(0); !strings.HasPrefix(a.String(), "arg_type("); a++ {
		args = append(args, a)
	}
	var rets []progtype.RetType
	for r := progtype.RetType(0); !strings.HasPrefix(r.String(), "ret_type("); r++ {
		rets = append(rets, r)
	}
	pt := &progtype.ProgramType{Name: "enum", SectionPrefixes: []string{"enum"}, Context: progtype.ContextDescriptor{Data: -1, End: -1, Meta: -1}}
	for i, a := range args {
		pt.Helpers = append(pt.Helpers, progtype.HelperProto{ID: int32(0x10000 + i), Name: "h" + a.String(), Ret: rets[i%len(rets)], Args: []progtype.ArgType{a}})
	}
	dir := t.TempDir()
	if err := Export(dir, []*progtype.ProgramType{pt}, nil); err != nil {
		t.Fatal(err)
	}
	types, _, err := Load(dir)
	if err != nil || len(types) != 1 || !reflect.DeepEqual(types[0], pt) {
		t.Fatalf("got %+v, %v", types, err)
	}
	if len(args) < 16 || len(rets) < 4 {
		t.Errorf("only %d argument types and %d return types", len(args), len(rets))
	}
}

// The types ebpfhost ships, and Linux's, all round-trip.
func TestRoundTripShippedTypes(t *testing.T) {
	for name, reg := range map[string]*progtype.Registry{"builtin": builtin.Registry(), "linux": linux.Registry()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Export(dir, reg.Types(), reg.AttachTypes()); err != nil {
				t.Fatal(err)
			}
			types, attachs, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := reg.Types()
			if len(types) != len(want) || len(attachs) != len(reg.AttachTypes()) {
				t.Fatalf("%d types, %d attach types; want %d, %d", len(types), len(attachs), len(want), len(reg.AttachTypes()))
			}
			for i := range want {
				if !Equal(types[i], want[i]) {
					t.Errorf("%s:\n got %+v\nwant %+v", want[i].Name, types[i], want[i])
				}
			}
			for i, a := range reg.AttachTypes() {
				if !EqualAttach(attachs[i], a) {
					t.Errorf("attach %s: got %+v", a.Name, attachs[i])
				}
			}
		})
	}
}

func TestFileNames(t *testing.T) {
	for name, want := range map[string]string{
		"process":    "program-type.process.json",
		"xdp.frags":  "program-type.xdp.frags.json",
		"a/b c%":     "program-type.a%2Fb%20c%25.json",
		".hidden":    "program-type.%2Ehidden.json",
		"..":         "program-type.%2E..json",
		"Ünïcode-ok": "program-type.%C3%9Cn%C3%AFcode-ok.json",
	} {
		if got := FileName(KindProgramType, name); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
	// An odd name round-trips too.
	pt := full()
	pt.Name = "a/b c%"
	dir := t.TempDir()
	if err := Export(dir, []*progtype.ProgramType{pt}, nil); err != nil {
		t.Fatal(err)
	}
	types, _, err := Load(dir)
	if err != nil || len(types) != 1 || types[0].Name != "a/b c%" {
		t.Errorf("%v %v", types, err)
	}
}

func TestExportRefusesInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*progtype.ProgramType)
		want string
	}{
		{"no name", func(p *progtype.ProgramType) { p.Name = "" }, "has no name"},
		{"no sections", func(p *progtype.ProgramType) { p.SectionPrefixes = nil }, "no section prefixes"},
		{"bad guid", func(p *progtype.ProgramType) { p.GUID = "nope" }, `GUID "nope"`},
		{"data outside", func(p *progtype.ProgramType) { p.Context.Data = 60 }, "context field data at offset 60"},
		{"meta below -1", func(p *progtype.ProgramType) { p.Context.Meta = -2 }, "context field meta at offset -2"},
		{"end without data", func(p *progtype.ProgramType) { p.Context.Data = -1 }, "both or neither"},
		{"pointer size", func(p *progtype.ProgramType) { p.Context.PointerSize = 3 }, "pointer size 3"},
		{"writable outside", func(p *progtype.ProgramType) { p.Context.Writable[1].Size = 100 }, "writable context range at offset 40, size 100"},
		{"duplicate helper", func(p *progtype.ProgramType) { p.Helpers[1].ID = p.Helpers[0].ID }, "listed twice"},
		{"six args", func(p *progtype.ProgramType) {
			p.Helpers[0].Args = append(p.Helpers[0].Args, progtype.ArgAnything)
		}, "at most 5"},
		{"bad arg type", func(p *progtype.ProgramType) { p.Helpers[0].Args[0] = 200 }, "unknown helper argument type 200"},
		{"empty return range", func(p *progtype.ProgramType) { p.ReturnMin, p.ReturnMax = 2, 1 }, "return range [2, 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := full()
			tc.mod(pt)
			dir := t.TempDir()
			err := Export(dir, []*progtype.ProgramType{pt}, []*progtype.AttachType{fullAttach()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if des, _ := os.ReadDir(dir); len(des) != 0 {
				t.Errorf("something was written: %v", des)
			}
		})
	}
}

// write stores a file's text as it is.
func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodFile = `{
  "format": 1,
  "kind": "program_type",
  "extension": "x",
  "exported_by": "hand",
  "program_type": {
    "name": "mal",
    "guid": "",
    "id": 65600,
    "section_prefixes": ["mal"],
    "context": {"size": 16, "data": 0, "end": 8, "meta": -1, "pointer_size": 8, "writable": [], "max_data": 0},
    "helpers": [{"id": 65536, "name": "bpf_mal", "return": "integer", "args": ["ptr_to_ctx"], "changes_packet": false}],
    "return_min": 0,
    "return_max": 0
  }
}
`

func TestMalformedFiles(t *testing.T) {
	// The hand-written file is good: the cases below each break one thing.
	dir := t.TempDir()
	write(t, dir, "program-type.mal.json", goodFile)
	if types, _, err := Load(dir); err != nil || len(types) != 1 || types[0].Context.Meta != -1 || types[0].Helpers[0].Args[0] != progtype.ArgPtrToCtx {
		t.Fatalf("the good file: %+v %v", types, err)
	}
	for _, tc := range []struct {
		name, text, want string
		file             string
	}{
		{name: "empty", text: "", want: "the file is empty"},
		{name: "truncated", text: goodFile[:len(goodFile)/2], want: "ends early (truncated?)"},
		{name: "syntax", text: strings.Replace(goodFile, `"kind"`, `kind`, 1), want: "invalid JSON at line 3, column 3"},
		{name: "not an object", text: `[1, 2]`, want: "the document is a JSON array; it must be an object"},
		{name: "no format", text: `{"kind": "program_type"}`, want: `no "format" field: not an ebpfhost store file`},
		{name: "newer format", text: strings.Replace(goodFile, `"format": 1`, `"format": 2`, 1), want: "format version 2 is newer than this ebpfhost reads (1)"},
		{name: "older format", text: strings.Replace(goodFile, `"format": 1`, `"format": 0`, 1), want: "unknown format version 0"},
		{name: "format not a number", text: strings.Replace(goodFile, `"format": 1`, `"format": "one"`, 1), want: `"format" is "one", not a version number`},
		{name: "unknown kind", text: strings.Replace(goodFile, `"kind": "program_type"`, `"kind": "map"`, 1), want: `unknown kind "map"`},
		{name: "wrong kind for file", text: strings.Replace(goodFile, `"kind": "program_type"`, `"kind": "attach_type"`, 1), want: `"attach_type" file needs an "attach_type" object`},
		{name: "missing meta", text: strings.Replace(goodFile, `"meta": -1, `, ``, 1), want: `missing field "program_type.context.meta"`},
		{name: "null size", text: strings.Replace(goodFile, `"size": 16`, `"size": null`, 1), want: `field "program_type.context.size" is null`},
		{name: "missing changes_packet", text: strings.Replace(goodFile, `, "changes_packet": false`, ``, 1), want: `missing field "program_type.helpers[0].changes_packet"`},
		{name: "null helper", text: strings.Replace(goodFile, `"helpers": [`, `"helpers": [null, `, 1), want: `program_type.helpers[0] is null`},
		{name: "unknown field", text: strings.Replace(goodFile, `"guid": ""`, `"guid": "", "sleepable": true`, 1), want: `unknown field "sleepable"`},
		{name: "wrong type", text: strings.Replace(goodFile, `"id": 65600`, `"id": "65600"`, 1), want: "program_type.id is a JSON string; it must be a non-negative whole number that fits uint32"},
		{name: "negative id", text: strings.Replace(goodFile, `"id": 65600`, `"id": -1`, 1), want: "program_type.id is a JSON number -1"},
		{name: "unknown arg type", text: strings.Replace(goodFile, `"ptr_to_ctx"`, `"ptr_to_sock"`, 1), want: `helper 65536 (bpf_mal), argument 1: unknown helper argument type "ptr_to_sock"`},
		{name: "unknown return type", text: strings.Replace(goodFile, `"return": "integer"`, `"return": "ptr_to_sock"`, 1), want: `unknown helper return type "ptr_to_sock"`},
		{name: "context field outside", text: strings.Replace(goodFile, `"end": 8`, `"end": 12`, 1), want: "context field end at offset 12 does not fit a 8-byte pointer in a 16-byte context"},
		{name: "no sections", text: strings.Replace(goodFile, `["mal"]`, `[]`, 1), want: "no section prefixes"},
		{name: "trailing data", text: goodFile + "{}", want: "invalid JSON at line 17, column 1: invalid character '{' after top-level value"},
		{name: "name does not match file", text: goodFile, file: "program-type.other.json", want: `holds program type "mal", which belongs in program-type.mal.json`},
		{name: "kind does not match file", text: goodFile, file: "attach-type.mal.json", want: "holds a program type, but its name says attach type"},
		{name: "too large", text: goodFile + strings.Repeat(" ", maxFileSize), want: "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := tc.file
			if file == "" {
				file = "program-type.mal.json"
			}
			path := write(t, dir, file, tc.text)
			// A good file beside the bad one still loads.
			if _, err := ExportWith(dir, Origin{}, []*progtype.ProgramType{full()}, nil); err != nil {
				t.Fatal(err)
			}
			entries, err := List(dir)
			if err == nil {
				t.Fatalf("no error; entries %+v", entries)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != path {
				t.Errorf("error %v does not name %s", err, path)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "store file "+path+": ") {
				t.Errorf("error\n  %v\nwant it to name the file and say %q", err, tc.want)
			}
			if len(entries) != 1 || entries[0].Name != "full" {
				t.Errorf("the good file was not loaded: %+v", entries)
			}
		})
	}
}

func TestListIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "README", "not ours")
	write(t, dir, "program-type.json", "not ours either: no name")
	write(t, dir, ".program-type.x.json.tmp-123", "half written")
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	entries, err := List(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("%v %v", entries, err)
	}
	if _, err := List(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
}

func TestClear(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"README", "program-type.json", "notes.json", ".program-type.x.json.tmp-new"}
	for _, k := range keep {
		write(t, dir, k, "user data")
	}
	old := write(t, dir, ".attach-type.x.json.tmp-old", "left by a crash")
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	if err := Export(dir, []*progtype.ProgramType{full()}, []*progtype.AttachType{fullAttach()}); err != nil {
		t.Fatal(err)
	}
	removed, err := Clear(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "attach-type.full_hook.json"), filepath.Join(dir, "program-type.full.json"), old}
	if !reflect.DeepEqual(removed, want) {
		t.Errorf("removed %v, want %v (attach types first)", removed, want)
	}
	var left []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		left = append(left, de.Name())
	}
	sort.Strings(keep)
	if !reflect.DeepEqual(left, keep) {
		t.Errorf("left %v, want %v", left, keep)
	}
	if _, err := Clear(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
}

// Readers never see a half-written file, however often writers replace it.
func TestConcurrentExportAndList(t *testing.T) {
	dir := t.TempDir()
	types := []*progtype.ProgramType{full()}
	big := full()
	big.Name = "big"
	big.ID++
	big.SectionPrefixes = []string{"big"}
	for i := 0; i < 200; i++ {
		big.SectionPrefixes = append(big.SectionPrefixes, fmt.Sprintf("big/%d/", i))
	}
	types = append(types, big)
	if err := Export(dir, types, nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := Export(dir, types, []*progtype.AttachType{fullAttach()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	reads := 0
	for time.Now().Before(deadline) {
		entries, err := List(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < 2 {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if e.Name == "big" && len(e.ProgramType.SectionPrefixes) != 201 {
				t.Fatalf("big has %d sections", len(e.ProgramType.SectionPrefixes))
			}
		}
		reads++
	}
	close(stop)
	wg.Wait()
	if reads == 0 {
		t.Error("no reads")
	}
	// No temporary file is left behind.
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if isTemp(de.Name()) {
			t.Errorf("left %s", de.Name())
		}
	}
}

func TestAddTo(t *testing.T) {
	dir := t.TempDir()
	xdpChanged := *builtin.Registry().Types()[len(builtin.Registry().Types())-1]
	if xdpChanged.Name != "xdp" {
		t.Fatalf("expected xdp last, got %s", xdpChanged.Name)
	}
	xdpChanged.ReturnMin, xdpChanged.ReturnMax = 0, 4
	proc, _ := builtin.Registry().ByName("process")
	clash := full()
	clash.Name = "clash"
	clash.SectionPrefixes = []string{"process"} // claimed by the built-in process type
	orphan := &progtype.AttachType{Name: "orphan", ProgramType: "nowhere"}
	procAttach, _ := builtin.Registry().AttachTypeByName("process")
	types := []*progtype.ProgramType{full(), &xdpChanged, proc, clash}
	attachs := []*progtype.AttachType{fullAttach(), orphan, procAttach}
	if err := Export(dir, types, attachs); err != nil {
		t.Fatal(err)
	}
	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := builtin.Registry()
	added, notes := AddTo(r, entries)
	var got []string
	for _, e := range added {
		got = append(got, e.Kind.String()+" "+e.Name)
	}
	if want := []string{"program type full", "attach type full_hook"}; !reflect.DeepEqual(got, want) {
		t.Errorf("added %v, want %v", got, want)
	}
	var msgs []string
	for _, n := range notes {
		msgs = append(msgs, n.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{
		"program type clash in " + filepath.Join(dir, "program-type.clash.json") + `: not used: program type "clash": section prefix "process" is already claimed by "process"`,
		"program type xdp in " + filepath.Join(dir, "program-type.xdp.json") + ": differs from the program type of that name this ebpfhost hosts; using the hosted one",
		`attach type orphan in ` + filepath.Join(dir, "attach-type.orphan.json") + `: not used: attach type "orphan": program type "nowhere" is not registered`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("notes lack %q:\n%s", w, all)
		}
	}
	if len(notes) != 3 {
		t.Errorf("%d notes (the identical process types are not notes):\n%s", len(notes), all)
	}
	if x, _ := r.ByName("xdp"); x.ReturnMax != 0 {
		t.Error("the stored xdp replaced the built-in one")
	}
	if ft, ok := r.ForSection("full/sub/x"); !ok || ft.Name != "full" {
		t.Error("the stored type does not select its sections")
	}
}

func TestDir(t *testing.T) {
	t.Setenv(EnvDir, "")
	if Dir() != DefaultDir {
		t.Errorf("Dir() = %s", Dir())
	}
	t.Setenv(EnvDir, "/tmp/elsewhere")
	if Dir() != "/tmp/elsewhere" {
		t.Errorf("Dir() = %s", Dir())
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions are not enforced")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	err := Export(filepath.Join(dir, "store"), []*progtype.ProgramType{full()}, nil)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "creating the store directory") {
		t.Errorf("%v", err)
	}
	err = Export(dir, []*progtype.ProgramType{full()}, nil)
	if !errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), ".tmp-") {
		t.Errorf("%v", err)
	}
}
