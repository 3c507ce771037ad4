package verifier

import (
	"fmt"
	"sort"

	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

// cfg is the static structure of a program: its functions, which
// instructions are reachable, where states are worth comparing, and which
// registers are live where.
type cfg struct {
	funcs     []int // first instruction of each function, sorted; funcs[0] == 0
	funcOf    []int // index into funcs of each instruction
	prune     []bool
	live      []uint16 // registers read before being written from here on, per instruction
	callbacks map[int]bool
	second    []bool // second slots of lddw
}

// analyze builds the cfg and rejects what no path exploration needs to
// see: jumps that leave their function, functions that run off their end,
// and unreachable instructions.
func analyze(p *Program) (*cfg, *Error) {
	insns := p.Insns
	n := len(insns)
	c := &cfg{funcOf: make([]int, n), prune: make([]bool, n+1), live: make([]uint16, n), callbacks: map[int]bool{}, second: make([]bool, n)}
	for pc := 0; pc < n; pc += insns[pc].Width() {
		if insns[pc].IsLDDW() && pc+1 < n {
			c.second[pc+1] = true
		}
	}
	starts := map[int]bool{0: true}
	for pc := 0; pc < n; pc++ {
		ins := insns[pc]
		// The runtime cannot load a kfunc call even where no path reaches
		// it (a branch the verifier proves is never taken).
		if ins.Opcode == isa.OpCall && ins.Src == isa.CallKfunc {
			return nil, newError(KindUnsupported, pc, "kernel function calls (kfuncs) are not supported")
		}
		// Nor a call to a helper the program type does not have.
		if ins.Opcode == isa.OpCall && ins.Src == isa.CallHelper {
			if _, ok := p.helper(int32(ins.Imm)); !ok {
				return nil, unknownHelper(p, pc, int32(ins.Imm))
			}
		}
		// Nor an lddw whose reference the loader did not resolve.
		if ins.IsLDDW() && !c.second[pc] {
			switch ins.Src {
			case isa.PseudoImm64, isa.PseudoMapIdx, isa.PseudoMapIdxVal, isa.PseudoFunc:
			default:
				return nil, newError(KindUnsupported, pc, fmt.Sprintf("lddw with source %d is not supported (map references must be resolved by the loader)", ins.Src))
			}
		}
		switch {
		case ins.IsLocalCall():
			t, _ := ins.Branch(pc)
			starts[t] = true
		case ins.IsLDDW() && ins.Src == isa.PseudoFunc:
			t := pc + 1 + int(int32(ins.Imm))
			starts[t] = true
			c.callbacks[t] = true
		}
		if ins.IsLDDW() {
			pc++
		}
	}
	for s := range starts {
		c.funcs = append(c.funcs, s)
	}
	sort.Ints(c.funcs)
	for i, s := range c.funcs {
		end := n
		if i+1 < len(c.funcs) {
			end = c.funcs[i+1]
		}
		for pc := s; pc < end; pc++ {
			c.funcOf[pc] = i
		}
	}

	// Control flow within functions. Only functions something calls (or
	// takes the address of) are reachable; find them from 0.
	reach := make([]bool, n)
	reachable := map[int]bool{0: true}
	stack := []int{0}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if pc >= n || reach[pc] {
			continue
		}
		reach[pc] = true
		ins := insns[pc]
		fn := c.funcOf[pc]
		next := pc + ins.Width()
		succ := func(t int, fallthrough_ bool) *Error {
			if t < 0 || t >= n || c.funcOf[t] != fn {
				if fallthrough_ {
					return newError(KindFallOff, pc, "execution can run past the end of the function into the next one (or past the end of the program): every path must end in exit")
				}
				return newError(KindBadJump, pc, fmt.Sprintf("jump to instruction %d leaves the function that starts at %d", t, c.funcs[fn]))
			}
			c.prune[t] = c.prune[t] || !fallthrough_
			stack = append(stack, t)
			return nil
		}
		switch {
		case ins.IsExit():
		case ins.Opcode == isa.OpJA || ins.Opcode == isa.OpJA32:
			t, _ := ins.Branch(pc)
			if err := succ(t, false); err != nil {
				return nil, err
			}
		case ins.IsConditionalJump():
			t, _ := ins.Branch(pc)
			if err := succ(t, false); err != nil {
				return nil, err
			}
			if err := succ(next, true); err != nil {
				return nil, err
			}
			c.prune[next] = true
		case ins.IsLocalCall():
			t, _ := ins.Branch(pc)
			if !reachable[t] {
				reachable[t] = true
				stack = append(stack, t)
			}
			c.prune[next] = true
			if err := succ(next, true); err != nil {
				return nil, err
			}
		default:
			if ins.IsLDDW() && ins.Src == isa.PseudoFunc {
				t := pc + 1 + int(int32(ins.Imm))
				if !reachable[t] {
					reachable[t] = true
					stack = append(stack, t)
				}
			}
			if ins.IsHelperCall() {
				c.prune[pc] = true // callbacks iterate back to the call
				c.prune[next] = true
			}
			if err := succ(next, true); err != nil {
				return nil, err
			}
		}
	}
	for pc := 0; pc < n; pc++ {
		if !reach[pc] {
			if c.second[pc] {
				continue
			}
			return nil, newError(KindUnreachable, pc, "no path from the program's entry leads here (dead code the compiler should have removed, or a jump miscomputed)")
		}
	}
	c.liveness(p)
	return c, nil
}

// uses and defs of an instruction, as register masks.
func usesDefs(p *Program, pc int) (uses, defs uint16) {
	ins := p.Insns[pc]
	bit := func(r isa.Register) uint16 { return 1 << r }
	op := ins.Opcode
	switch op.Class() {
	case isa.ClassLD:
		return 0, bit(ins.Dst)
	case isa.ClassLDX:
		return bit(ins.Src), bit(ins.Dst)
	case isa.ClassST:
		return bit(ins.Dst), 0
	case isa.ClassSTX:
		uses = bit(ins.Dst) | bit(ins.Src)
		if op.Mode() == isa.ModeATOMIC {
			switch {
			case ins.Imm == isa.AtomicCmpXchg:
				uses |= bit(isa.R0)
				defs = bit(isa.R0)
			case ins.Imm&isa.AtomicFetch != 0:
				defs = bit(ins.Src)
			}
		}
		return uses, defs
	case isa.ClassALU, isa.ClassALU64:
		if op.Op() == isa.ALUMov {
			uses = 0
		} else {
			uses = bit(ins.Dst)
		}
		if op.Source() == isa.SrcX && op.Op() != isa.ALUNeg && op.Op() != isa.ALUEnd {
			uses |= bit(ins.Src)
		}
		return uses, bit(ins.Dst)
	}
	switch {
	case ins.IsExit():
		return bit(isa.R0), 0
	case ins.IsHelperCall():
		n := 5
		if h, ok := p.helper(int32(ins.Imm)); ok && h.ID != progtype.HelperTracePrintk {
			n = len(h.Args) // bpf_trace_printk reads r3-r5 too (variadic)
		}
		for i := 1; i <= n; i++ {
			uses |= 1 << i
		}
		return uses, 0x3f // r0-r5
	case ins.IsLocalCall():
		return 0x3e, 0x3f
	case ins.IsConditionalJump():
		uses = bit(ins.Dst)
		if op.Source() == isa.SrcX {
			uses |= bit(ins.Src)
		}
		return uses, 0
	}
	return 0, 0
}

// liveness computes, per instruction, the registers some path reads
// before writing them (a backward dataflow within each function; a call
// keeps r6-r9 alive across it).
func (c *cfg) liveness(p *Program) {
	n := len(p.Insns)
	changed := true
	for changed {
		changed = false
		for pc := n - 1; pc >= 0; pc-- {
			if c.second[pc] {
				continue
			}
			ins := p.Insns[pc]
			var out uint16
			next := pc + ins.Width()
			fallsThrough := !ins.IsExit() && ins.Opcode != isa.OpJA && ins.Opcode != isa.OpJA32
			if fallsThrough && next < n && c.funcOf[next] == c.funcOf[pc] {
				out |= c.live[next]
			}
			if t, ok := ins.Branch(pc); ok && !ins.IsLocalCall() && t >= 0 && t < n {
				out |= c.live[t]
			}
			uses, defs := usesDefs(p, pc)
			in := (out &^ defs) | uses | 1<<isa.R10
			if ins.IsHelperCall() {
				in |= c.live[pc] // callbacks come back to the call
			}
			if in != c.live[pc] {
				c.live[pc] = in
				changed = true
			}
		}
	}
}

// helper returns the prototype of a helper for the program's type.
func (p *Program) helper(id int32) (progtype.HelperProto, bool) {
	if p.Type == nil {
		return progtype.GeneralHelper(id)
	}
	return p.Type.Helper(id)
}
