package verifier_test

//go:generate sh -c "cd testdata/corpus && for f in *.c; do clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../../../../include ${DOLLAR}(sed -n 's|^// clang: ||p' ${DOLLAR}f) -c ${DOLLAR}f -o ${DOLLAR}{f%.c}.o || exit 1; done"

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost"
	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
)

// The corpus: C programs in testdata/corpus (each file's header says
// whether it must verify, or why it must be rejected) and the assembly
// programs of asmCorpus. Programs that verify also run, in checked mode,
// on packets of every shape: a verified program must never make an access
// the checked interpreter refuses.

// includeFlags are the extra clang flags of the corpus (from its
// directory).
var includeFlags = []string{"-I", "../../../../include"}

// cCorpus lists the C sources of the corpus.
func cCorpus(tb testing.TB) []string {
	tb.Helper()
	srcs, err := filepath.Glob("testdata/corpus/*.c")
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(srcs)
	if len(srcs) == 0 {
		tb.Fatal("no C programs in testdata/corpus")
	}
	return srcs
}

func objectOf(src string) string { return strings.TrimSuffix(src, ".c") + ".o" }

func readExpect(tb testing.TB, src string) expectation {
	tb.Helper()
	text, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := parseExpect(string(text))
	if err != nil {
		tb.Fatalf("%s: %v", src, err)
	}
	return e
}

// TestCorpusObjectsUpToDate rebuilds every object of the C corpus and
// compares it with the committed one.
func TestCorpusObjectsUpToDate(t *testing.T) {
	for _, src := range cCorpus(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			flags := append(append([]string(nil), includeFlags...), readExpect(t, src).ClangFlags...)
			clangtest.CheckObject(t, src, objectOf(src), flags...)
		})
	}
}

// TestCorpusC verifies every C program and checks the outcome against the
// file's expectation; the objects that verify are loaded into a checked
// runtime (which verifies them again, as every load does) and run.
func TestCorpusC(t *testing.T) {
	for _, src := range cCorpus(t) {
		name := strings.TrimSuffix(filepath.Base(src), ".c")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := readExpect(t, src)
			spec, err := loader.LoadFile(objectOf(src))
			if err != nil {
				t.Fatal(err)
			}
			progs := platformPrograms(t, spec, e.Platform)
			e.skipKnown(t, progs, verifier.Options{MaxSteps: e.MaxSteps}, nil)
			// Every program must verify; or, for a file that expects a
			// rejection, the first one (in name order, as the runtime
			// loads them) that fails must fail as expected.
			for i, p := range progs {
				want := e
				if !e.accept() && i < len(progs)-1 {
					if _, err := verifier.Verify(p, nil); err == nil {
						want = expectation{}
					}
				}
				res := want.verify(t, p, verifier.Options{MaxSteps: e.MaxSteps})
				if !want.accept() {
					break
				}
				t.Logf("%s: %d instructions, %d steps, %d states kept, %d paths pruned", p.Name, res.Instructions, res.Steps, res.States, res.Pruned)
			}
			if e.MaxSteps != 0 || e.Platform != "" {
				return // the runtime would verify it with the full budget, or cannot run it
			}
			loadAndRun(t, objectOf(src), e)
		})
	}
}

// loadAndRun loads an object with the public API in checked mode: it must
// fail the same way the verifier did, or load and run every program
// cleanly on every test packet.
func loadAndRun(t *testing.T, obj string, e expectation) {
	t.Helper()
	rt, err := ebpfhost.New(&ebpfhost.Options{Checked: true, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	coll, err := rt.LoadFile(obj)
	if !e.accept() {
		var ve *verifier.Error
		if !errors.As(err, &ve) || ve.Kind != e.Kind {
			t.Fatalf("loading with ebpfhost: %v, want a %s rejection", err, e.Kind)
		}
		return
	}
	if err != nil {
		t.Fatalf("loading with ebpfhost: %v", err)
	}
	defer coll.Close()
	names := make([]string, 0, len(coll.Programs))
	for n := range coll.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := coll.Programs[n]
		t.Run("run/"+n, func(t *testing.T) {
			runClean(t, func(pkt []byte) error {
				_, err := p.TestRun(&ebpfhost.TestRunOptions{Data: pkt})
				return err
			})
		})
	}
}

// TestCorpusCounts checks the size and balance of the corpus and logs
// its totals.
func TestCorpusCounts(t *testing.T) {
	var cAccept, cReject, aAccept, aReject, known int
	kinds := map[verifier.Kind]int{}
	for _, src := range cCorpus(t) {
		e := readExpect(t, src)
		if e.accept() {
			cAccept++
		} else {
			cReject++
			kinds[e.Kind]++
		}
		if e.Known != "" {
			known++
		}
	}
	for _, c := range asmCorpus {
		if c.expect.accept() {
			aAccept++
		} else {
			aReject++
			kinds[c.expect.Kind]++
		}
		if c.expect.Known != "" {
			known++
		}
	}
	// Every kind of rejection the verifier exists for has cases.
	for _, k := range []verifier.Kind{
		verifier.KindOutOfBounds, verifier.KindReadOnly, verifier.KindUninitRegister, verifier.KindUninitStack,
		verifier.KindBadPointer, verifier.KindUnbounded, verifier.KindNullDeref, verifier.KindUnreleased,
		verifier.KindHelperArg, verifier.KindUnknownHelper, verifier.KindInfiniteLoop, verifier.KindTooComplex,
		verifier.KindCallDepth, verifier.KindReturnValue, verifier.KindPointerLeak, verifier.KindUnreachable,
		verifier.KindBadJump, verifier.KindFallOff, verifier.KindUnsupported,
	} {
		if kinds[k] == 0 {
			t.Errorf("no corpus program is rejected as %q", k)
		}
	}
	accept, reject := cAccept+aAccept, cReject+aReject
	total := accept + reject
	t.Logf("corpus: %d programs: C %d (%d accept, %d reject), assembly %d (%d accept, %d reject); %d accept, %d reject in all; %d known issues",
		total, cAccept+cReject, cAccept, cReject, aAccept+aReject, aAccept, aReject, accept, reject, known)
	if total < 80 {
		t.Errorf("the corpus has %d programs, want at least 80", total)
	}
	if accept*100 < total*45 || reject*100 < total*45 {
		t.Errorf("the corpus is unbalanced: %d accept, %d reject", accept, reject)
	}
	if cAccept+cReject < 45 {
		t.Errorf("the C corpus has %d programs, want at least 45", cAccept+cReject)
	}
}
