package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/interp"
)

// suiteDir holds the bpf_conformance suite's test files (MIT, see
// testdata/LICENSE), copied verbatim.
const suiteDir = "testdata/tests"

// wantFiles is the size of the suite; the test fails if files go missing.
const wantFiles = 313

func suite(t testing.TB) []*Test {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(suiteDir, "*.data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != wantFiles {
		t.Fatalf("found %d conformance files in %s, want %d", len(files), suiteDir, wantFiles)
	}
	var tests []*Test
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := Parse(filepath.Base(f), string(text))
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, tc)
	}
	return tests
}

// TestConformance runs every file of the suite in each execution mode.
func TestConformance(t *testing.T) {
	modes := []struct {
		name string
		opts interp.Options
	}{
		{"fast", interp.Options{}},
		{"checked", interp.Options{Checked: true}},
		{"budget", interp.Options{Budget: 1 << 20}},
		{"checked+budget", interp.Options{Checked: true, Budget: 1 << 20}},
	}
	tests := suite(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			passed := 0
			for _, tc := range tests {
				if err := tc.Check(m.opts); err != nil {
					t.Errorf("%s: %v", tc.Name, err)
					continue
				}
				passed++
			}
			t.Logf("%s mode: %d of %d conformance files pass", m.name, passed, len(tests))
		})
	}
}

func TestParseSections(t *testing.T) {
	tc, err := Parse("x.data", strings.Join([]string{
		"# comment",
		"-- asm",
		"mov %r0, %r2",
		"exit",
		"-- mem",
		"00 01",
		"02",
		"-- result",
		"0x3",
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !tc.HasResult || tc.Result != 3 || len(tc.Memory) != 3 {
		t.Fatalf("parsed %+v", tc)
	}
	if err := tc.Check(interp.Options{Checked: true}); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{
		"-- result\n0x1\n",           // no program
		"-- asm\nexit\n-- mem\nzz\n", // bad memory
		"-- raw\n0xqq\n",             // bad raw word
		"-- asm\nexit\n-- result\nfoo\n",
	} {
		if _, err := Parse("bad.data", text); err == nil {
			t.Errorf("Parse(%q) succeeded", text)
		}
	}
}
