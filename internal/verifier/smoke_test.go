package verifier

import (
	"errors"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

var testXDP = &progtype.ProgramType{
	Name: "xdp", ID: 6, SectionPrefixes: []string{"xdp"},
	Context:   progtype.ContextDescriptor{Size: 24, Data: 0, End: 4, Meta: 8, PointerSize: 4},
	ReturnMin: 0, ReturnMax: 4,
}

var testMaps = []MapInfo{
	{Name: "counts", Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4},
	{Name: "table", Type: maps.Hash, KeySize: 8, ValueSize: 16, MaxEntries: 100},
	{Name: "events", Type: maps.RingBuf, MaxEntries: 4096},
	{Name: "config", Type: maps.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1, ReadOnly: true},
}

func verifyAsm(t *testing.T, src string) (*Result, error) {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	return Verify(&Program{Name: "t", Insns: insns, Maps: testMaps, Type: testXDP}, &Options{Log: true})
}

func TestSmoke(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		kind Kind // "" to accept
	}{
		{"trivial", "mov %r0, 2\nexit", ""},
		{"uninit r0", "exit", KindUninitRegister},
		{"bad return", "mov %r0, 7\nexit", KindReturnValue},
		{"lookup unchecked", `
			stw [%r10-4], 0
			lddw %r1, map_idx:0
			mov %r2, %r10
			add %r2, -4
			call 1
			ldxdw %r1, [%r0]
			mov %r0, 2
			exit`, KindNullDeref},
		{"lookup checked", `
			stw [%r10-4], 0
			lddw %r1, map_idx:0
			mov %r2, %r10
			add %r2, -4
			call 1
			jeq %r0, 0, out
			ldxdw %r1, [%r0]
			add %r1, 1
			stxdw [%r0], %r1
		out:
			mov %r0, 2
			exit`, ""},
		{"key uninit", `
			lddw %r1, map_idx:0
			mov %r2, %r10
			add %r2, -4
			call 1
			mov %r0, 2
			exit`, KindUninitStack},
		{"value out of bounds", `
			stw [%r10-4], 0
			lddw %r1, map_idx:0
			mov %r2, %r10
			add %r2, -4
			call 1
			jeq %r0, 0, out
			ldxdw %r1, [%r0+4]
		out:
			mov %r0, 2
			exit`, KindOutOfBounds},
		{"packet checked", `
			ldxw %r2, [%r1+0]
			ldxw %r3, [%r1+4]
			mov %r4, %r2
			add %r4, 14
			jgt %r4, %r3, out
			ldxh %r5, [%r2+12]
		out:
			mov %r0, 2
			exit`, ""},
		{"packet unchecked", `
			ldxw %r2, [%r1+0]
			ldxh %r5, [%r2+12]
			mov %r0, 2
			exit`, KindOutOfBounds},
		{"packet past check", `
			ldxw %r2, [%r1+0]
			ldxw %r3, [%r1+4]
			mov %r4, %r2
			add %r4, 14
			jgt %r4, %r3, out
			ldxh %r5, [%r2+13]
		out:
			mov %r0, 2
			exit`, KindOutOfBounds},
		{"bounded loop", `
			mov %r1, 0
			mov %r0, 0
		loop:
			add %r0, %r1
			add %r1, 1
			jlt %r1, 100, loop
			mov %r0, 2
			exit`, ""},
		{"infinite loop", `
			mov %r0, 2
		loop:
			jeq %r0, 5, out
			ja loop
		out:
			exit`, KindInfiniteLoop},
		{"reservation leaked", `
			lddw %r1, map_idx:2
			mov %r2, 16
			mov %r3, 0
			call 131
			jeq %r0, 0, out
			stdw [%r0], 1
		out:
			mov %r0, 2
			exit`, KindUnreleased},
		{"reservation submitted", `
			lddw %r1, map_idx:2
			mov %r2, 16
			mov %r3, 0
			call 131
			jeq %r0, 0, out
			stdw [%r0], 1
			stdw [%r0+8], 2
			mov %r1, %r0
			mov %r2, 0
			call 132
		out:
			mov %r0, 2
			exit`, ""},
		{"write readonly", `
			lddw %r1, map_idx_value:3+0
			stw [%r1], 1
			mov %r0, 2
			exit`, KindReadOnly},
		{"pointer leak", `
			stw [%r10-4], 0
			lddw %r1, map_idx:0
			mov %r2, %r10
			add %r2, -4
			call 1
			jeq %r0, 0, out
			stxdw [%r0], %r10
		out:
			mov %r0, 2
			exit`, KindPointerLeak},
		{"variable stack read", `
			stdw [%r10-8], 1
			stdw [%r10-16], 2
			call 7
			and %r0, 8
			mov %r1, %r10
			add %r1, -16
			add %r1, %r0
			ldxdw %r0, [%r1]
			mov %r0, 2
			exit`, ""},
		{"unbounded add", `
			call 7
			mov %r1, %r10
			add %r1, %r0
			mov %r0, 2
			exit`, KindUnbounded},
		{"bpf_loop", `
			stdw [%r10-8], 0
			mov %r1, 10
			lddw %r2, func:cb
			mov %r3, %r10
			add %r3, -8
			mov %r4, 0
			call 181
			mov %r0, 2
			exit
		cb:
			ldxdw %r3, [%r2]
			add %r3, %r1
			stxdw [%r2], %r3
			mov %r0, 0
			exit`, ""},
		{"local call", `
			mov %r1, 3
			call local f
			jgt %r0, 4, bad
			exit
		bad:
			mov %r0, 0
			exit
		f:
			mov %r0, %r1
			and %r0, 3
			exit`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := verifyAsm(t, tc.src)
			var e *Error
			if tc.kind == "" {
				if err != nil {
					errors.As(err, &e)
					t.Fatalf("rejected: %v\n%s", err, strings.Join(e.Log, "\n"))
				}
				t.Logf("accepted: %d steps, %d states", res.Steps, res.States)
				return
			}
			if !errors.As(err, &e) || e.Kind != tc.kind {
				t.Fatalf("got %v, want %s", err, tc.kind)
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}
