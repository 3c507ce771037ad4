package interp

import "testing"

// TestTailCall chains programs through a helper that tail-calls the program
// whose index is in r2, as bpf_tail_call does with a prog array.
func TestTailCall(t *testing.T) {
	for _, m := range modes {
		var progs []*Program
		helpers := map[int32]Helper{
			12: func(vm *VM, ctx, _, idx, _, _ uint64) uint64 {
				if idx >= uint64(len(progs)) || !vm.TailCall(progs[idx], ctx) {
					return ^uint64(0)
				}
				return 0
			},
		}
		opts := withHelpers(m.opts, helpers)
		// Program 0 stores a marker on its stack, tail-calls program 1 with
		// ctx+1; program 1 reads the marker (the frame is reused), adds ctx.
		progs = append(progs,
			compile(t, "stdw [%r10-8], 40\nadd %r1, 1\nmov %r3, 1\ncall 12\nmov %r0, 99\nexit", opts),
			compile(t, "ldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit", opts))
		got, err := newVM(t).Run(progs[0], 1)
		if err != nil || got != 42 {
			t.Errorf("%s: tail call: %d, %v; want 42", m.name, got, err)
		}
		// A missing target: the helper fails and the program goes on.
		miss := compile(t, "mov %r3, 7\ncall 12\nmov %r0, 5\nexit", opts)
		if got, err := newVM(t).Run(miss, 0); err != nil || got != 5 {
			t.Errorf("%s: missing target: %d, %v", m.name, got, err)
		}
		// A program tail-calling itself stops after MaxTailCalls calls: it
		// counts them in r6... which a tail call keeps, and returns it.
		self := compile(t, "add %r6, 1\nmov %r3, 2\ncall 12\nmov %r0, %r6\nexit", opts)
		progs = append(progs, self)
		if got, err := newVM(t).Run(self, 0); err != nil || got != MaxTailCalls+1 {
			t.Errorf("%s: tail call limit: %d, %v; want %d", m.name, got, err, MaxTailCalls+1)
		}
		// From a subprogram: the tail-called program replaces the callee and
		// its exit returns to the caller, which then finishes.
		sub := compile(t, "call local f\nadd %r0, 1000\nexit\nf:\nmov %r3, 3\ncall 12\nmov %r0, 1\nexit", opts)
		progs = append(progs, compile(t, "mov %r0, 7\nexit", opts))
		if got, err := newVM(t).Run(sub, 0); err != nil || got != 1007 {
			t.Errorf("%s: tail call from a subprogram: %d, %v; want 1007", m.name, got, err)
		}
	}
}

func TestAccessibleAndRevoke(t *testing.T) {
	var seen []bool
	helpers := map[int32]Helper{
		1: func(vm *VM, a, _, _, _, _ uint64) uint64 {
			seen = append(seen, vm.Checked(), vm.Accessible(a, 8, false), vm.Accessible(a-600, 8, true))
			vm.Grant(0x1000, 16, true)
			ok := vm.Accessible(0x1008, 8, true)
			vm.Revoke(0x1000)
			seen = append(seen, ok, vm.Accessible(0x1008, 8, true))
			return 0
		},
	}
	for _, checked := range []bool{false, true} {
		seen = nil
		p := compile(t, "mov %r1, %r10\nsub %r1, 8\ncall 1\nexit", Options{Helpers: helpers, Checked: checked})
		if _, err := newVM(t).Run(p); err != nil {
			t.Fatal(err)
		}
		want := []bool{false, true, true, true, true}
		if checked {
			want = []bool{true, true, false, true, false}
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Errorf("checked=%v: results %v, want %v", checked, seen, want)
				break
			}
		}
	}
}
