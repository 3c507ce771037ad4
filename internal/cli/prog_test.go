package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
)

func TestProgObject(t *testing.T) {
	clangtest.CheckObject(t, "testdata/count.c", "testdata/count.o")
}

func TestProgList(t *testing.T) {
	code, out, errOut := run(t, "", "prog", "list", "testdata/count.o")
	if code != 0 || !strings.Contains(out, "count                    section xdp              type xdp") ||
		!strings.Contains(out, "counts                   array            key 4, value 8, 4 entries") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
	_, js, _ := run(t, "", "prog", "list", "--json", "testdata/count.o")
	var doc struct {
		Programs []struct{ Name, Section, Type string }
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || len(doc.Programs) != 2 {
		t.Errorf("json: %v %s", err, js)
	}
}

func TestProgRun(t *testing.T) {
	code, out, errOut := run(t, "", "prog", "run", "testdata/count.o", "--program", "count", "--data-hex", "01 02", "--maps", "--trace")
	for _, want := range []string{
		"count (section xdp, type xdp): r0 = 2 (0x2) XDP_PASS",
		"data_out: aa02",
		"bpf_trace_printk: key 1",
		"map counts:\n  00000000: 0000000000000000\n  01000000: 0100000000000000\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\nexit %d\n%s%s", want, code, out, errOut)
		}
	}
	code, js, errOut := run(t, "", "prog", "run", "testdata/count.o", "--program", "count", "--json", "--repeat", "5", "--checked")
	var doc struct {
		R0     uint64 `json:"r0"`
		Repeat int    `json:"repeat"`
	}
	if err := json.Unmarshal([]byte(js), &doc); code != 0 || err != nil || doc.R0 != 1 || doc.Repeat != 5 {
		t.Errorf("json (empty packet is dropped): %d %v %s %s", code, err, js, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"prog", "run", "testdata/count.o"}, 1, "several programs match; choose one with --section or --program"},
		{[]string{"prog", "run", "testdata/count.o", "--program", "nope"}, 1, "no program matches (programs: count (section xdp), second (section xdp))"},
		{[]string{"prog", "run", "testdata/disasm.c"}, 1, "not an ELF file"},
		{[]string{"prog", "run", "testdata/count.o", "--repeat", "0"}, 2, "--repeat must be at least 1"},
		{[]string{"prog", "frob"}, 2, "unknown prog subcommand"},
		{[]string{"prog"}, 2, "prog needs a subcommand"},
	} {
		code, _, errOut := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, errOut)
		}
	}
	if code, out, _ := run(t, "", "prog", "--help"); code != 0 || !strings.Contains(out, "prog run OBJ") {
		t.Errorf("prog --help: %d %s", code, out)
	}
}
