package progtype

import (
	"strings"
	"testing"
)

func TestRegistryForSection(t *testing.T) {
	r := NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Register(&ProgramType{Name: "xdp", ID: 6, SectionPrefixes: []string{"xdp"}}))
	must(r.Register(&ProgramType{Name: "xdpfrags", ID: 7, SectionPrefixes: []string{"xdp/frags"}}))
	must(r.Register(&ProgramType{Name: "file", ID: 0x10002, SectionPrefixes: []string{"file/"}}))
	for _, tc := range []struct{ section, want string }{
		{"xdp", "xdp"}, {"xdp/foo", "xdp"}, {"xdp/frags", "xdpfrags"}, {"xdp/frags/x", "xdpfrags"},
		{"xdpx", ""}, {"file/pre", "file"}, {"file/", "file"}, {"file", ""}, {"process", ""},
	} {
		name := ""
		if got, ok := r.ForSection(tc.section); ok {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("ForSection(%q) = %q, want %q", tc.section, name, tc.want)
		}
	}
	if got := strings.Join(r.Sections(), " "); got != "file/ xdp xdp/frags" {
		t.Errorf("Sections() = %q", got)
	}
	r.Unregister("xdpfrags")
	if got, _ := r.ForSection("xdp/frags"); got == nil || got.Name != "xdp" {
		t.Errorf("after unregistering: %v", got)
	}
}

func TestRegistryConflicts(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(&ProgramType{Name: "a", ID: 1, GUID: "g", SectionPrefixes: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    *ProgramType
		want string
	}{
		{&ProgramType{Name: "a", ID: 2, SectionPrefixes: []string{"b"}}, "already registered"},
		{&ProgramType{Name: "b", ID: 1, SectionPrefixes: []string{"b"}}, "id 1"},
		{&ProgramType{Name: "b", ID: 2, GUID: "g", SectionPrefixes: []string{"b"}}, "GUID"},
		{&ProgramType{Name: "b", ID: 2, SectionPrefixes: []string{"a"}}, "already claimed"},
		{&ProgramType{Name: "", ID: 2, SectionPrefixes: []string{"c"}}, "needs a name"},
	} {
		if err := r.Register(tc.t); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%+v) = %v, want %q", tc.t, err, tc.want)
		}
	}
}

func TestHelperPrototypes(t *testing.T) {
	typ := &ProgramType{Name: "p", Helpers: []HelperProto{{ID: 0x10000, Name: "own", Ret: RetInteger}}}
	if h, ok := typ.Helper(0x10000); !ok || h.Name != "own" {
		t.Error("type-specific helper not found")
	}
	if h, ok := typ.Helper(HelperMapLookupElem); !ok || h.Ret != RetPtrToMapValueOrNull || h.Args[0] != ArgPtrToMap {
		t.Errorf("bpf_map_lookup_elem: %+v", h)
	}
	if _, ok := typ.Helper(9999); ok {
		t.Error("unknown helper found")
	}
	seen := map[int32]bool{}
	for _, h := range GeneralHelpers() {
		if seen[h.ID] {
			t.Errorf("helper id %d twice", h.ID)
		}
		seen[h.ID] = true
		if len(h.Args) > 5 || !strings.HasPrefix(h.Name, "bpf_") {
			t.Errorf("bad prototype %+v", h)
		}
		if h.ID >= FirstTypeSpecificHelp {
			t.Errorf("general helper %s in the type-specific range", h.Name)
		}
	}
	if HelperMemcpyS != 0x8000+22 {
		t.Errorf("memcpy_s id %#x", HelperMemcpyS)
	}
}
