package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
)

func TestVerifyObject(t *testing.T) {
	clangtest.CheckObject(t, "testdata/verify.c", "testdata/verify.o")
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{
			name: "accepts",
			args: []string{"verify", "testdata/verify.o", "--program", "good"},
			want: []string{"good (section xdp, type xdp): verified: 13 instructions"},
		},
		{
			name: "whole object with one bad program",
			args: []string{"verify", "testdata/count.o"},
			want: []string{"count (section xdp, type xdp): verified", "second (section xdp, type xdp): verified"},
		},
		{
			name: "rejects with instruction, source line, reason and registers",
			args: []string{"verify", "testdata/verify.o", "--program", "unchecked"},
			code: 1,
			want: []string{
				"unchecked (section xdp, type xdp): REJECTED after 7 steps",
				"instruction 7: ldxdw %r1, [%r0]",
				"at ./verify.c:41: *n += 1;",
				"possible NULL dereference: r0 may be NULL here: the result of bpf_map_lookup_elem (./verify.c:40:",
				"r0 = map_value_or_null(counts, value 8 bytes, off 0)",
			},
			not: []string{"the failing path"},
		},
		{
			name: "log shows the failing path",
			args: []string{"verify", "testdata/verify.o", "--program", "unchecked", "--log"},
			code: 1,
			want: []string{"the failing path:", "call 1 (bpf_map_lookup_elem)"},
		},
		{
			name: "kprobe is not an ebpfhost type",
			args: []string{"verify", "testdata/verify.o", "--section", "kprobe/do_sys_openat2"},
			code: 1,
			want: []string{`unknown section: no ebpfhost program type handles section "kprobe/do_sys_openat2" (known section prefixes: `},
		},
		{
			name: "kprobe verifies against Linux",
			args: []string{"verify", "testdata/verify.o", "--platform", "linux", "--section", "kprobe/do_sys_openat2"},
			want: []string{"probe (section kprobe/do_sys_openat2, type kprobe): verified"},
		},
		{
			name: "unknown section on Linux too",
			args: []string{"verify", "testdata/verify.o", "--platform", "linux", "--program", "odd"},
			code: 1,
			want: []string{`no linux program type handles section "frobnicate"`},
		},
		{
			name: "nothing matches",
			args: []string{"verify", "testdata/verify.o", "--program", "nope"},
			code: 1,
			want: []string{`no program matches --section "" --program "nope"`},
		},
		{
			name: "bad platform",
			args: []string{"verify", "testdata/verify.o", "--platform", "windows"},
			code: 2,
			want: []string{`unknown platform "windows" (ebpfhost or linux)`},
		},
		{
			name: "not an ELF file",
			args: []string{"verify", "testdata/verify.c"},
			code: 1,
			want: []string{"not an ELF file"},
		},
		{
			name: "no file",
			args: []string{"verify"},
			code: 2,
			want: []string{"verify takes one object file"},
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
			for _, w := range tc.not {
				if strings.Contains(all, w) {
					t.Errorf("output has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", all)
			}
		})
	}
}

func TestVerifyJSON(t *testing.T) {
	code, js, errOut := run(t, "", "verify", "testdata/verify.o", "--platform", "linux", "--json")
	if code != 1 {
		t.Errorf("exit %d, want 1 (odd and unchecked are rejected): %s", code, errOut)
	}
	var doc struct {
		File, Platform string
		Programs       []struct {
			Name, Section, Type string
			Verified            bool
			Instructions, Steps int
			Error               *struct {
				Kind, Reason, Source string
				Instruction          int
				Registers            []string
			}
		}
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, js)
	}
	got := map[string]bool{}
	for _, p := range doc.Programs {
		got[p.Name] = p.Verified
		if p.Name == "unchecked" {
			e := p.Error
			if e == nil || e.Kind != "possible NULL dereference" || e.Instruction != 7 ||
				!strings.HasPrefix(e.Source, "./verify.c:41") || len(e.Registers) == 0 {
				t.Errorf("unchecked's error: %+v", e)
			}
		}
	}
	want := map[string]bool{"good": true, "probe": true, "unchecked": false, "odd": false}
	for n, v := range want {
		if g, ok := got[n]; !ok || g != v {
			t.Errorf("%s: verified %v (present %v), want %v", n, g, ok, v)
		}
	}
}
