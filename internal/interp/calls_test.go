package interp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/isa"
)

func TestLocalCallFrames(t *testing.T) {
	// The callee clobbers r6-r9 and its own [r10-8]; the caller's survive.
	// The callee reports its r10 in r0, which must be one frame (512 bytes)
	// below the caller's.
	const src = `
		mov %r6, 6
		mov %r7, 7
		mov %r8, 8
		mov %r9, 9
		stdw [%r10-8], 100
		call local fn
		mov %r1, %r10
		sub %r1, %r0
		call 1
		mov %r1, %r6
		mov %r2, %r7
		mov %r3, %r8
		mov %r4, %r9
		ldxdw %r5, [%r10-8]
		call 1
		exit
	fn:
		mov %r6, 60
		mov %r7, 70
		mov %r8, 80
		mov %r9, 90
		stdw [%r10-8], 200
		ldxdw %r1, [%r10-8]
		ldxdw %r2, [%r10+504]
		call 1
		mov %r0, %r10
		exit`
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rec := &recorder{}
			p := compile(t, src, withHelpers(m.opts, map[int32]Helper{1: rec.helper}))
			if _, err := newVM(t).Run(p); err != nil {
				t.Fatal(err)
			}
			want := [][5]uint64{
				{200, 100, 0, 0, 0},       // callee: its own slot, the caller's through r10+504
				{StackSize, 100, 0, 0, 0}, // caller's r10 minus the callee's; r2-r5 as left
				{6, 7, 8, 9, 100},         // caller after the call: r6-r9 and its slot
			}
			if len(rec.calls) != len(want) {
				t.Fatalf("helper called %d times, want %d", len(rec.calls), len(want))
			}
			for i := range want {
				if rec.calls[i] != want[i] {
					t.Errorf("report %d = %v, want %v", i, rec.calls[i], want[i])
				}
			}
		})
	}
}

// callChain returns a program whose main function calls f1, f1 calls f2,
// and so on to f<depth-1>: depth frames in all. Each function adds 1 to r0
// and keeps its own constant in r6 and in its stack slot, checking after its
// call that the callee changed neither. The constants come from lddw, so
// that instruction indices and code slots differ. callChain also returns the
// index of the deepest call instruction.
func callChain(depth int) (src string, deepestCall int) {
	var b strings.Builder
	pc := 0
	emit := func(line string, width int) {
		b.WriteString(line + "\n")
		pc += width
	}
	for i := 0; i < depth; i++ {
		if i > 0 {
			b.WriteString(fmt.Sprintf("f%d:\n", i))
		}
		emit(fmt.Sprintf("lddw %%r6, %#x", 0x100000000+i), 2)
		emit("stxdw [%r10-8], %r6", 1)
		emit("add %r0, 1", 1)
		if i < depth-1 {
			deepestCall = pc
			emit(fmt.Sprintf("call local f%d", i+1), 1)
			emit("ldxdw %r2, [%r10-8]", 1)
			emit("jne %r6, %r2, clobbered", 1)
		}
		emit("exit", 1)
	}
	emit("clobbered:\nmov %r0, -1\nexit", 2)
	return b.String(), deepestCall
}

func TestCallDepth(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			vm := newVM(t)
			// MaxFrames frames (the main program and MaxFrames-1 nested
			// calls) work: every function counts itself in r0.
			src, _ := callChain(MaxFrames)
			got, err := vm.Run(compile(t, src, m.opts))
			if err != nil {
				t.Fatalf("%d frames: %v", MaxFrames, err)
			}
			if got != MaxFrames {
				t.Fatalf("%d frames: r0 = %d, want %d", MaxFrames, got, MaxFrames)
			}
			// One more is a fault at the call that would need it.
			src, call := callChain(MaxFrames + 1)
			insns := assemble(t, src)
			if !insns[call].IsLocalCall() {
				t.Fatalf("instruction %d is %v, not the deepest call", call, insns[call])
			}
			p, err := Compile(insns, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = vm.Run(p)
			f := wantFault(t, err, call, "deeper than")
			if f.Instruction != insns[call] {
				t.Errorf("fault names %v, want %v", f.Instruction, insns[call])
			}
			// The VM is usable again afterwards.
			src, _ = callChain(3)
			if got, err := vm.Run(compile(t, src, m.opts)); err != nil || got != 3 {
				t.Errorf("after the fault: r0 = %d, err = %v; want 3, nil", got, err)
			}
		})
	}
}

func TestRecursionFaults(t *testing.T) {
	const src = `
		mov %r0, 0
		call local fn
		exit
	fn:
		add %r0, 1
		call local fn
		exit`
	for _, m := range modes {
		_, err := newVM(t).Run(compile(t, src, m.opts))
		wantFault(t, err, 4, "deeper than")
	}
}

func TestHelperCall(t *testing.T) {
	const src = `
		mov %r1, 1
		mov %r2, 2
		lddw %r3, 0x300000000
		mov %r4, -4
		mov %r5, 5
		mov %r6, 6
		call 7
		add %r0, %r6
		exit`
	for _, m := range modes {
		rec := &recorder{ret: 1000}
		got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, map[int32]Helper{7: rec.helper})))
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if got != 1006 {
			t.Errorf("%s: r0 = %d, want 1006", m.name, got)
		}
		want := [5]uint64{1, 2, 0x300000000, 0xfffffffffffffffc, 5}
		if len(rec.calls) != 1 || rec.calls[0] != want {
			t.Errorf("%s: helper calls %v, want [%v]", m.name, rec.calls, want)
		}
	}
}

func TestRunArguments(t *testing.T) {
	p := compile(t, "mov %r0, %r1\nadd %r0, %r2\nadd %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\nexit", Options{})
	vm := newVM(t)
	if got, err := vm.Run(p, 1, 20, 300, 4000, 50000); err != nil || got != 54321 {
		t.Errorf("Run with 5 arguments: %d, %v", got, err)
	}
	if got, err := vm.Run(p, 7); err != nil || got != 7 {
		t.Errorf("Run with 1 argument: %d, %v (missing arguments must be 0)", got, err)
	}
	if _, err := vm.Run(p, 1, 2, 3, 4, 5, 6); err == nil {
		t.Error("Run with 6 arguments succeeded")
	}
}

func TestUnknownHelperIsCompileError(t *testing.T) {
	insns := assemble(t, "mov %r0, 0\nlddw %r1, 1\ncall 99\nexit")
	for _, helpers := range []map[int32]Helper{nil, {1: noopHelper}, {99: nil}} {
		_, err := Compile(insns, Options{Helpers: helpers})
		var ie *isa.Error
		if !errors.As(err, &ie) {
			t.Fatalf("helpers %v: got %v, want an *isa.Error", helpers, err)
		}
		if ie.Index != 3 || !strings.Contains(ie.Reason, "unknown helper 99") {
			t.Errorf("helpers %v: %v", helpers, err)
		}
	}
}

func TestCallx(t *testing.T) {
	helpers := map[int32]Helper{
		1: func(_ *VM, r1, _, _, _, _ uint64) uint64 { return r1 + 100 },
		2: nil, // listed but without a function
	}
	cases := []struct {
		name   string
		id     string // lddw operand for r2
		want   uint64
		reason string // non-empty: a fault at instruction 3 naming this
	}{
		{"known", "1", 142, ""},
		{"unknown", "99", 0, "not the id of a helper"},
		{"nil-helper", "2", 0, "not the id of a helper"},
		{"negative-int32", "0xffffffff", 0, "not the id of a helper"},
		{"truncates-to-known", "0x100000001", 0, "not the id of a helper"},
	}
	for _, tc := range cases {
		src := fmt.Sprintf("mov %%r1, 42\nlddw %%r2, %s\ncallx %%r2\nexit", tc.id)
		for _, m := range modes {
			got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, helpers)))
			if tc.reason != "" {
				wantFault(t, err, 3, tc.reason)
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("%s (%s): r0 = %d, err = %v; want %d", tc.name, m.name, got, err, tc.want)
			}
		}
	}
}

func TestUnwind(t *testing.T) {
	helpers := map[int32]Helper{
		// unwinds with r0 = r1 + 1000 when r1 is odd
		3: func(vm *VM, r1, _, _, _, _ uint64) uint64 {
			if r1%2 == 1 {
				vm.Unwind(r1 + 1000)
			}
			return r1
		},
	}
	cases := []struct {
		name string
		src  string
		want uint64
	}{
		{"main", "mov %r1, 7\ncall 3\nmov %r0, 2\nexit", 1007},
		{"not-unwinding", "mov %r1, 8\ncall 3\nadd %r0, 2\nexit", 10},
		{"nested", `
			mov %r1, 4
			call local f
			mov %r0, 2
			exit
		f:
			call local g
			mov %r0, 3
			exit
		g:
			add %r1, 1
			call 3
			mov %r0, 4
			exit`, 1005},
	}
	for _, tc := range cases {
		for _, m := range modes {
			vm := newVM(t)
			p := compile(t, tc.src, withHelpers(m.opts, helpers))
			got, err := vm.Run(p)
			if err != nil || got != tc.want {
				t.Errorf("%s (%s): r0 = %d, err = %v; want %d, nil", tc.name, m.name, got, err, tc.want)
			}
			// The request does not leak into the next run.
			next := compile(t, "mov %r1, 2\ncall 3\nexit", withHelpers(m.opts, helpers))
			if got, err := vm.Run(next); err != nil || got != 2 {
				t.Errorf("%s (%s): next run: r0 = %d, err = %v; want 2, nil", tc.name, m.name, got, err)
			}
		}
	}
}

func TestFail(t *testing.T) {
	errHelper := errors.New("helper gave up")
	helpers := map[int32]Helper{
		4: func(vm *VM, r1, _, _, _, _ uint64) uint64 {
			vm.Fail(fmt.Errorf("on %d: %w", r1, errHelper))
			return 0
		},
	}
	src := `
		mov %r1, 5
		call local f
		mov %r0, 1
		exit
	f:
		call 4
		mov %r0, 2
		exit`
	for _, m := range modes {
		vm := newVM(t)
		_, err := vm.Run(compile(t, src, withHelpers(m.opts, helpers)))
		if !errors.Is(err, errHelper) || !strings.Contains(err.Error(), "on 5") {
			t.Errorf("%s: got %v, want the helper's error", m.name, err)
		}
		if got, err := vm.Run(compile(t, "mov %r0, 3\nexit", m.opts)); err != nil || got != 3 {
			t.Errorf("%s: next run: r0 = %d, err = %v", m.name, got, err)
		}
	}
}

// loopHelper works like bpf_loop: it calls the callback in r2 r1 times with
// (i, r3) and returns the sum of what the callbacks return. A failing
// callback fails the program.
func loopHelper(vm *VM, n, fn, ctx, _, _ uint64) uint64 {
	var sum uint64
	for i := uint64(0); i < n; i++ {
		r0, err := vm.CallFunction(fn, i, ctx)
		if err != nil {
			vm.Fail(err)
			return 0
		}
		sum += r0
	}
	return sum
}

func TestCallFunction(t *testing.T) {
	// The callback returns i*i + ctx through a local call, and uses its own
	// stack slot; the main program's registers and stack survive.
	const src = `
		mov %r6, 1000
		stdw [%r10-8], 77
		mov %r1, 4
		lddw %r2, func:cb
		mov %r3, 10
		call 2
		add %r0, %r6
		ldxdw %r1, [%r10-8]
		add %r0, %r1
		exit
	cb:
		mov %r6, 0
		stxdw [%r10-8], %r2
		call local square
		ldxdw %r2, [%r10-8]
		add %r0, %r2
		exit
	square:
		mov %r0, %r1
		mul %r0, %r1
		exit`
	// sum over i < 4 of i*i + 10 = 14 + 40, plus 1000, plus 77
	const want = 14 + 40 + 1000 + 77
	for _, m := range modes {
		got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, map[int32]Helper{2: loopHelper})))
		if err != nil || got != want {
			t.Errorf("%s: r0 = %d, err = %v; want %d", m.name, got, err, want)
		}
	}
}

func TestCallFunctionNested(t *testing.T) {
	// outer calls loop(3, inner) on every one of its 2 iterations; inner
	// returns 1 from two local calls down. Frames: main, outer, inner,
	// inner's two callees.
	const src = `
		mov %r1, 2
		lddw %r2, func:outer
		call 2
		exit
	outer:
		mov %r1, 3
		lddw %r2, func:inner
		call 2
		exit
	inner:
		call local a
		exit
	a:
		call local b
		exit
	b:
		mov %r0, 1
		exit`
	for _, m := range modes {
		got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, map[int32]Helper{2: loopHelper})))
		if err != nil || got != 6 {
			t.Errorf("%s: r0 = %d, err = %v; want 6", m.name, got, err)
		}
	}
}

func TestCallFunctionDepthLimit(t *testing.T) {
	// A callback that calls the loop helper on itself runs out of frames;
	// the error reaches Run through vm.Fail.
	const src = `
		mov %r1, 1
		lddw %r2, func:cb
		call 2
		exit
	cb:
		mov %r1, 1
		lddw %r2, func:cb
		call 2
		exit`
	for _, m := range modes {
		_, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, map[int32]Helper{2: loopHelper})))
		if err == nil || !strings.Contains(err.Error(), "nested frames") {
			t.Errorf("%s: got %v, want the frame limit error", m.name, err)
		}
	}
}

func TestCallFunctionUnwindAndFault(t *testing.T) {
	helpers := map[int32]Helper{
		2: loopHelper,
		// unwinds with r0 = 1001 on the second iteration
		6: func(vm *VM, r1, _, _, _, _ uint64) uint64 {
			if r1 == 1 {
				vm.Unwind(1001)
			}
			return 0
		},
	}
	cases := []struct {
		name   string
		src    string
		want   uint64
		reason string // non-empty: a fault naming this
		pc     int
	}{
		{"unwind-in-callback", `
			mov %r1, 3
			lddw %r2, func:cb
			call 2
			mov %r0, 99
			exit
		cb:
			call 6
			mov %r0, 1
			exit`, 1001, "", 0},
		{"fault-in-callback", `
			mov %r1, 3
			lddw %r2, func:cb
			call 2
			exit
		cb:
			mov %r3, 77
			callx %r3
			exit`, 0, "not the id of a helper", 6},
	}
	for _, tc := range cases {
		for _, m := range modes {
			got, err := newVM(t).Run(compile(t, tc.src, withHelpers(m.opts, helpers)))
			if tc.reason != "" {
				wantFault(t, err, tc.pc, tc.reason)
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("%s (%s): r0 = %d, err = %v; want %d", tc.name, m.name, got, err, tc.want)
			}
		}
	}
}

func TestUnwindThroughWrappingHelper(t *testing.T) {
	// A callback unwinds; the helper that ran it reports the error it got,
	// wrapped. The program still ends with the unwind's r0.
	helpers := map[int32]Helper{
		2: func(vm *VM, fn, _, _, _, _ uint64) uint64 {
			if _, err := vm.CallFunction(fn); err != nil {
				vm.Fail(fmt.Errorf("loop: %w", err))
			}
			return 0
		},
		3: func(vm *VM, _, _, _, _, _ uint64) uint64 {
			vm.Unwind(1001)
			return 0
		},
	}
	const src = `
		lddw %r1, func:cb
		call 2
		mov %r0, 1
		exit
	cb:
		call 3
		mov %r0, 2
		exit`
	for _, m := range modes {
		got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, helpers)))
		if err != nil || got != 1001 {
			t.Errorf("%s: r0 = %d, err = %v; want 1001, nil", m.name, got, err)
		}
	}
}

func TestCallFunctionErrorStopsProgram(t *testing.T) {
	// A callback that faults two frames down stops the whole program as
	// soon as the helper returns, even though the helper ignores the error:
	// the fault reaches Run, and nothing after the helper call executes.
	const src = `
		stdw [%r10-8], 5
		lddw %r1, func:cb
		call 3
		mov %r0, 99
		exit
	cb:
		call local g
		exit
	g:
		mov %r1, 77
		callx %r1
		exit`
	var cbErr error
	helpers := map[int32]Helper{
		3: func(vm *VM, fn, _, _, _, _ uint64) uint64 {
			_, cbErr = vm.CallFunction(fn)
			return 0
		},
	}
	for _, m := range modes {
		opts := withHelpers(m.opts, helpers)
		if opts.Budget == 0 {
			opts.Budget = 1000
		}
		cbErr = nil
		vm := newVM(t)
		got, err := vm.Run(compile(t, src, opts))
		f := asFault(t, err)
		if got != 0 || f.PC != 9 || err != cbErr {
			t.Errorf("%s: r0 = %d, err = %v (callback error %v); want the callback's fault at instruction 9", m.name, got, err, cbErr)
		}
		if vm.depth != 0 {
			t.Errorf("%s: depth %d after the run", m.name, vm.depth)
		}
	}
}

func TestCallFunctionRejectsBogusPointers(t *testing.T) {
	// Helper 3 tries to call r1 and returns 1 if CallFunction refused; it
	// also records the genuine function pointer the program holds in r2.
	var genuine uint64
	helpers := map[int32]Helper{
		3: func(vm *VM, fn, real, _, _, _ uint64) uint64 {
			genuine = real
			if _, err := vm.CallFunction(fn); err != nil {
				return 1
			}
			return 0
		},
	}
	// Entering at the ldxdw itself would skip its bounds check in checked
	// mode: only the function named by lddw may be called.
	const src = `
		lddw %r2, func:cb
		call 3
		exit
		stxdw [%r10-8], %r1
		ldxdw %r0, [%r1+0]
	cb:
		mov %r0, 0
		exit`
	for _, m := range modes {
		p := compile(t, src, withHelpers(m.opts, helpers))
		vm := newVM(t)
		var candidates []uint64
		for slot := range len(p.code) + 3 {
			candidates = append(candidates, FuncPointer(slot))
		}
		candidates = append(candidates, 0, 12345, 3, FuncPointer(1<<20), FuncPointer(-1))
		accepted := 0
		for _, fn := range candidates {
			got, err := vm.Run(p, fn)
			if err != nil {
				t.Fatalf("%s: CallFunction(%#x): %v", m.name, fn, err)
			}
			if got == 0 {
				accepted++
				if fn != genuine {
					t.Errorf("%s: CallFunction(%#x) ran; only %#x is a function", m.name, fn, genuine)
				}
			}
		}
		if accepted != 1 {
			t.Errorf("%s: CallFunction accepted %d pointers, want 1 (the genuine one)", m.name, accepted)
		}
		if _, err := vm.CallFunction(genuine); err == nil {
			t.Errorf("%s: CallFunction outside a run succeeded", m.name)
		}
	}
}

func TestLddwFuncTargetsChecked(t *testing.T) {
	// Function references must name an instruction of the program; Compile
	// must reject the others rather than index outside its tables.
	cases := []struct {
		name string
		off  int64
	}{
		{"past-end", 100},
		{"far-past-end", 0x7fffffff},
		{"before-start", -10},
		{"second-half-of-lddw", 0}, // the lddw's own second half
	}
	for _, tc := range cases {
		insns := []isa.Instruction{
			{Opcode: isa.OpLDDW, Dst: isa.R1, Src: isa.PseudoFunc, Imm: int64(uint32(int32(tc.off)))},
			{},
			{Opcode: isa.OpExit},
		}
		for _, m := range modes {
			if _, err := Compile(insns, m.opts); err == nil {
				t.Errorf("%s (%s): Compile accepted a function reference at offset %d", tc.name, m.name, tc.off)
			}
		}
	}
}

func TestCompileRejectsUnresolvedReferences(t *testing.T) {
	for _, src := range []string{
		"lddw %r1, map_fd:3\nexit",
		"lddw %r1, map_value:3+8\nexit",
		"lddw %r1, map_idx:0\nexit",
		"lddw %r1, btf_id:7\nexit",
		"call runtime 12\nexit",
	} {
		for _, m := range modes {
			if _, err := Compile(assemble(t, src), m.opts); err == nil {
				t.Errorf("%q (%s): Compile succeeded", src, m.name)
			}
		}
	}
}

func TestCallxStops(t *testing.T) {
	// Unwind and Fail work the same through callx as through call.
	errStop := errors.New("stop")
	helpers := map[int32]Helper{
		3: func(vm *VM, _, _, _, _, _ uint64) uint64 { vm.Unwind(33); return 0 },
		4: func(vm *VM, _, _, _, _, _ uint64) uint64 { vm.Fail(errStop); return 0 },
	}
	for _, m := range modes {
		vm := newVM(t)
		p := compile(t, "mov %r0, 1\ncallx %r1\nmov %r0, 2\nexit", withHelpers(m.opts, helpers))
		if got, err := vm.Run(p, 3); err != nil || got != 33 {
			t.Errorf("%s: unwind through callx: r0 = %d, err = %v", m.name, got, err)
		}
		if _, err := vm.Run(p, 4); !errors.Is(err, errStop) {
			t.Errorf("%s: fail through callx: %v", m.name, err)
		}
	}
}

func TestCallFunctionArguments(t *testing.T) {
	// The callback gets r1 to r5; more than five arguments are refused.
	var errs []error
	helpers := map[int32]Helper{
		2: func(vm *VM, fn, _, _, _, _ uint64) uint64 {
			r0, err := vm.CallFunction(fn, 1, 20, 300, 4000, 50000)
			errs = append(errs, err)
			_, err = vm.CallFunction(fn, 1, 2, 3, 4, 5, 6)
			errs = append(errs, err)
			return r0
		},
	}
	const src = `
		lddw %r1, func:cb
		call 2
		exit
	cb:
		mov %r0, %r1
		add %r0, %r2
		add %r0, %r3
		add %r0, %r4
		add %r0, %r5
		exit`
	for _, m := range modes {
		errs = nil
		got, err := newVM(t).Run(compile(t, src, withHelpers(m.opts, helpers)))
		if err != nil || got != 54321 {
			t.Errorf("%s: r0 = %d, err = %v; want 54321", m.name, got, err)
		}
		if len(errs) != 2 || errs[0] != nil || errs[1] == nil {
			t.Errorf("%s: CallFunction errors %v, want [nil, an error]", m.name, errs)
		}
	}
}

func TestFirstStopWins(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		helper  Helper
		wantR0  uint64
		wantErr string
	}{
		{"fail nil", func(vm *VM, _, _, _, _, _ uint64) uint64 { vm.Fail(nil); return 0 }, 0, "without saying why"},
		{"unwind then fail", func(vm *VM, _, _, _, _, _ uint64) uint64 { vm.Unwind(7); vm.Fail(boom); return 0 }, 7, ""},
		{"fail then unwind", func(vm *VM, _, _, _, _, _ uint64) uint64 { vm.Fail(boom); vm.Unwind(7); return 0 }, 0, "boom"},
	}
	for _, tt := range tests {
		p := compile(t, "call 1\nmov %r0, 99\nexit", Options{Helpers: map[int32]Helper{1: tt.helper}})
		r0, err := newVM(t).Run(p)
		if r0 != tt.wantR0 || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: got %d, %v; want %d, %q", tt.name, r0, err, tt.wantR0, tt.wantErr)
		}
	}
}
