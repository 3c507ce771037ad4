package cli

import (
	"fmt"

	"encoding/json"
	"errors"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/store"
)

// myExtension is an extension no ebpfhost build hosts: the "mytype"
// program type of testdata/mytype.c and its hook. Its helper has an
// implementation, as a real extension's would; the store keeps only the
// prototype.
func myExtension() *core.Extension {
	info := &progtype.ProgramType{
		Name:            "mytype",
		GUID:            "3c5e1f0a-9b7d-4e2c-8a61-5d0f2b9c7e41",
		ID:              0x10077,
		SectionPrefixes: []string{"mytype"},
		Context: progtype.ContextDescriptor{
			Size: 32, Data: 0, End: 8, Meta: -1, PointerSize: 8,
			Writable: []progtype.Range{{Offset: 24, Size: 4}}, // verdict
			MaxData:  4096,
		},
		Helpers: []progtype.HelperProto{{
			ID: 0x10042, Name: "bpf_mytype_get_label", Ret: progtype.RetInteger,
			Args: []progtype.ArgType{progtype.ArgPtrToCtx, progtype.ArgPtrToWritableMem, progtype.ArgConstSize},
		}},
		ReturnMin: 0, ReturnMax: 1,
	}
	return &core.Extension{
		Name: "myext",
		ProgramTypes: []*core.ProgramType{{
			ProgramType: info,
			HelperFuncs: map[int32]interp.Helper{0x10042: func(vm *interp.VM, r1, r2, r3, r4, r5 uint64) uint64 { return 0 }},
		}},
		AttachTypes: []*core.AttachType{{AttachType: &progtype.AttachType{
			Name: "mytype_hook", GUID: "8d2a4b6c-1e3f-4a5b-9c7d-0e1f2a3b4c5d", ProgramType: "mytype", SectionPrefixes: []string{"mytype"},
		}}},
	}
}

func TestMytypeObject(t *testing.T) {
	clangtest.CheckObject(t, "testdata/mytype.c", "testdata/mytype.o")
}

// emptyDefaultStore points the default store at an empty directory, so
// that what the machine's /var/lib/ebpfhost/store holds does not matter.
func emptyDefaultStore(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "default-store")
	t.Setenv(store.EnvDir, dir)
	return dir
}

// An object for an extension this binary does not host fails to verify
// (unknown section) until that extension's program information is in the
// store; then the stored context descriptor, helper prototype and return
// range are what it is verified against.
func TestStoreExportThenVerify(t *testing.T) {
	emptyDefaultStore(t)
	dir := filepath.Join(t.TempDir(), "store")

	code, out, errOut := run(t, "", "verify", "testdata/mytype.o", "--program", "good")
	if code != 1 || !strings.Contains(out, `unknown section: no ebpfhost program type handles section "mytype"`) ||
		!strings.Contains(out, "run 'ebpfhost store export' on its host") {
		t.Fatalf("without the store: exit %d\n%s%s", code, out, errOut)
	}

	// The extension's host exports its program information.
	written, err := exportExtensions(dir, []*core.Extension{myExtension()})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 {
		t.Fatalf("wrote %+v", written)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{
			name: "verifies with the store",
			args: []string{"verify", "testdata/mytype.o", "--store", dir, "--program", "good"},
			want: []string{"good (section mytype, type mytype from the store): verified: 26 instructions"},
		},
		{
			name: "the stored context descriptor: read-only field",
			args: []string{"verify", "testdata/mytype.o", "--store", dir, "--program", "write_readonly"},
			code: 1,
			want: []string{"write_readonly (section mytype/readonly, type mytype from the store): REJECTED", "at ./mytype.c:42: ctx->flags = 1;"},
		},
		{
			name: "the stored return range",
			args: []string{"verify", "testdata/mytype.o", "--store", dir, "--program", "out_of_range"},
			code: 1,
			want: []string{"mytype programs return 0 to 1, but r0 may be"},
		},
		{
			name: "without --store, the store is not read when --no-store",
			args: []string{"verify", "testdata/mytype.o", "--no-store", "--program", "good"},
			code: 1,
			want: []string{`no ebpfhost program type handles section "mytype"`},
		},
		{
			name: "built-in types still verify with a store",
			args: []string{"verify", "testdata/verify.o", "--store", dir, "--program", "good"},
			want: []string{"good (section xdp, type xdp): verified"},
		},
		{
			name: "a missing store given explicitly",
			args: []string{"verify", "testdata/mytype.o", "--store", dir + "-missing"},
			code: 1,
			want: []string{"store " + dir + "-missing does not exist"},
		},
		{
			name: "store and no-store",
			args: []string{"verify", "testdata/mytype.o", "--store", dir, "--no-store"},
			code: 2,
			want: []string{"--store and --no-store contradict each other"},
		},
		{
			name: "the store is for the ebpfhost platform",
			args: []string{"verify", "testdata/mytype.o", "--store", dir, "--platform", "linux"},
			code: 2,
			want: []string{"--store applies to --platform ebpfhost"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tc.args...)
			all := out + errOut
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", all)
			}
		})
	}

	// The default store ($EBPFHOST_STORE here) is read without --store.
	t.Setenv(store.EnvDir, dir)
	code, js, errOut := run(t, "", "verify", "testdata/mytype.o", "--program", "good", "--json")
	var doc struct {
		Store    string
		Programs []struct {
			Name, Type, Stored string
			Verified           bool
		}
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("%v: %s %s", err, js, errOut)
	}
	if code != 0 || doc.Store != dir || len(doc.Programs) != 1 || !doc.Programs[0].Verified ||
		doc.Programs[0].Stored != filepath.Join(dir, "program-type.mytype.json") {
		t.Errorf("default store: exit %d, %+v\n%s", code, doc, errOut)
	}
}

func TestStoreCommand(t *testing.T) {
	emptyDefaultStore(t)
	dir := filepath.Join(t.TempDir(), "store")

	code, out, errOut := run(t, "", "store", "list", "--store", dir)
	if code != 0 || !strings.Contains(out, "does not exist: nothing has been exported there") {
		t.Errorf("list of a missing store: %d %s %s", code, out, errOut)
	}

	var nTypes, nAttach, nExt int
	for _, x := range builtin.New().Extensions() {
		nTypes, nAttach, nExt = nTypes+len(x.ProgramTypes), nAttach+len(x.AttachTypes), nExt+1
	}
	code, out, errOut = run(t, "", "store", "export", "--store", dir)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	for _, w := range []string{
		"program type xdp (extension xdp): " + filepath.Join(dir, "program-type.xdp.json"),
		"program type process (extension process): " + filepath.Join(dir, "program-type.process.json"),
		"attach type process (extension process): " + filepath.Join(dir, "attach-type.process.json"),
		fmt.Sprintf("exported %d program types and %d attach types of %d extensions to %s", nTypes, nAttach, nExt, dir),
	} {
		if !strings.Contains(out, w) {
			t.Errorf("export output lacks %q:\n%s", w, out)
		}
	}
	if _, err := exportExtensions(dir, []*core.Extension{myExtension()}); err != nil {
		t.Fatal(err)
	}

	code, out, errOut = run(t, "", "store", "list", "--store", dir)
	if code != 0 {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	for _, w := range []string{
		"store " + dir + ":",
		"program type GUID",
		"mytype 3c5e1f0a-9b7d-4e2c-8a61-5d0f2b9c7e41 65655 (0x10077) mytype 1 myext",
		"process 22ea7b37-1043-4d0d-b60d-cafa1c7b638e 65537 (0x10001) process 3 process",
		"xdp f1832a85-85d5-45b0-98a0-7069d63013b0 6 xdp,xdp.frags 0 xdp",
		"attach type GUID program type sections extension",
		"mytype_hook 8d2a4b6c-1e3f-4a5b-9c7d-0e1f2a3b4c5d mytype mytype myext",
	} {
		// Column widths follow the longest entry: compare words.
		if !strings.Contains(strings.Join(strings.Fields(out), " "), w) {
			t.Errorf("list output lacks %q:\n%s", w, out)
		}
	}

	code, js, errOut := run(t, "", "store", "list", "--store", dir, "--json")
	var doc struct {
		Store        string
		ProgramTypes []struct {
			File, Kind, Extension string
			Format                int
			ProgramType           struct {
				Name    string
				Context struct {
					Size, Meta int
					MaxData    int `json:"max_data"`
				}
				Helpers []struct {
					ID     int
					Name   string
					Return string
					Args   []string
				}
			} `json:"program_type"`
		} `json:"program_types"`
		AttachTypes []json.RawMessage `json:"attach_types"`
		Errors      []string
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if code != 0 || doc.Store != dir || len(doc.ProgramTypes) != nTypes+1 || len(doc.AttachTypes) != nAttach+1 || len(doc.Errors) != 0 {
		t.Errorf("list --json: exit %d %+v", code, doc)
	}
	my := doc.ProgramTypes[0]
	for _, p := range doc.ProgramTypes {
		if p.ProgramType.Name == "mytype" {
			my = p
		}
	}
	if my.ProgramType.Name != "mytype" || my.Format != 1 || my.Kind != "program_type" || my.Extension != "myext" ||
		my.ProgramType.Context.Size != 32 || my.ProgramType.Context.Meta != -1 || my.ProgramType.Context.MaxData != 4096 ||
		len(my.ProgramType.Helpers) != 1 || my.ProgramType.Helpers[0].ID != 0x10042 ||
		strings.Join(my.ProgramType.Helpers[0].Args, ",") != "ptr_to_ctx,ptr_to_writable_mem,const_size" {
		t.Errorf("mytype in JSON: %+v", my)
	}

	// A malformed file: list shows the rest and names it; verify with
	// --store refuses; the default store only warns.
	bad := filepath.Join(dir, "program-type.broken.json")
	if err := os.WriteFile(bad, []byte(`{"format": 9}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "", "store", "list", "--store", dir)
	if code != 1 || !strings.Contains(out, "mytype") || !strings.Contains(errOut, "store file "+bad+": format version 9 is newer") {
		t.Errorf("list with a bad file: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "", "verify", "testdata/mytype.o", "--program", "good", "--store", dir)
	if code != 1 || !strings.Contains(errOut, "store file "+bad) {
		t.Errorf("verify --store with a bad file: %d\n%s%s", code, out, errOut)
	}
	t.Setenv(store.EnvDir, dir)
	code, out, errOut = run(t, "", "verify", "testdata/mytype.o", "--program", "good")
	if code != 0 || !strings.Contains(errOut, "warning: store file "+bad) || !strings.Contains(out, "verified") {
		t.Errorf("verify with a bad file in the default store: %d\n%s%s", code, out, errOut)
	}

	// Clear removes our files only.
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("mine"), 0o644)
	code, out, errOut = run(t, "", "store", "clear", "--store", dir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("removed %d files from %s", nTypes+nAttach+3, dir)) { // ours, mytype's two and the bad file
		t.Errorf("clear: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("clear removed a file that is not the store's: %v", err)
	}
	code, out, _ = run(t, "", "store", "list", "--store", dir)
	if code != 0 || !strings.Contains(out, "store "+dir+" is empty") {
		t.Errorf("list after clear: %d %s", code, out)
	}
	code, js, _ = run(t, "", "store", "clear", "--store", dir+"-missing", "--json")
	if code != 0 || !strings.Contains(js, `"removed": []`) {
		t.Errorf("clear of a missing store: %d %s", code, js)
	}
}

// A stored type with a built-in name does not replace the built-in one.
func TestStoreBuiltinWins(t *testing.T) {
	emptyDefaultStore(t)
	dir := t.TempDir()
	fake := &progtype.ProgramType{Name: "xdp", ID: 6, SectionPrefixes: []string{"xdp"},
		Context: progtype.ContextDescriptor{Size: 8, Data: -1, End: -1, Meta: -1, PointerSize: 8}}
	if err := store.Export(dir, []*progtype.ProgramType{fake}, nil); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "verify", "testdata/verify.o", "--program", "good", "--store", dir)
	if code != 0 || !strings.Contains(out, "good (section xdp, type xdp): verified") ||
		!strings.Contains(errOut, "warning: program type xdp in "+filepath.Join(dir, "program-type.xdp.json")+": differs from the program type of that name this ebpfhost hosts; using the hosted one") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestStoreUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"store"}, "store takes one of export, list or clear"},
		{[]string{"store", "list", "extra"}, "store takes one of export, list or clear"},
		{[]string{"store", "frob"}, `unknown store command "frob"`},
	} {
		code, _, errOut := run(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
	code, out, _ := run(t, "", "store", "--help")
	if code != 0 || !strings.Contains(out, "Usage: ebpfhost store export|list|clear") || !strings.Contains(out, "--store DIR") {
		t.Errorf("help: %d %s", code, out)
	}
}

func TestStorePermissionMessage(t *testing.T) {
	err := storeErr(&fs.PathError{Op: "mkdir", Path: "/var/lib/ebpfhost/store", Err: syscall.EACCES})
	if !strings.Contains(err.Error(), "permission denied: run as root, or use --store DIR") {
		t.Errorf("%v", err)
	}
	if os.Geteuid() == 0 {
		t.Skip("running as root: cannot provoke permission denied")
	}
	parent := t.TempDir()
	os.Chmod(parent, 0o555)
	defer os.Chmod(parent, 0o755)
	code, _, errOut := run(t, "", "store", "export", "--store", filepath.Join(parent, "store"))
	if code != 1 || !strings.Contains(errOut, "creating the store directory "+filepath.Join(parent, "store")+": permission denied: run as root, or use --store DIR") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if !errors.Is(syscall.EACCES, fs.ErrPermission) {
		t.Error("EACCES is not ErrPermission")
	}
}
