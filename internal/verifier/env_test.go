package verifier_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/xdp"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/progtype/linux"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// This file holds what the corpus, the fuzz target and the benchmarks
// share: the expectations corpus programs declare, the translation of a
// loaded object into what the verifier checks, the maps assembly programs
// refer to, and the packets accepted programs are run on.

// kinds names the Kind constants as corpus files spell them.
var kinds = map[string]verifier.Kind{
	"KindUninitRegister": verifier.KindUninitRegister,
	"KindUninitStack":    verifier.KindUninitStack,
	"KindOutOfBounds":    verifier.KindOutOfBounds,
	"KindNullDeref":      verifier.KindNullDeref,
	"KindBadPointer":     verifier.KindBadPointer,
	"KindUnbounded":      verifier.KindUnbounded,
	"KindReadOnly":       verifier.KindReadOnly,
	"KindPointerLeak":    verifier.KindPointerLeak,
	"KindHelperArg":      verifier.KindHelperArg,
	"KindUnknownHelper":  verifier.KindUnknownHelper,
	"KindUnreleased":     verifier.KindUnreleased,
	"KindInfiniteLoop":   verifier.KindInfiniteLoop,
	"KindTooComplex":     verifier.KindTooComplex,
	"KindCallDepth":      verifier.KindCallDepth,
	"KindReturnValue":    verifier.KindReturnValue,
	"KindUnreachable":    verifier.KindUnreachable,
	"KindBadJump":        verifier.KindBadJump,
	"KindFallOff":        verifier.KindFallOff,
	"KindUnsupported":    verifier.KindUnsupported,
}

// expectation is what a corpus program must do: verify (Kind empty), or
// be rejected for Kind with a reason containing Reason. Known, when set,
// names a verifier bug that makes the case fail today; the case is
// skipped with that text until the bug is fixed.
type expectation struct {
	Kind   verifier.Kind
	Reason string
	Known  string
	// MaxSteps, when set, lowers the verifier's budget of processed
	// instructions, for programs it can only reject by exhausting it.
	MaxSteps int
	// Platform "linux" verifies against Linux's program types, chosen by
	// section (for what only they have: return ranges, writable context
	// fields); the runtime cannot run those programs.
	Platform string
	// ClangFlags are extra flags the object is built with ("// clang:
	// -mcpu=v3"), after the corpus's own.
	ClangFlags []string
}

func (e expectation) accept() bool { return e.Kind == "" }

func (e expectation) String() string {
	if e.accept() {
		return "accept"
	}
	return fmt.Sprintf("reject %s %q", e.Kind, e.Reason)
}

// parseExpect reads the header of a corpus file: a line
//
//	// expect: accept
//	// expect: reject KindNullDeref may be NULL
//
// and optionally
//
//	// known: what the verifier gets wrong
//	// maxsteps: 20000
//
// ("#" starts the comment in assembly files).
func parseExpect(text string) (expectation, error) {
	var e expectation
	found := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimSpace(strings.TrimLeft(line, "/#"))
		if rest, ok := strings.CutPrefix(line, "expect:"); ok {
			fields := strings.Fields(rest)
			switch {
			case len(fields) == 1 && fields[0] == "accept":
			case len(fields) >= 3 && fields[0] == "reject":
				k, ok := kinds[fields[1]]
				if !ok {
					return e, fmt.Errorf("unknown kind %q", fields[1])
				}
				e.Kind = k
				e.Reason = strings.Join(fields[2:], " ")
			default:
				return e, fmt.Errorf("bad expectation %q: want \"accept\" or \"reject KindX reason\"", line)
			}
			found = true
		}
		if rest, ok := strings.CutPrefix(line, "known:"); ok {
			e.Known = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(line, "platform:"); ok {
			e.Platform = strings.TrimSpace(rest)
			if e.Platform != "linux" {
				return e, fmt.Errorf("unknown platform %q", e.Platform)
			}
		}
		if rest, ok := strings.CutPrefix(line, "clang:"); ok {
			e.ClangFlags = strings.Fields(rest)
		}
		if rest, ok := strings.CutPrefix(line, "maxsteps:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || n <= 0 {
				return e, fmt.Errorf("bad maxsteps %q", rest)
			}
			e.MaxSteps = n
		}
	}
	if !found {
		return e, errors.New("no \"expect:\" line")
	}
	return e, nil
}

// knownFlag runs the cases marked known instead of skipping them, to see
// which are fixed: go test -run TestCorpus ./internal/verifier -known
var knownFlag = flag.Bool("known", false, "run the corpus cases marked as known verifier issues and report which are fixed")

// outcome verifies a program the way the runtime does (no log) and says
// whether the result meets the expectation, and what it was.
func (e expectation) outcome(p *verifier.Program, opts verifier.Options) (res *verifier.Result, ok bool, got string) {
	res, err := verifier.Verify(p, &opts)
	if err == nil {
		return res, e.accept(), "accepted"
	}
	var ve *verifier.Error
	if !errors.As(err, &ve) {
		return res, false, fmt.Sprintf("failed without a *verifier.Error: %v", err)
	}
	ok = !e.accept() && ve.Kind == e.Kind && strings.Contains(ve.Reason, e.Reason)
	return res, ok, fmt.Sprintf("rejected as %s: %v", ve.Kind, err)
}

// verify checks that a program meets the expectation; on a mismatch it
// verifies again with a log, to show the path that went wrong.
func (e expectation) verify(t *testing.T, p *verifier.Program, opts verifier.Options) *verifier.Result {
	t.Helper()
	res, ok, got := e.outcome(p, opts)
	switch {
	case ok && !e.accept():
		t.Logf("%s, as expected", got)
		return res
	case ok:
		return res
	}
	t.Errorf("%s; want %s", got, e)
	opts.Log = true
	var ve *verifier.Error
	if _, err := verifier.Verify(p, &opts); errors.As(err, &ve) {
		t.Log(strings.Join(ve.Log, "\n"))
	}
	t.FailNow()
	return nil
}

// skipKnown skips a case marked as a known verifier issue. With -known it
// first checks the case: a case that now meets its expectation fails the
// test (the mark should go), and one that still does not is logged, with
// what happens when an unsafe program it accepts runs (run, when set,
// loads and runs it in checked mode).
func (e expectation) skipKnown(t *testing.T, ps []*verifier.Program, opts verifier.Options, run func(t *testing.T)) {
	t.Helper()
	if e.Known == "" {
		return
	}
	if !*knownFlag {
		t.Skip("known verifier issue: " + e.Known)
	}
	fixed := true
	for i, p := range ps {
		want := e
		if !e.accept() && i < len(ps)-1 {
			want = expectation{}
		}
		var ok bool
		var got string
		func() {
			defer func() {
				if r := recover(); r != nil {
					ok, got = false, fmt.Sprintf("panicked: %v", r)
				}
			}()
			_, ok, got = want.outcome(p, opts)
			if !ok && !e.accept() && i < len(ps)-1 {
				_, ok, got = e.outcome(p, opts)
			}
		}()
		t.Logf("%s: %s", p.Name, got)
		if !ok {
			fixed = false
		}
	}
	if fixed {
		t.Fatalf("marked known (%s), but the verifier now meets the expectation (%s): remove the mark", e.Known, e)
	}
	if !e.accept() && run != nil {
		run(t)
	}
	t.Skip("known verifier issue, still present: " + e.Known)
}

// verifierPrograms describes each program of an object to the verifier
// as the runtime does (xdp type, maps in reference order, frozen .rodata
// values as constants), in name order, the order the runtime loads them.
func verifierPrograms(spec *loader.CollectionSpec) []*verifier.Program {
	return platformPrograms(nil, spec, "")
}

// platformPrograms is verifierPrograms for a platform: "" is ebpfhost's
// xdp type, "linux" the Linux type each program's section selects.
func platformPrograms(tb testing.TB, spec *loader.CollectionSpec, platform string) []*verifier.Program {
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*verifier.Program
	for _, n := range names {
		ps := spec.Programs[n]
		info := xdp.Info
		if platform == "linux" {
			t, ok := linuxTypes.ForSection(ps.Section)
			if !ok {
				tb.Fatalf("no Linux program type for section %q", ps.Section)
			}
			info = t
		}
		out = append(out, core.VerifierProgram(ps, info, core.SpecMapInfo(spec)))
	}
	return out
}

var linuxTypes = linux.Registry()

// The maps assembly programs (corpus and fuzz) refer to by index, with
// lddw map_idx:N and map_idx_value:N+OFF.
const (
	mapArray   = iota // array: key 4, value 16, 4 entries
	mapHash           // hash: key 8, value 16, 64 entries
	mapRingbuf        // ringbuf of 4096 bytes
	mapRodata         // .rodata: frozen one-entry array, value 16 bytes = 1, 2, ..., 16
	mapData           // .data: one-entry array, value 16 bytes
	mapProgs          // prog_array of 2 slots, slot 0 = the program itself
	mapPercpu         // percpu_array: key 4, value 8, 2 entries
	mapOuter          // array_of_maps of 2 slots, slot 0 = inner
	mapInner          // array: key 4, value 8, 4 entries (the inner template)
	mapQueue          // queue of 8-byte values
	mapFormat         // .rodata.str1.1: frozen one-entry array of printf formats (see formatValue)
	numAsmMaps
)

var innerSpec = maps.Spec{Name: "inner", Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}

// formatValue is the value of mapFormat: NUL-terminated formats at
// offsets 0 ("%d %s"), 6 ("%"), 8 ("%q") and 11 ("%d %d %d %d").
func formatValue() []byte {
	v := make([]byte, 32)
	copy(v, "%d %s\x00%\x00%q\x00%d %d %d %d\x00")
	return v
}

func rodataValue() []byte {
	v := make([]byte, 16)
	for i := range v {
		v[i] = byte(i + 1)
	}
	return v
}

// asmMapSpecs returns the maps of assembly programs, named m0, m1, ...
// in index order, and the program's map references.
func asmMapSpecs() (map[string]*loader.MapSpec, []string) {
	zero := []byte{0, 0, 0, 0}
	specs := []*loader.MapSpec{
		mapArray:   {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 16, MaxEntries: 4}},
		mapHash:    {Spec: maps.Spec{Type: maps.Hash, KeySize: 8, ValueSize: 16, MaxEntries: 64}},
		mapRingbuf: {Spec: maps.Spec{Type: maps.RingBuf, MaxEntries: 4096}},
		mapRodata: {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1, Flags: maps.FlagRdonlyProg},
			Contents: []loader.KV{{Key: zero, Value: rodataValue()}}, Frozen: true, Section: ".rodata"},
		mapData:   {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1}, Section: ".data"},
		mapProgs:  {Spec: maps.Spec{Type: maps.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, Contents: []loader.KV{{Key: zero, Ref: "prog"}}},
		mapPercpu: {Spec: maps.Spec{Type: maps.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2}},
		mapOuter: {Spec: maps.Spec{Type: maps.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: &innerSpec},
			Contents: []loader.KV{{Key: zero, Ref: "m8"}}},
		mapInner: {Spec: innerSpec},
		mapQueue: {Spec: maps.Spec{Type: maps.Queue, ValueSize: 8, MaxEntries: 8}},
		mapFormat: {Spec: maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 32, MaxEntries: 1, Flags: maps.FlagRdonlyProg},
			Contents: []loader.KV{{Key: zero, Value: formatValue()}}, Frozen: true, Section: ".rodata.str1.1"},
	}
	out := map[string]*loader.MapSpec{}
	var refs []string
	for i, s := range specs {
		name := fmt.Sprintf("m%d", i)
		s.Name = name
		if s.Section == "" {
			s.Section = ".maps"
		}
		out[name] = s
		refs = append(refs, name)
	}
	return out, refs
}

// asmCollection is a collection spec with one xdp program, "prog", over
// the assembly maps.
func asmCollection(insns []isa.Instruction) *loader.CollectionSpec {
	ms, refs := asmMapSpecs()
	return &loader.CollectionSpec{File: "asm", Maps: ms, Programs: map[string]*loader.ProgramSpec{
		"prog": {Name: "prog", Section: "xdp", License: "MIT", Instructions: insns, MapRefs: refs},
	}}
}

// asmProgram is what the verifier checks for an assembly program.
func asmProgram(name string, insns []isa.Instruction) *verifier.Program {
	ps := verifierPrograms(asmCollection(insns))[0]
	ps.Name = name
	return ps
}

// newRuntime is a checked runtime with the xdp type: every access of
// every program run in it is bounds-checked.
func newRuntime(tb testing.TB, budget uint64) *core.Runtime {
	tb.Helper()
	rt, err := core.New(core.Options{CPUs: 2, Checked: true, Budget: budget})
	if err != nil {
		tb.Fatal(err)
	}
	if err := rt.RegisterExtension(&core.Extension{Name: "xdp", ProgramTypes: []*core.ProgramType{xdp.Type()}}); err != nil {
		rt.Close()
		tb.Fatal(err)
	}
	return rt
}

// testPackets are the packets accepted programs run on: well-formed
// frames of the protocols the corpus parses, and short, truncated and
// malformed ones.
var testPackets = func() [][]byte {
	be16 := func(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
	eth := func(proto uint16, rest ...byte) []byte {
		b := make([]byte, 14, 14+len(rest))
		for i := 0; i < 12; i++ {
			b[i] = byte(i + 1)
		}
		be16(b[12:], proto)
		return append(b, rest...)
	}
	ipv4 := func(ihl byte, proto byte, payload int) []byte {
		h := make([]byte, int(ihl)*4+payload)
		if len(h) < 20 {
			h = make([]byte, 20+payload)
		}
		h[0] = 0x40 | ihl
		be16(h[2:], uint16(len(h)))
		h[8] = 64
		h[9] = proto
		copy(h[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		if int(ihl)*4 < len(h) {
			be16(h[int(ihl)*4:], 1234)
			if int(ihl)*4+4 <= len(h) {
				be16(h[int(ihl)*4+2:], 80)
			}
		}
		return h
	}
	ipv6 := func(next byte, payload int) []byte {
		h := make([]byte, 40+payload)
		h[0] = 0x60
		be16(h[4:], uint16(payload))
		h[6] = next
		h[7] = 64
		h[23], h[39] = 1, 2
		if payload >= 4 {
			be16(h[40:], 5353)
			be16(h[42:], 53)
		}
		return h
	}
	vlan := func(tci, proto uint16, rest ...byte) []byte {
		b := make([]byte, 4)
		be16(b, tci)
		be16(b[2:], proto)
		return append(b, rest...)
	}
	big := make([]byte, 1500)
	for i := range big {
		big[i] = byte(i*7 + 3)
	}
	ones := make([]byte, 300)
	for i := range ones {
		ones[i] = 0xff
	}
	tcp := ipv4(5, 6, 20)
	return [][]byte{
		nil,
		{0x45},
		make([]byte, 13),
		eth(0x0800),
		eth(0x0800, tcp...),
		eth(0x0800, tcp[:25]...),        // truncated TCP header
		eth(0x0800, ipv4(15, 6, 20)...), // 60-byte header with options
		eth(0x0800, ipv4(15, 17, 0)[:30]...),
		eth(0x0800, ipv4(1, 6, 20)...), // ihl below the minimum
		eth(0x0800, ipv4(5, 17, 8)...),
		eth(0x0800, ipv4(5, 1, 8)...),
		eth(0x86DD, ipv6(17, 8)...),
		eth(0x86DD, ipv6(6, 20)...),
		eth(0x86DD, ipv6(17, 8)[:45]...),
		eth(0x8100, vlan(5, 0x0800, ipv4(5, 17, 8)...)...),
		eth(0x88A8, vlan(5, 0x8100, vlan(7, 0x86DD, ipv6(17, 8)...)...)...),
		eth(0x8100, vlan(5, 0x8100)...),
		big,
		ones,
	}
}()

// runAll runs a program on every test packet and returns the failures:
// in checked mode a verified program must never fault, and no helper may
// find an argument the verifier should have refused. A run that exhausts
// an instruction budget is no violation.
func runAll(run func(pkt []byte) error) []string {
	var fails []string
	for i, pkt := range testPackets {
		if err := run(pkt); err != nil && !errors.Is(err, interp.ErrBudgetExceeded) {
			fails = append(fails, fmt.Sprintf("packet %d (%d bytes): %v", i, len(pkt), err))
		}
	}
	return fails
}

// runClean fails the test on every failure of runAll.
func runClean(t *testing.T, run func(pkt []byte) error) {
	t.Helper()
	for _, f := range runAll(run) {
		t.Error(f)
	}
}
