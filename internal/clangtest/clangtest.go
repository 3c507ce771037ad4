// Package clangtest keeps the compiled eBPF objects committed next to their C
// sources honest: when clang is installed, tests rebuild each object and
// compare it with the committed one.
package clangtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// Flags are the clang flags every committed object is built with. The
// compilation directory is recorded as "." so objects do not depend on
// where the repository is checked out.
var Flags = []string{"-O2", "-g", "-target", "bpf", "-fdebug-compilation-dir=."}

// Command returns the command that builds obj from src, run in src's
// directory; documentation and go:generate lines show the same. extra flags
// (such as "-I", "../include") follow Flags.
func Command(src, obj string, extra ...string) []string {
	args := append([]string{"clang"}, Flags...)
	args = append(args, extra...)
	return append(args, "-c", filepath.Base(src), "-o", filepath.Base(obj))
}

var versionRE = regexp.MustCompile(`clang version [0-9][^\s)\x00]*`)

// CheckObject rebuilds obj from src with clang and fails the test if the
// result differs from the committed object. It skips, saying why, when clang
// is missing or is not the version that built the committed object (code
// generation differs between versions, so only the same version can be
// compared byte for byte). extra flags (such as "-I", "../include", relative
// to src's directory) follow Flags, as in Command.
func CheckObject(t *testing.T, src, obj string, extra ...string) {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang is not installed; cannot rebuild", obj)
	}
	committed, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clang, "--version").Output()
	if err != nil {
		t.Fatalf("clang --version: %v", err)
	}
	local := versionRE.Find(out)
	built := versionRE.Find(committed)
	if local == nil || !bytes.Equal(local, built) {
		t.Skipf("%s was built with %q, the local clang is %q; rebuild it with: %v", obj, built, local, Command(src, obj, extra...))
	}
	tmp := filepath.Join(t.TempDir(), filepath.Base(obj))
	// Build from the source's directory under the source's own name so the
	// debug info matches the committed object's.
	args := append(append(append([]string(nil), Flags...), extra...), "-c", filepath.Base(src), "-o", tmp)
	cmd := exec.Command(clang, args...)
	cmd.Dir = filepath.Dir(src)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling %s: %v\n%s", src, err, msg)
	}
	fresh, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Errorf("%s is out of date with %s; rebuild it (in %s): %v", obj, src, filepath.Dir(src), Command(src, obj, extra...))
	}
}
