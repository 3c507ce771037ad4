package verifier_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// asmCase is an assembly program of the corpus: what C cannot easily
// express. Map operands index the maps of asmMapSpecs (map_idx:0 is the
// array, ...). insns, when set, replaces src for programs the assembler
// refuses to build.
type asmCase struct {
	name   string
	src    string
	insns  []isa.Instruction
	expect expectation
	// opts are the verifier's options: MaxSteps lowers the budget of
	// processed instructions for programs it can only reject by
	// exhausting it; Log checks that asking for a log changes nothing.
	opts verifier.Options
}

func accept() expectation { return expectation{} }

func reject(k verifier.Kind, reason string) expectation {
	return expectation{Kind: k, Reason: reason}
}

// known marks an expectation the verifier does not meet today.
func known(e expectation, issue string) expectation {
	e.Known = issue
	return e
}

func (c asmCase) instructions(tb testing.TB) []isa.Instruction {
	tb.Helper()
	if c.insns != nil {
		return c.insns
	}
	insns, err := isa.Assemble(c.src)
	if err != nil {
		tb.Fatalf("%s: %v", c.name, err)
	}
	return insns
}

// TestCorpusAsm verifies every assembly program of the corpus; those that
// verify are loaded into a checked runtime and run on the test packets.
func TestCorpusAsm(t *testing.T) {
	rt := newRuntime(t, 1_000_000)
	defer rt.Close()
	seen := map[string]bool{}
	for _, c := range asmCorpus {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			insns := c.instructions(t)
			p := asmProgram(c.name, insns)
			run := func(t *testing.T) {
				coll, err := rt.LoadCollection(asmCollection(insns))
				if err != nil && !c.expect.accept() {
					t.Logf("loading: %v", err) // a known case the runtime refuses
					return
				}
				if err != nil {
					t.Fatalf("loading: %v", err)
				}
				defer coll.Close()
				p := coll.Programs["prog"]
				fails := runAll(func(pkt []byte) error {
					_, err := p.TestRun(&core.TestRunOptions{Data: pkt})
					return err
				})
				for _, f := range fails {
					if c.expect.accept() {
						t.Error(f)
					} else {
						t.Log("the program the verifier should have refused: " + f)
					}
				}
			}
			c.expect.skipKnown(t, []*verifier.Program{p}, c.opts, run)
			c.expect.verify(t, p, c.opts)
			if c.expect.accept() {
				run(t)
			}
		})
	}
}

// callChain is a program that calls through a chain of n local
// functions, nesting n+1 frames deep.
func callChain(n int) string {
	var b strings.Builder
	b.WriteString("mov %r1, 1\ncall local f1\nmov %r0, 2\nexit\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "f%d:\n", i)
		if i < n {
			fmt.Fprintf(&b, "add %%r1, 1\ncall local f%d\nexit\n", i+1)
		} else {
			b.WriteString("mov %r0, %r1\nexit\n")
		}
	}
	return b.String()
}

// loadPacket opens a program: r2 = data, r3 = data_end (r1 stays the
// context).
const loadPacket = `
	ldxw %r2, [%r1+0]
	ldxw %r3, [%r1+4]
`

// initStack initializes eight 8-byte slots at [r10-64, r10).
const initStack = `
	stdw [%r10-8], 0
	stdw [%r10-16], 0
	stdw [%r10-24], 0
	stdw [%r10-32], 0
	stdw [%r10-40], 0
	stdw [%r10-48], 0
	stdw [%r10-56], 0
	stdw [%r10-64], 0
`

// indexStack reads the slot of initStack's table that r0 (a byte offset)
// selects, then returns XDP_PASS; "out" skips the read.
const indexStack = `
	mov %r1, %r10
	add %r1, -64
	add %r1, %r0
	ldxdw %r0, [%r1]
out:
	mov %r0, 2
	exit
`

// copyStart opens a program that copies packet bytes into a 16-byte
// stack buffer with bpf_memcpy_s: r6 = data, r7 = data_end (r1 stays the
// context). copyEnd makes the copy from r3, of r4 bytes; "out" skips it.
const copyStart = `
	ldxw %r6, [%r1+0]
	ldxw %r7, [%r1+4]
	stdw [%r10-16], 0
	stdw [%r10-8], 0
`

const copyEnd = `
	mov %r1, %r10
	add %r1, -16
	mov %r2, 16
	call 32790
out:
	mov %r0, 2
	exit
`

var asmCorpus = []asmCase{
	// ---- programs that verify ----
	{name: "trivial", src: "mov %r0, 2\nexit", expect: accept()},
	{name: "stack -512 is the last byte", src: `
		stdw [%r10-512], 1
		ldxdw %r0, [%r10-512]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "call depth 8", src: callChain(7), expect: accept()},
	{name: "jmp32 bound on a 32-bit value", src: initStack + `
		call 7
		jge32 %r0, 8, out
		lsh %r0, 3` + indexStack, expect: accept()},
	// clang -mcpu=v3 compares the low half of a 64-bit value (jmp32),
	// then zero- or sign-extends that half to use it.
	{name: "jmp32 bound, zero-extended by shifts", src: initStack + `
		call 5
		jgt32 %r0, 7, out
		lsh %r0, 32
		rsh %r0, 32
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "jmp32 bound, zero-extended by a 32-bit move", src: initStack + `
		call 5
		jgt32 %r0, 7, out
		mov32 %r0, %r0
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "signed jmp32 bounds, sign-extended by shifts", src: initStack + `
		call 5
		jsgt32 %r0, 7, out
		jslt32 %r0, 0, out
		lsh %r0, 32
		arsh %r0, 32
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "signed jmp32 bounds, sign-extended by movsx", src: initStack + `
		call 5
		jsgt32 %r0, 7, out
		jslt32 %r0, 0, out
		movsx3264 %r0, %r0
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "jmp32 bound below 2^31, sign-extended", src: initStack + `
		call 5
		jge32 %r0, 8, out
		lsh %r0, 32
		arsh %r0, 32
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "jmp32 bound after a 32-bit add, zero-extended", src: initStack + `
		call 5
		mov32 %r1, %r0
		add32 %r1, -1
		jgt32 %r1, 6, out
		mov32 %r0, %r1
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "signed and unsigned checks together", src: initStack + `
		call 7
		jsgt %r0, 7, out
		jslt %r0, 0, out
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "modulo bounds an index", src: initStack + `
		call 7
		mod %r0, 8
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "division bounds an index", src: initStack + `
		call 7
		div %r0, 0x20000000
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "jset clears the high bits", src: initStack + `
		call 7
		jset %r0, 0xfffffff8, out
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "le16 truncates", src: initStack + `
		call 7
		le16 %r0
		rsh %r0, 13
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "mov32 zero-extends", src: initStack + `
		mov32 %r0, -1
		rsh %r0, 29
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "sign-extending load then mask", src: initStack + `
		stb [%r10-72], -3
		ldxsb %r0, [%r10-72]
		and %r0, 56` + indexStack, expect: accept()},
	{name: "spilled map value pointer survives a call", src: `
		stw [%r10-4], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		stxdw [%r10-16], %r0
		call 5
		ldxdw %r1, [%r10-16]
		stxdw [%r1+8], %r0
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "NULL check through a copy", src: `
		stw [%r10-4], 1
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		mov %r6, %r0
		jeq %r6, 0, out
		ldxdw %r1, [%r0+8]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "frozen rodata prunes a dead branch", src: `
		lddw %r1, map_idx_value:3+0
		ldxb %r2, [%r1+0]
		jne %r2, 1, bad
		ldxdw %r0, [%r1+8]
		mov %r0, 2
		exit
	bad:
		ldxdw %r0, [%r10-8]
		exit`, expect: accept()},
	{name: "packet at a checked variable offset", src: loadPacket + `
		mov %r4, %r2
		add %r4, 1
		jgt %r4, %r3, out
		ldxb %r5, [%r2]
		and %r5, 15
		add %r2, %r5
		mov %r4, %r2
		add %r4, 4
		jgt %r4, %r3, out
		ldxw %r0, [%r2]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "packet check with data_end on the left", src: loadPacket + `
		mov %r4, %r2
		add %r4, 14
		jge %r3, %r4, ok
		mov %r0, 1
		exit
	ok:
		ldxh %r0, [%r2+12]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "data_meta checked against data", src: `
		ldxw %r2, [%r1+8]
		ldxw %r3, [%r1+0]
		mov %r4, %r2
		add %r4, 4
		jgt %r4, %r3, out
		ldxw %r0, [%r2]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "for_each callback reads the value", src: `
		stdw [%r10-8], 0
		lddw %r1, map_idx:0
		lddw %r2, func:cb
		mov %r3, %r10
		add %r3, -8
		mov %r4, 0
		call 164
		mov %r0, 2
		exit
	cb:
		ldxw %r5, [%r2]
		ldxdw %r1, [%r3+8]
		add %r1, %r5
		ldxdw %r5, [%r4]
		add %r5, %r1
		stxdw [%r4], %r5
		mov %r0, 0
		exit`, expect: accept()},
	{name: "tail call to itself", src: `
		lddw %r2, map_idx:5
		mov %r3, 0
		call 12
		mov %r0, 2
		exit`, expect: accept()},
	{name: "ringbuf reserve and discard", src: `
		lddw %r1, map_idx:2
		mov %r2, 24
		mov %r3, 0
		call 131
		jeq %r0, 0, out
		stdw [%r0+16], 7
		mov %r1, %r0
		mov %r2, 0
		call 133
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "queue push and pop", src: `
		stdw [%r10-8], 42
		lddw %r1, map_idx:9
		mov %r2, %r10
		add %r2, -8
		mov %r3, 0
		call 87
		lddw %r1, map_idx:9
		mov %r2, %r10
		add %r2, -16
		call 88
		ldxdw %r0, [%r10-16]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "map in map", src: `
		stw [%r10-4], 0
		lddw %r1, map_idx:7
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r1, %r0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		stdw [%r0], 9
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "atomics on the stack and a map value", src: `
		stdw [%r10-8], 0
		mov %r1, 5
		lock add [%r10-8], %r1
		lock fetch add [%r10-8], %r1
		lock xchg [%r10-8], %r1
		stw [%r10-12], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -12
		call 1
		jeq %r0, 0, out
		mov %r1, 3
		lock or32 [%r0+4], %r1
		mov %r2, %r0
		mov %r0, 0
		lock cmpxchg [%r2+8], %r1
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "function returns a map value pointer", src: `
		call local get
		jeq %r0, 0, out
		stdw [%r0], 1
	out:
		mov %r0, 2
		exit
	get:
		stw [%r10-4], 2
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		exit`, expect: accept()},
	{name: "callee writes its caller's stack", src: `
		stdw [%r10-8], 0
		mov %r1, %r10
		add %r1, -8
		call local f
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit
	f:
		stdw [%r1], 7
		mov %r0, 0
		exit`, expect: accept()},
	{name: "ja32 long jump", src: `
		mov %r0, 2
		jne %r0, 2, mid
		ja32 skip
	mid:
		mov %r0, 1
	skip:
		exit`, expect: accept()},
	{name: "bounded loop over a map value", src: `
		stw [%r10-4], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r6, 0
	loop:
		mov %r1, %r0
		add %r1, %r6
		ldxb %r2, [%r1]
		add %r2, 1
		stxb [%r1], %r2
		add %r6, 1
		jlt %r6, 16, loop
	out:
		mov %r0, 2
		exit`, expect: accept()},

	{name: "xor with a constant keeps the known bits", src: initStack + `
		call 7
		and %r0, 7
		xor %r0, 5
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "negated bounded value added back", src: initStack + `
		call 7
		and %r0, 7
		neg %r0
		add %r0, 7
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "and with a register mask", src: initStack + `
		call 5
		mov %r1, 56
		and %r0, %r1` + indexStack, expect: accept()},
	{name: "right shift by a variable amount never grows", src: initStack + `
		call 7
		mov %r6, %r0
		call 7
		and %r0, 56
		and %r6, 7
		rsh %r0, %r6
		and %r0, 56` + indexStack, expect: accept()},
	{name: "jne trims the end of a range", src: initStack + `
		call 7
		jgt %r0, 8, out
		jeq %r0, 8, out
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "a check on a copy bounds the original", src: initStack + `
		call 7
		mov %r6, %r0
		jgt %r6, 7, out
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "spilled scalar keeps its bounds", src: initStack + `
		call 7
		and %r0, 7
		stxdw [%r10-72], %r0
		call 5
		ldxdw %r0, [%r10-72]
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "variable-offset store into initialized stack", src: initStack + `
		call 7
		and %r0, 7
		lsh %r0, 3
		mov %r1, %r10
		add %r1, -64
		add %r1, %r0
		stdw [%r1], 1
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "helper initializes a stack buffer", src: `
		mov %r1, %r10
		add %r1, -16
		mov %r2, 16
		call 16
		ldxdw %r0, [%r10-16]
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "csum_diff with a NULL source", src: `
		stdw [%r10-8], 0x1234
		mov %r1, 0
		mov %r2, 0
		mov %r3, %r10
		add %r3, -8
		mov %r4, 8
		mov %r5, 0
		call 28
		mov %r0, 2
		exit`, expect: accept()},
	{name: "lookup keyed by packet bytes", src: loadPacket + `
		mov %r4, %r2
		add %r4, 4
		jgt %r4, %r3, out
		lddw %r1, map_idx:0
		call 1
		jeq %r0, 0, out
		ldxdw %r1, [%r0+8]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "update with a value from another map", src: `
		stw [%r10-4], 1
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r3, %r0
		stdw [%r10-16], 77
		lddw %r1, map_idx:1
		mov %r2, %r10
		add %r2, -16
		mov %r4, 0
		call 2
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "ringbuf output of a map value", src: `
		stw [%r10-4], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r2, %r0
		lddw %r1, map_idx:2
		mov %r3, 16
		mov %r4, 0
		call 130
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "percpu lookup on this cpu", src: `
		call 8
		mov %r3, %r0
		stw [%r10-4], 1
		lddw %r1, map_idx:6
		mov %r2, %r10
		add %r2, -4
		call 195
		jeq %r0, 0, out
		ldxdw %r1, [%r0]
		add %r1, 1
		stxdw [%r0], %r1
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "jmp32 jset", src: initStack + `
		call 7
		jset32 %r0, 0xfffffff8, out
		lsh %r0, 3` + indexStack, expect: accept()},
	{name: "movsx of a small value", src: initStack + `
		call 7
		and %r0, 0x38
		movsx864 %r1, %r0
		mov %r0, %r1` + indexStack, expect: accept()},
	{name: "64-bit constant arithmetic folds", src: initStack + `
		lddw %r0, 0x123456789abcdef0
		rsh %r0, 60
		lsh %r0, 2
		be64 %r0
		bswap64 %r0` + indexStack, expect: accept()},
	{name: "signed division result masked", src: initStack + `
		call 5
		sdiv %r0, -3
		and %r0, 56` + indexStack, expect: accept()},
	{name: "packet pointer spilled and reloaded", src: loadPacket + `
		mov %r4, %r2
		add %r4, 8
		jgt %r4, %r3, out
		stxdw [%r10-8], %r2
		call 5
		ldxdw %r2, [%r10-8]
		ldxdw %r0, [%r2]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "callee returns a bounded value", src: initStack + `
		call local f
		lsh %r0, 3` + indexStack + `
	f:
		call 7
		mod %r0, 8
		exit`, expect: accept()},
	{name: "callback calls a local function", src: `
		stdw [%r10-8], 0
		mov %r1, 3
		lddw %r2, func:cb
		mov %r3, %r10
		add %r3, -8
		mov %r4, 0
		call 181
		mov %r0, 2
		exit
	cb:
		mov %r6, %r2
		call local g
		ldxdw %r1, [%r6]
		add %r1, %r0
		stxdw [%r6], %r1
		mov %r0, 0
		exit
	g:
		mov %r0, 1
		exit`, expect: accept()},
	{name: "bounded recursion", src: `
		mov %r1, 3
		call local f
		mov %r0, 2
		exit
	f:
		jeq %r1, 0, done
		sub %r1, 1
		call local f
	done:
		mov %r0, 0
		exit`, expect: accept()},
	{name: "packet length clamps a helper copy", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		jle %r4, 16, small
		mov %r4, 16
	small:
		jeq %r4, 0, out
		mov %r3, %r6` + copyEnd, expect: accept()},
	{name: "sign-extended packet length", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		jgt %r4, 1000, out
		lsh %r4, 32
		arsh %r4, 32
		jsgt %r4, 16, out
		jslt %r4, 1, out
		mov %r3, %r6` + copyEnd, expect: accept()},
	{name: "zero-extended packet length through a 32-bit copy", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		jgt %r4, 1000, out
		lsh %r4, 32
		rsh %r4, 32
		mov32 %r5, %r4
		jgt %r5, 16, out
		jeq %r5, 0, out
		mov %r4, %r5
		mov %r3, %r6` + copyEnd, expect: accept()},
	{name: "packet length from a checked header offset", src: copyStart + `
		mov %r3, %r6
		add %r3, 14
		jgt %r3, %r7, out
		mov %r4, %r7
		sub %r4, %r3
		jgt %r4, 16, out
		jeq %r4, 0, out` + copyEnd, expect: accept()},
	{name: "packet length copy from a lower offset", src: copyStart + `
		mov %r3, %r6
		add %r3, 14
		jgt %r3, %r7, out
		mov %r4, %r7
		sub %r4, %r3
		jgt %r4, 16, out
		jeq %r4, 0, out
		mov %r3, %r6
		add %r3, 10` + copyEnd, expect: accept()},
	{name: "packet length proves the packet long enough", src: loadPacket + `
		mov %r4, %r3
		sub %r4, %r2
		jlt %r4, 20, out
		ldxw %r0, [%r2+16]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "function returning void", src: `
		stdw [%r10-8], 0
		mov %r1, %r10
		add %r1, -8
		call local f
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit
	f:
		stdw [%r1], 7
		exit`, expect: accept()},
	{name: "helper writes at least 8 bytes of a variable size", src: `
		call 7
		and %r0, 7
		add %r0, 8
		mov %r2, %r0
		mov %r1, %r10
		add %r1, -16
		call 16
		ldxdw %r0, [%r10-16]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "spilled pointer overwritten whole by two stores", src: `
		stxdw [%r10-8], %r10
		stw [%r10-8], 1
		stw [%r10-4], 2
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "variable-offset store between initialized bytes", src: `
		stdw [%r10-16], 0
		stdw [%r10-8], 0
		call 7
		and %r0, 8
		mov %r1, %r10
		add %r1, -16
		add %r1, %r0
		stdw [%r1], 1
		ldxdw %r0, [%r10-16]
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "tail call in main after a local call", src: `
		mov %r6, %r1
		call local f
		mov %r1, %r6
		lddw %r2, map_idx:5
		mov %r3, 1
		call 12
		mov %r0, 2
		exit
	f:
		mov %r0, 0
		exit`, expect: accept()},
	{name: "cmpxchg on a map value", src: `
		stw [%r10-4], 1
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r1, %r0
		mov %r0, 0
		mov %r2, 5
		lock cmpxchg [%r1+8], %r2
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "linked copies on both arms still prune", src: initStack + `
		call 7
		mov %r6, %r0
		mov %r7, %r6
		jgt %r0, 100, big
		mov %r8, 1
		ja join
	big:
		mov %r8, 2
	join:
		jgt %r6, 7, out
		lsh %r7, 3
		mov %r0, %r7` + indexStack, expect: accept()},
	{name: "printk of scalars with an unknown format", src: `
		stdw [%r10-8], 0x64252064
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		mov %r3, 1
		mov %r4, 2
		call 6
		mov %r0, 2
		exit`, expect: accept()},
	{name: "bpf_loop callback bounded by its index", src: initStack + `
		mov %r1, 8
		lddw %r2, func:cb
		mov %r3, %r10
		add %r3, -64
		mov %r4, 0
		call 181
		mov %r0, 2
		exit
	cb:
		jgt %r1, 7, stop
		lsh %r1, 3
		add %r2, %r1
		ldxdw %r0, [%r2]
		mov %r0, 0
		exit
	stop:
		mov %r0, 1
		exit`, expect: accept()},
	{name: "packet length of a variable-offset pointer", src: copyStart + `
		ldxw %r5, [%r1+16]
		and %r5, 7
		mov %r3, %r6
		add %r3, %r5
		mov %r4, %r3
		add %r4, 1
		jgt %r4, %r7, out
		mov %r4, %r7
		sub %r4, %r3
		jgt %r4, 16, out` + copyEnd, expect: accept()},
	{name: "spilled packet length keeps what it is", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		stxdw [%r10-24], %r4
		call 7
		ldxdw %r4, [%r10-24]
		jgt %r4, 16, out
		jeq %r4, 0, out
		mov %r3, %r6` + copyEnd, expect: accept()},
	{name: "ring buffer record filled from the packet", src: `
		ldxw %r6, [%r1+0]
		ldxw %r7, [%r1+4]
		lddw %r1, map_idx:2
		mov %r2, 16
		mov %r3, 0
		call 131
		jeq %r0, 0, out
		mov %r8, %r0
		mov %r4, %r7
		sub %r4, %r6
		jle %r4, 16, short
		mov %r4, 16
	short:
		jeq %r4, 0, discard
		mov %r1, %r8
		mov %r2, 16
		mov %r3, %r6
		call 32790
		mov %r1, %r8
		mov %r2, 0
		call 132
		ja out
	discard:
		mov %r1, %r8
		mov %r2, 0
		call 133
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "packet length compared in 32 bits", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		jgt %r4, 1000, out
		jgt32 %r4, 16, out
		jeq32 %r4, 0, out
		mov %r3, %r6` + copyEnd, expect: accept()},
	{name: "printk with a rodata format and a string argument", src: `
		lddw %r1, map_idx_value:10+0
		mov %r2, 6
		mov %r3, 7
		lddw %r4, map_idx_value:10+0
		call 6
		mov %r0, 2
		exit`, expect: accept()},
	{name: "snprintf with a pointer for %s", src: `
		stdw [%r10-24], 0x6968
		stdw [%r10-16], 5
		mov %r1, %r10
		add %r1, -24
		stxdw [%r10-8], %r1
		mov %r1, %r10
		add %r1, -64
		mov %r2, 32
		lddw %r3, map_idx_value:10+0
		mov %r4, %r10
		add %r4, -16
		mov %r5, 16
		call 165
		mov %r0, 2
		exit`, expect: accept()},
	{name: "bpf_loop from a local function", src: `
		call local f
		mov %r0, 2
		exit
	f:
		stdw [%r10-8], 0
		mov %r1, 4
		lddw %r2, func:cb
		mov %r3, %r10
		add %r3, -8
		mov %r4, 0
		call 181
		ldxdw %r0, [%r10-8]
		exit
	cb:
		ldxdw %r3, [%r2]
		add %r3, %r1
		stxdw [%r2], %r3
		mov %r0, 0
		exit`, expect: accept()},
	{name: "xchg on a stack slot", src: `
		stdw [%r10-8], 5
		mov %r1, 9
		lock xchg [%r10-8], %r1
		and %r1, 7
		lsh %r1, 3
		stdw [%r10-16], 0
		stdw [%r10-24], 0
		stdw [%r10-32], 0
		stdw [%r10-40], 0
		stdw [%r10-48], 0
		stdw [%r10-56], 0
		stdw [%r10-64], 0
		stdw [%r10-72], 0
		mov %r2, %r10
		add %r2, -72
		add %r2, %r1
		ldxdw %r0, [%r2]
		mov %r0, 2
		exit`, expect: accept()},
	{name: "32-bit subtraction masked to an index", src: initStack + `
		call 7
		sub32 %r0, 100
		and32 %r0, 56` + indexStack, expect: accept()},
	{name: "ring buffer reserved in a function, submitted by its caller", src: `
		call local reserve
		jeq %r0, 0, out
		stdw [%r0], 1
		mov %r1, %r0
		mov %r2, 0
		call 132
	out:
		mov %r0, 2
		exit
	reserve:
		lddw %r1, map_idx:2
		mov %r2, 8
		mov %r3, 0
		call 131
		exit`, expect: accept()},
	{name: "frozen rodata bounds a loop", src: `
		lddw %r1, map_idx_value:3+2
		ldxb %r6, [%r1]
		mov %r7, 0
		mov %r8, 0
	loop:
		add %r8, %r7
		add %r7, 1
		jlt %r7, %r6, loop
		mov %r0, 2
		exit`, expect: accept()},
	{name: "random number bounded by a check indexes a map value", src: `
		stw [%r10-4], 1
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, out
		mov %r6, %r0
		call 7
		jgt %r0, 15, out
		add %r6, %r0
		ldxb %r0, [%r6]
	out:
		mov %r0, 2
		exit`, expect: accept()},
	{name: "printk with a constant stack format and a string", src: `
		stdw [%r10-8], 0x7325
		stdw [%r10-16], 0x6968
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		mov %r3, %r10
		add %r3, -16
		call 6
		mov %r0, 2
		exit`, expect: accept()},

	// ---- programs that must be rejected ----
	{name: "jump into a function", src: `
		mov %r0, 2
		jeq %r1, 0, inside
		call local f
		exit
	f:
		mov %r0, 1
	inside:
		exit`, expect: reject(verifier.KindBadJump, "leaves the function")},
	{name: "jump out of a function", src: `
		call local f
	back:
		mov %r0, 2
		exit
	f:
		ja back`, expect: reject(verifier.KindBadJump, "leaves the function")},
	{name: "unreachable code", src: `
		mov %r0, 2
		ja end
		mov %r0, 1
	end:
		exit`, expect: reject(verifier.KindUnreachable, "no path from the program's entry")},
	{name: "falls off the end", src: `
		mov %r0, 2
		jeq %r1, 0, end
		exit
	end:
		mov %r0, 1`, expect: reject(verifier.KindFallOff, "every path must end in exit")},
	{name: "main falls into a function", src: `
		mov %r0, 2
		call local f
	f:
		mov %r0, 1
		exit`, expect: reject(verifier.KindFallOff, "past the end of the function")},
	{name: "write to r10", insns: []isa.Instruction{
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R10, Imm: 0},
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R0, Imm: 2},
		{Opcode: isa.OpExit},
	}, expect: reject(verifier.KindUnsupported, "frame pointer")},
	{name: "write to r10, verified with a log", insns: []isa.Instruction{
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R10, Imm: 0},
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R0, Imm: 2},
		{Opcode: isa.OpExit},
	}, opts: verifier.Options{Log: true}, expect: reject(verifier.KindUnsupported, "frame pointer")},
	{name: "register r11, verified with a log", insns: []isa.Instruction{
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: 11, Imm: 0},
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R0, Imm: 2},
		{Opcode: isa.OpExit},
	}, opts: verifier.Options{Log: true}, expect: reject(verifier.KindUnsupported, "invalid destination register")},
	{name: "pointer plus pointer", src: `
		mov %r2, %r10
		add %r2, %r1
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "adding two pointers")},
	{name: "pointer times two", src: `
		mov %r2, %r10
		mul %r2, 2
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "only adding or subtracting")},
	{name: "32-bit add on a pointer", src: `
		mov %r2, %r10
		add32 %r2, -8
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "32-bit arithmetic")},
	{name: "32-bit move of a pointer", src: `
		mov32 %r2, %r10
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "32-bit move")},
	{name: "subtracting pointers into different memory", src: loadPacket + `
		mov %r4, %r10
		sub %r4, %r2
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "different memory")},
	{name: "subtracting a variable from a packet pointer", src: loadPacket + `
		mov %r4, %r3
		sub %r4, %r2
		and %r4, 7
		sub %r2, %r4
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "subtracting a variable")},
	{name: "misaligned atomic on the stack", src: `
		stdw [%r10-16], 0
		stdw [%r10-8], 0
		mov %r1, 1
		lock add [%r10-12], %r1
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "misaligned")},
	{name: "atomic on the context", src: `
		mov %r2, 1
		lock add32 [%r1+16], %r2
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "atomic operations work on")},
	{name: "atomic on the packet", src: loadPacket + `
		mov %r4, %r2
		add %r4, 8
		jgt %r4, %r3, out
		mov %r5, 1
		lock add [%r2], %r5
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "atomic operations work on")},
	{name: "spilled pointer partly overwritten then reloaded", src: `
		stxdw [%r10-8], %r1
		stw [%r10-8], 0
		ldxdw %r1, [%r10-8]
		ldxw %r0, [%r1+16]
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "part of a pointer")},
	{name: "rest of a partly overwritten pointer read as data", src: `
		stxdw [%r10-8], %r10
		stw [%r10-8], 0
		ldxw %r6, [%r10-4]
		stw [%r10-12], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -12
		call 1
		jeq %r0, 0, out
		stxw [%r0], %r6
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "pointer")},
	{name: "pointer stored with a 4-byte store", src: `
		stxw [%r10-8], %r1
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "4-byte")},
	{name: "variable offset into the context", src: `
		ldxw %r2, [%r1+16]
		and %r2, 4
		add %r1, %r2
		ldxw %r0, [%r1+12]
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "fixed offsets")},
	{name: "context with a variable offset passed to a helper", src: `
		ldxw %r6, [%r1+20]
		ldxw %r2, [%r1+0]
		ldxw %r3, [%r1+4]
		sub %r3, %r2
		and %r3, 4
		add %r1, %r3
		lddw %r2, map_idx:5
		mov %r3, 0
		call 12
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "must be the context")},
	{name: "half of a context pointer field", src: `
		ldxh %r2, [%r1+0]
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "must be read whole")},
	{name: "signed lower bound is not an upper bound", src: initStack + `
		call 5
		jslt %r0, 0, out
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "signed upper bound allows negatives", src: initStack + `
		call 5
		jsgt %r0, 7, out
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "jmp32 check of a 64-bit value", src: initStack + `
		call 5
		jgt32 %r0, 7, out
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "signed jmp32 upper bound, zero-extended", src: initStack + `
		call 5
		jsgt32 %r0, 7, out
		lsh %r0, 32
		rsh %r0, 32
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "jmp32 bound at 2^31, sign-extended", src: initStack + `
		call 5
		jgt32 %r0, 0x80000000, out
		lsh %r0, 32
		arsh %r0, 32
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "jmp32 bound, shifted by 31 only", src: initStack + `
		call 5
		jgt32 %r0, 7, out
		lsh %r0, 31
		rsh %r0, 31
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "jmp32 bound, then the low half moved past it", src: initStack + `
		call 5
		jgt32 %r0, 7, out
		add %r0, 8
		lsh %r0, 32
		rsh %r0, 32
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "division result too large for the table", src: initStack + `
		call 7
		div %r0, 0x10000000
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "modulo by a number that may be zero", src: initStack + `
		call 7
		mov %r6, %r0
		call 7
		mod %r0, %r6
		lsh %r0, 3` + indexStack, expect: reject(verifier.KindUnbounded, "without a proven upper bound")},
	{name: "stack -513", src: `
		stdw [%r10-520], 1
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "stack above r10", src: `
		stb [%r10+0], 1
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "call depth 9", src: callChain(8), expect: reject(verifier.KindCallDepth, "deeper than 8 frames")},
	{name: "callback returns 2", src: `
		mov %r1, 4
		lddw %r2, func:cb
		mov %r3, 0
		mov %r4, 0
		call 181
		mov %r0, 2
		exit
	cb:
		mov %r0, 2
		exit`, expect: reject(verifier.KindReturnValue, "callback returns 0 (continue) or 1 (stop)")},
	{name: "ringbuf reserve of a variable size", src: `
		call 7
		and %r0, 60
		mov %r2, %r0
		add %r2, 4
		lddw %r1, map_idx:2
		mov %r3, 0
		call 131
		jeq %r0, 0, out
		mov %r1, %r0
		mov %r2, 0
		call 132
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "must be a constant size")},
	{name: "submit of a moved reservation pointer", src: `
		lddw %r1, map_idx:2
		mov %r2, 16
		mov %r3, 0
		call 131
		jeq %r0, 0, out
		mov %r1, %r0
		add %r1, 8
		mov %r2, 0
		call 132
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "as bpf_ringbuf_reserve returned it")},
	{name: "bpf_loop while holding a reservation", src: `
		lddw %r1, map_idx:2
		mov %r2, 16
		mov %r3, 0
		call 131
		jeq %r0, 0, out
		mov %r6, %r0
		mov %r1, 2
		lddw %r2, func:cb
		mov %r3, 0
		mov %r4, 0
		call 181
		mov %r1, %r6
		mov %r2, 0
		call 133
	out:
		mov %r0, 2
		exit
	cb:
		mov %r0, 0
		exit`, expect: reject(verifier.KindUnreleased, "settle it before the callback runs")},
	{name: "uninitialized register", src: `
		mov %r0, %r7
		exit`, expect: reject(verifier.KindUninitRegister, "nothing was written to it")},
	{name: "argument register after a call", src: `
		mov %r2, 1
		call 5
		mov %r0, %r2
		exit`, expect: reject(verifier.KindUninitRegister, "do not survive a call")},
	{name: "returning the stack pointer", src: `
		mov %r0, %r10
		exit`, expect: reject(verifier.KindPointerLeak, "returns a pointer")},
	{name: "callee returns its own stack", src: `
		call local f
		mov %r0, 2
		exit
	f:
		mov %r0, %r10
		add %r0, -8
		exit`, expect: reject(verifier.KindBadPointer, "own stack frame")},
	{name: "number passed as a map", src: `
		mov %r1, 1
		mov %r2, %r10
		add %r2, -4
		stw [%r10-4], 0
		call 1
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "must be a map")},
	{name: "map reference out of range", src: `
		lddw %r1, map_idx:12
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "map reference 12")},
	{name: "direct value of a multi-entry array", src: `
		lddw %r1, map_idx_value:0+0
		ldxdw %r0, [%r1]
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "one-entry array")},
	{name: "store to frozen rodata", src: `
		lddw %r1, map_idx_value:3+4
		stw [%r1], 1
		mov %r0, 2
		exit`, expect: reject(verifier.KindReadOnly, "read-only")},
	{name: "update of the rodata map", src: `
		stw [%r10-4], 0
		stdw [%r10-24], 0
		stdw [%r10-16], 0
		lddw %r1, map_idx:3
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -24
		mov %r4, 0
		call 2
		mov %r0, 2
		exit`, expect: reject(verifier.KindReadOnly, "read-only")},
	{name: "global data past its end", src: `
		lddw %r1, map_idx_value:4+12
		ldxdw %r0, [%r1]
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 16-byte value")},
	{name: "dereferencing a map handle", src: `
		lddw %r1, map_idx:0
		ldxdw %r0, [%r1]
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "cannot be dereferenced")},
	{name: "callx", src: `
		mov %r2, 5
		callx %r2
		mov %r0, 2
		exit`, expect: reject(verifier.KindUnsupported, "callx")},
	{name: "kfunc call", src: `
		call kfunc 1
		mov %r0, 2
		exit`, expect: reject(verifier.KindUnsupported, "kfunc")},
	{name: "NULL check with jeq32", src: `
		stw [%r10-4], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq32 %r0, 0, out
		ldxdw %r1, [%r0]
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindNullDeref, "may be NULL")},
	{name: "ids of linked scalars are ignored by pruning", src: loadPacket + `
		stdw [%r10-8], 0
		sub %r3, %r2
		mov %r6, %r3
		rsh %r6, 8
		jgt %r3, 100, alt
		mov %r7, %r6
		ja join
	alt:
		mov %r7, %r3
		and %r7, 255
	join:
		jgt %r6, 7, out
		mov %r1, %r10
		add %r1, -8
		add %r1, %r7
		ldxb %r0, [%r1]
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "tail call from a subprogram", src: `
		call local f
		mov %r0, 2
		exit
	f:
		lddw %r2, map_idx:5
		mov %r3, 0
		call 12
		mov %r0, 0
		exit`, expect: reject(verifier.KindCallDepth, "tail call")},
	{name: "atomic fetch of a spilled pointer", src: `
		stxdw [%r10-8], %r10
		mov %r6, 0
		lock fetch add [%r10-8], %r6
		stw [%r10-12], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -12
		call 1
		jeq %r0, 0, out
		stxdw [%r0], %r6
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "pointer")},
	{name: "helper reads a spilled pointer", src: `
		stxdw [%r10-8], %r10
		lddw %r1, map_idx:2
		mov %r2, %r10
		add %r2, -8
		mov %r3, 8
		mov %r4, 0
		call 130
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "pointer")},
	{name: "map update with a spilled pointer in the value", src: `
		stw [%r10-4], 0
		stxdw [%r10-24], %r1
		stdw [%r10-16], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -24
		mov %r4, 0
		call 2
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "pointer")},
	{name: "pointer as a bpf_trace_printk argument", src: `
		stdw [%r10-8], 0x786c6c25
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		mov %r3, %r10
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "pointer")},
	{name: "variable-offset store does not initialize every byte", src: `
		stdw [%r10-8], 0
		call 7
		and %r0, 8
		mov %r1, %r10
		add %r1, -16
		add %r1, %r0
		stdw [%r1], 1
		ldxdw %r0, [%r10-16]
		mov %r0, 2
		exit`, expect: reject(verifier.KindUninitStack, "nothing wrote")},
	{name: "helper write of a variable size does not initialize every byte", src: `
		call 7
		and %r0, 15
		add %r0, 1
		mov %r2, %r0
		mov %r1, %r10
		add %r1, -16
		call 16
		ldxdw %r0, [%r10-8]
		mov %r0, 2
		exit`, expect: reject(verifier.KindUninitStack, "nothing wrote")},
	{name: "NULL memory with a non-zero size", src: `
		stdw [%r10-8], 255
		mov %r1, 0
		mov %r2, 16
		mov %r3, %r10
		add %r3, -8
		mov %r4, 8
		mov %r5, 0
		call 28
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "NULL")},
	{name: "constant string without a NUL on the stack", src: `
		stb [%r10-1], 0x61
		mov %r1, 0
		mov %r2, 0
		mov %r3, %r10
		add %r3, -1
		mov %r4, 0
		mov %r5, 0
		call 165
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "string")},
	{name: "constant string read from the packet", src: loadPacket + `
		mov %r4, %r2
		add %r4, 1
		jgt %r4, %r3, out
		stdw [%r10-8], 0x61
		mov %r1, %r10
		add %r1, -8
		mov %r3, %r2
		mov %r2, 4
		call 182
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "string")},
	{name: "infinite loop", src: `
		mov %r0, 2
	spin:
		ja spin`, expect: reject(verifier.KindInfiniteLoop, "loop never ends")},
	{name: "loop bound only from a 32-bit value", src: loadPacket + `
		mov %r4, %r2
		add %r4, 4
		jgt %r4, %r3, out
		ldxw %r5, [%r2]
		mov %r6, 0
	loop:
		add %r6, 1
		jlt %r6, %r5, loop
	out:
		mov %r0, 2
		exit`, opts: verifier.Options{MaxSteps: 10_000}, expect: reject(verifier.KindTooComplex, "instructions processed")},
	{name: "packet length changed by arithmetic", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		add %r4, 1
		jgt %r4, 16, out
		jeq %r4, 0, out
		mov %r3, %r6` + copyEnd, expect: reject(verifier.KindOutOfBounds, "nothing checked the packet's length")},
	{name: "packet length of another packet pointer", src: copyStart + `
		ldxw %r5, [%r1+16]
		and %r5, 7
		mov %r3, %r6
		add %r3, %r5
		mov %r4, %r7
		sub %r4, %r3
		jgt %r4, 16, out
		jeq %r4, 0, out
		mov %r3, %r6` + copyEnd, expect: reject(verifier.KindOutOfBounds, "nothing checked the packet's length")},
	{name: "packet length shifted without a bound", src: copyStart + `
		mov %r4, %r7
		sub %r4, %r6
		lsh %r4, 32
		arsh %r4, 32
		jsgt %r4, 16, out
		jslt %r4, 1, out
		mov %r3, %r6` + copyEnd, expect: reject(verifier.KindOutOfBounds, "nothing checked the packet's length")},
	{name: "packet length of an unchecked pointer is unbounded", src: copyStart + `
		mov %r3, %r6
		add %r3, 14
		mov %r4, %r7
		sub %r4, %r3
		jsgt %r4, 16, out
		jeq %r4, 0, out` + copyEnd, expect: reject(verifier.KindUnbounded, "no proven upper bound")},
	{name: "jump into the middle of lddw", insns: []isa.Instruction{
		{Opcode: isa.OpJA, Offset: 1},
		{Opcode: isa.OpLDDW, Dst: isa.R0, Imm: 0x100000002},
		{Imm: 1},
		{Opcode: isa.ClassALU64 | isa.ALUMov | isa.SrcK, Dst: isa.R0, Imm: 2},
		{Opcode: isa.OpExit},
	}, expect: reject(verifier.KindBadJump, "second half of the lddw")},
	{name: "helper writes 600 bytes of stack", src: `
		mov %r1, %r10
		add %r1, -600
		mov %r2, 600
		call 16
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "callee stack frame above 512 bytes", src: `
		call local f
		mov %r0, 2
		exit
	f:
		stdw [%r10-520], 0
		mov %r0, 0
		exit`, expect: reject(verifier.KindOutOfBounds, "outside the 512-byte stack frame")},
	{name: "data_meta checked against data plus a constant", src: `
		ldxw %r2, [%r1+8]
		ldxw %r3, [%r1+0]
		mov %r4, %r2
		add %r4, 20
		mov %r5, %r3
		add %r5, 14
		jgt %r4, %r5, out
		ldxw %r0, [%r2+16]
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindOutOfBounds, "only offsets below 6")},
	{name: "data_meta at a variable offset", src: `
		ldxw %r2, [%r1+8]
		ldxw %r3, [%r1+0]
		mov %r4, %r2
		add %r4, 8
		jgt %r4, %r3, out
		ldxw %r5, [%r1+16]
		and %r5, 7
		add %r2, %r5
		ldxb %r0, [%r2]
	out:
		mov %r0, 2
		exit`, expect: reject(verifier.KindBadPointer, "fixed offsets from data_meta")},
	{name: "pointer as a helper's flags", src: `
		stw [%r10-4], 0
		stdw [%r10-24], 0
		stdw [%r10-16], 0
		lddw %r1, map_idx:0
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -24
		mov %r4, %r10
		call 2
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "where the helper takes a number")},
	{name: "printk format cut inside a conversion", src: `
		lddw %r1, map_idx_value:10+6
		mov %r2, 2
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "ends inside a conversion")},
	{name: "printk format with an unsupported conversion", src: `
		lddw %r1, map_idx_value:10+8
		mov %r2, 3
		mov %r3, 1
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "not a conversion it supports")},
	{name: "printk format with four conversions", src: `
		lddw %r1, map_idx_value:10+11
		mov %r2, 12
		mov %r3, 1
		mov %r4, 1
		mov %r5, 1
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "more than the 3 arguments")},
	{name: "printk argument the format converts is not set", src: `
		lddw %r1, map_idx_value:10+0
		mov %r2, 6
		mov %r3, 1
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindUninitRegister, "the format converts 2 arguments")},
	{name: "printk of a pointer with %d", src: `
		lddw %r1, map_idx_value:10+0
		mov %r2, 6
		mov %r3, %r10
		lddw %r4, map_idx_value:10+0
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "which the format would print")},
	{name: "printk argument pointer on a pruned path", src: `
		stdw [%r10-8], 0x64252064
		call 7
		mov %r3, %r10
		jgt %r0, 100, join
		mov %r3, 1
	join:
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		call 6
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "which the format would print")},
	{name: "snprintf with a pointer for %d", src: `
		stdw [%r10-24], 0x6968
		stdw [%r10-8], 5
		mov %r1, %r10
		add %r1, -24
		stxdw [%r10-16], %r1
		mov %r1, %r10
		add %r1, -64
		mov %r2, 32
		lddw %r3, map_idx_value:10+0
		mov %r4, %r10
		add %r4, -16
		mov %r5, 16
		call 165
		mov %r0, 2
		exit`, expect: reject(verifier.KindPointerLeak, "holds (part of) a pointer")},
	{name: "snprintf format needs more arguments than the data holds", src: `
		stdw [%r10-8], 5
		mov %r1, %r10
		add %r1, -64
		mov %r2, 32
		lddw %r3, map_idx_value:10+0
		mov %r4, %r10
		add %r4, -8
		mov %r5, 8
		call 165
		mov %r0, 2
		exit`, expect: reject(verifier.KindHelperArg, "more than the 1 arguments")},
	{name: "printk format on the stack cut inside a conversion", src: `
		stdw [%r10-8], 0x30253030
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		call 6
		exit`, expect: reject(verifier.KindHelperArg, "ends inside a conversion")},
}
