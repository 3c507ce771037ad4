package interp

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// budgetModes are the modes that count instructions, without the budget:
// each test sets its own.
var budgetModes = []struct {
	name string
	opts Options
}{
	{"budget", Options{}},
	{"checked+budget", Options{Checked: true}},
}

// runWithBudget compiles src with budget and runs it.
func runWithBudget(t *testing.T, vm *VM, src string, opts Options, budget uint64) (uint64, error) {
	t.Helper()
	opts.Budget = budget
	return vm.Run(compile(t, src, opts))
}

// minimalBudget finds by bisection the smallest budget with which src runs
// to completion, assuming it does with math.MaxUint64.
func minimalBudget(t *testing.T, vm *VM, src string, opts Options) uint64 {
	t.Helper()
	lo, hi := uint64(0), uint64(1)
	for {
		_, err := runWithBudget(t, vm, src, opts, hi)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBudgetExceeded) {
			t.Fatalf("budget %d: %v", hi, err)
		}
		lo, hi = hi, hi*2
		if hi > 1<<30 {
			t.Fatalf("no budget up to %d is enough", hi)
		}
	}
	// lo fails (or is 0), hi succeeds.
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		_, err := runWithBudget(t, vm, src, opts, mid)
		switch {
		case err == nil:
			hi = mid
		case errors.Is(err, ErrBudgetExceeded):
			lo = mid
		default:
			t.Fatalf("budget %d: %v", mid, err)
		}
	}
	return hi
}

// countedLoop is a loop of n iterations: 2 instructions before it, 3 per
// iteration and 1 after, 3n+3 in all.
func countedLoop(n int) string {
	return fmt.Sprintf(`
		mov %%r0, 0
		mov %%r1, %d
	loop:
		add %%r0, 1
		sub %%r1, 1
		jne %%r1, 0, loop
		exit`, n)
}

func TestBudgetIsExact(t *testing.T) {
	helpers := map[int32]Helper{1: noopHelper, 2: loopHelper}
	cases := []struct {
		name     string
		src      string
		executed uint64 // instructions the program executes, by hand
	}{
		{"exit", "exit", 1},
		{"two", "mov %r0, 1\nexit", 2},
		{"lddw-counts-once", "lddw %r0, 0x123456789\nexit", 2},
		{"two-lddw", "lddw %r0, 1\nlddw %r1, 2\nadd %r0, %r1\nexit", 4},
		{"loop-1", countedLoop(1), 6},
		{"loop-100", countedLoop(100), 303},
		{"branch-not-taken", "mov %r0, 1\njeq %r0, 0, +2\nmov %r0, 2\nmov %r0, 3\nexit", 5},
		{"branch-taken", "mov %r0, 1\njeq %r0, 1, +2\nmov %r0, 2\nmov %r0, 3\nexit", 3},
		{"exit-mid-block", "mov %r0, 1\njeq %r0, 1, +1\nexit\nmov %r0, 2\nexit", 4},
		{"memory", "stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit", 3},
		{"helper", "call 1\ncall 1\nexit", 3},
		// main: mov, call, add, exit; f: mov, lddw, exit
		{"local-call", `
			mov %r0, 1
			call local f
			add %r0, 1
			exit
		f:
			mov %r0, 5
			lddw %r1, 9
			exit`, 7},
		// main: mov, lddw, mov, call, exit; three callbacks of 2 each
		{"callback", `
			mov %r1, 3
			lddw %r2, func:cb
			mov %r3, 0
			call 2
			exit
		cb:
			mov %r0, 1
			exit`, 11},
		{"ja32", "ja32 +1\nja32 +1\nja32 -2\nexit", 4}, // 0, 2, 1, 3
	}
	for _, tc := range cases {
		for _, m := range budgetModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				vm := newVM(t)
				opts := withHelpers(m.opts, helpers)
				if _, err := runWithBudget(t, vm, tc.src, opts, tc.executed); err != nil {
					t.Errorf("budget %d: %v", tc.executed, err)
				}
				_, err := runWithBudget(t, vm, tc.src, opts, tc.executed-1)
				if tc.executed > 1 && !errors.Is(err, ErrBudgetExceeded) {
					t.Errorf("budget %d: got %v, want ErrBudgetExceeded", tc.executed-1, err)
				}
				if got := minimalBudget(t, vm, tc.src, opts); got != tc.executed {
					t.Errorf("smallest sufficient budget is %d, want %d", got, tc.executed)
				}
			})
		}
	}
}

func TestBudgetLoop(t *testing.T) {
	const n = 1000
	const executed = 3*n + 3
	src := countedLoop(n)
	for _, m := range budgetModes {
		vm := newVM(t)
		for _, budget := range []uint64{executed, executed + 1, 10 * executed, math.MaxUint64} {
			got, err := runWithBudget(t, vm, src, m.opts, budget)
			if err != nil || got != n {
				t.Errorf("%s: budget %d: r0 = %d, err = %v; want %d", m.name, budget, got, err, n)
			}
		}
		for _, budget := range []uint64{1, 2, executed / 2, executed - 1} {
			if _, err := runWithBudget(t, vm, src, m.opts, budget); !errors.Is(err, ErrBudgetExceeded) {
				t.Errorf("%s: budget %d: got %v, want ErrBudgetExceeded", m.name, budget, err)
			}
		}
	}
}

func TestBudgetStopsInfiniteLoops(t *testing.T) {
	cases := []struct{ name, src string }{
		{"ja-self", "mov %r0, 0\nja -1"},
		{"ja32-self", "ja32 -1"},
		{"two-blocks", "a:\nadd %r0, 1\nja b\nb:\nja a"},
		{"conditional", "mov %r0, 0\nl:\njeq %r0, 0, l\nexit"},
		{"calls", "l:\ncall local f\nja l\nf:\nexit"},
		{"memory", "l:\nldxdw %r0, [%r10-8]\nstxdw [%r10-8], %r0\nja l"},
	}
	for _, tc := range cases {
		for _, m := range budgetModes {
			_, err := runWithBudget(t, newVM(t), tc.src, m.opts, 10000)
			if !errors.Is(err, ErrBudgetExceeded) {
				t.Errorf("%s (%s): got %v, want ErrBudgetExceeded", tc.name, m.name, err)
			}
		}
	}
}

func TestBudgetPerRun(t *testing.T) {
	// The count starts over with every run.
	src := countedLoop(10) // 33 instructions
	for _, m := range budgetModes {
		vm := newVM(t)
		opts := m.opts
		opts.Budget = 33
		p := compile(t, src, opts)
		for i := range 5 {
			if got, err := vm.Run(p); err != nil || got != 10 {
				t.Fatalf("%s: run %d: r0 = %d, err = %v", m.name, i, got, err)
			}
		}
	}
}

func TestFallingOffTheEnd(t *testing.T) {
	// Validate accepts programs without a final exit; running past the end
	// is a fault at the instruction index just past the last one.
	cases := []struct {
		name string
		src  string
		pc   int
	}{
		{"single-mov", "mov %r0, 1", 1},
		{"after-lddw", "mov %r0, 1\nlddw %r1, 2", 3},
		{"after-jump", "mov %r0, 1\njeq %r0, 1, +1\nexit\nmov %r0, 2", 4},
		{"in-callee", "call local f\nexit\nf:\nmov %r0, 1", 3},
		{"in-callback", "lddw %r1, func:cb\ncall 3\nexit\ncb:\nmov %r0, 1", 5},
	}
	helpers := map[int32]Helper{3: func(vm *VM, fn, _, _, _, _ uint64) uint64 {
		if _, err := vm.CallFunction(fn); err != nil {
			vm.Fail(err)
		}
		return 0
	}}
	for _, tc := range cases {
		for _, m := range modes {
			_, err := newVM(t).Run(compile(t, tc.src, withHelpers(m.opts, helpers)))
			f := wantFault(t, err, tc.pc, "past the last instruction")
			_ = f.Error() // formats the zero instruction without trouble
		}
	}
}
