package verifier

import (
	"fmt"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

// exit ends a function: the program (checking r0 and that no reference is
// left), a function called with call local (returning to the caller), or a
// callback (returning to the helper that called it).
func (v *verifier) exit(st *state, pc int) (step, *Error) {
	f := st.cur()
	if f.callsite >= 0 && !f.retCheck && f.regs[isa.R0].t == tNotInit {
		// A function returning void: r0 stays unset in the caller, which
		// fails if it reads it.
		f.regs[isa.R0].origin = int32(pc)
	} else if _, err := v.readReg(st, pc, isa.R0); err != nil {
		err.Reason = "the function returns without setting r0: " + err.Reason
		return endPath, err
	}
	r0 := &f.regs[isa.R0]
	if f.callsite < 0 {
		if r0.t != tScalar {
			return endPath, newError(KindPointerLeak, pc, fmt.Sprintf("the program returns a pointer (%s): it would leak an address to the caller", r0.t)).with(regNote(0, r0))
		}
		if t := v.p.Type; t != nil && (t.ReturnMin != 0 || t.ReturnMax != 0) {
			if r0.s.smin < t.ReturnMin || r0.s.smax > t.ReturnMax {
				return endPath, newError(KindReturnValue, pc, fmt.Sprintf("%s programs return %d to %d, but r0 may be %s here", t.Name, t.ReturnMin, t.ReturnMax, r0.s)).with(regNote(0, r0))
			}
		}
		if len(st.refs) > 0 {
			return endPath, newError(KindUnreleased, pc, v.unreleased(st))
		}
		return endPath, nil
	}
	if r0.t == tStack && int(r0.frame) == len(st.frames)-1 {
		return endPath, newError(KindBadPointer, pc, "the function returns a pointer into its own stack frame, which is gone once it returns")
	}
	ret := *r0
	if f.retCheck {
		// A callback: 0 continues, 1 stops.
		if ret.t != tScalar || ret.s.umax > 1 {
			return endPath, newError(KindReturnValue, pc, fmt.Sprintf("a callback returns 0 (continue) or 1 (stop), but r0 may be %s here", ret.describe())).with(regNote(0, &ret))
		}
		return v.callbackReturn(st, pc)
	}
	callsite := f.callsite
	st.frames = st.frames[:len(st.frames)-1]
	c := st.cur()
	c.regs[isa.R0] = ret
	for r := isa.R1; r <= isa.R5; r++ {
		c.regs[r] = reg{origin: 0}
	}
	return step{pc: callsite + 1}, nil
}

func (v *verifier) unreleased(st *state) string {
	pc := st.refs[0].pc
	return fmt.Sprintf("the ring buffer reservation made by %s at instruction %d is neither submitted nor discarded on this path", v.producer(pc), pc)
}

// callLocal enters a function of the program on a new frame.
func (v *verifier) callLocal(st *state, pc int, ins isa.Instruction) (step, *Error) {
	if len(st.frames) >= maxFrames {
		return endPath, newError(KindCallDepth, pc, fmt.Sprintf("calls nest deeper than %d frames", maxFrames))
	}
	t, _ := ins.Branch(pc)
	var args [5]reg
	copy(args[:], st.cur().regs[isa.R1:isa.R6])
	v.enter(st, pc, t, false, args)
	return step{pc: t}, nil
}

// enter pushes a frame for a function starting at fn, with args in r1-r5.
func (v *verifier) enter(st *state, callsite, fn int, callback bool, args [5]reg) {
	f := &frame{callsite: callsite, retCheck: callback, fnStart: fn}
	copy(f.regs[isa.R1:isa.R6], args[:])
	f.regs[isa.R10] = reg{t: tStack, frame: uint8(len(st.frames)), s: zero64}
	st.frames = append(st.frames, f)
}

// unknownHelper is the error for a call to a helper p's type lacks.
func unknownHelper(p *Program, pc int, id int32) *Error {
	tname := "this program type"
	if p.Type != nil {
		tname = p.Type.Name + " programs"
	}
	return newError(KindUnknownHelper, pc, fmt.Sprintf("helper %d is not available to %s", id, tname))
}

// callHelper checks a helper call against its prototype.
func (v *verifier) callHelper(st *state, pc int, ins isa.Instruction, trace *traceNode) (step, *Error) {
	id := int32(ins.Imm)
	h, ok := v.p.helper(id)
	if !ok { // analyze refused it already
		return endPath, unknownHelper(v.p, pc, id)
	}
	f := st.cur()
	var m *mapRef // the map argument, for the arguments and result that depend on it
	var retSize int64
	for i, at := range h.Args {
		rn := isa.Register(i + 1)
		x := &f.regs[rn]
		if x.t == tNotInit {
			return endPath, v.argErr(pc, h, i, "is not set")
		}
		switch at {
		case pt.ArgAnything:
			// A pointer would reach a general helper as a number (a flag,
			// a seed, an index) it may turn into something the program or
			// user space can read; only the context argument of the
			// callback helpers is meant to be one. (Helpers of a program
			// type, such as Linux's bpf_probe_read_kernel, may take
			// addresses as numbers: their prototypes say what they do.)
			_, general := pt.GeneralHelper(id)
			ctxArg := (id == pt.HelperLoop || id == pt.HelperForEachMapElem) && i == 2
			if x.t.isPointer() && general && !ctxArg {
				return endPath, newError(KindPointerLeak, pc, fmt.Sprintf("%s: argument %d (r%d) is a pointer (%s) where the helper takes a number: it would leak the address", h.Name, i+1, rn, x.t)).with(regNote(int(rn), x))
			}
		case pt.ArgConstSize, pt.ArgConstSizeOrZero:
			if x.t != tScalar {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a size, not a pointer (%s)", x.t))
			}
			if at == pt.ArgConstSize && x.s.umin == 0 {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a size greater than 0, but may be %s", x.s))
			}
		case pt.ArgPtrToCtx:
			if x.t != tCtx || x.off != 0 || !x.s.isConst() || x.s.value() != 0 {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be the context (r1 at entry), not %s", x.describe()))
			}
		case pt.ArgPtrToMap, pt.ArgPtrToMapOfPrograms:
			if x.t != tMapHandle {
				if x.t == tMapHandleOrNull {
					return endPath, newError(KindNullDeref, pc, fmt.Sprintf("%s: argument %d (r%d) may be NULL: the inner map from a map-in-map lookup must be checked against 0", h.Name, i+1, rn))
				}
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a map, not %s", x.describe()))
			}
			m = x.m
			if at == pt.ArgPtrToMapOfPrograms && m.info.Type != maps.ProgArray {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a prog_array map, not %s (%s)", m.info.Name, m.info.Type))
			}
			if err := v.mapHelperAllowed(pc, h, m); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToMapKey, pt.ArgPtrToMapValue:
			size := int64(m.info.KeySize)
			if at == pt.ArgPtrToMapValue {
				size = int64(m.info.ValueSize)
			}
			if err := v.memArg(st, pc, int(rn), x, size, size, false, h.Name); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToReadableMem, pt.ArgPtrToReadableMemOrNull, pt.ArgPtrToWritableMem, pt.ArgPtrToWritableMemOrNull:
			write := at == pt.ArgPtrToWritableMem || at == pt.ArgPtrToWritableMemOrNull
			minSize, size, err := v.sizeArg(st, pc, h, i, m)
			if err != nil {
				return endPath, err
			}
			orNull := at == pt.ArgPtrToReadableMemOrNull || at == pt.ArgPtrToWritableMemOrNull
			if orNull && x.t == tScalar && x.s.isConst() && x.s.value() == 0 {
				if size != 0 {
					return endPath, v.argErr(pc, h, i, fmt.Sprintf("is NULL, so its size (argument %d, r%d) must be 0, but it may be %s", i+2, i+2, f.regs[i+2].s))
				}
				continue
			}
			if v.packetLengthArg(st, h, i, x) {
				continue
			}
			var ptrOK func(int64) bool
			if id == pt.HelperSnprintf && i == 3 {
				// The data of bpf_snprintf: the arguments of %s and
				// %pI4/%pI6 are pointers the helper reads through.
				format, _ := constFormat(st, &f.regs[isa.R3], constScalar(1<<20))
				convs, _ := parseFormat(format, 12)
				ptrOK = func(off int64) bool { return off/8 < int64(len(convs)) && convs[off/8] }
			}
			if err := v.memArgPtrs(st, pc, int(rn), x, minSize, size, write, h.Name, ptrOK); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToConstStr:
			if err := v.constStrArg(pc, h, i, x); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToFunc:
			if x.t != tFunc {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a function of the program (a callback), not %s", x.describe()))
			}
		case pt.ArgPtrToAllocMem:
			if x.t != tMem || x.ref == 0 || x.off != 0 || !x.s.isConst() || x.s.value() != 0 {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a ring buffer reservation as bpf_ringbuf_reserve returned it (checked against NULL, unmodified), not %s", x.describe()))
			}
		}
	}

	// What particular helpers do besides their prototype.
	switch id {
	case pt.HelperRingbufReserve:
		size := f.regs[isa.R2].s
		if !size.isConst() {
			return endPath, v.argErr(pc, h, 1, fmt.Sprintf("must be a constant size, not %s", size))
		}
		retSize = int64(size.value())
	case pt.HelperRingbufSubmit, pt.HelperRingbufDiscard:
		ref := f.regs[isa.R1].ref
		if !st.release(ref) {
			return endPath, v.argErr(pc, h, 0, "was already submitted or discarded")
		}
		origin := int32(pc)
		forEachReg(st, func(y *reg) {
			if y.ref == ref {
				*y = reg{origin: origin}
			}
		})
	case pt.HelperTailCall:
		if len(st.frames) > 1 {
			return endPath, newError(KindCallDepth, pc, fmt.Sprintf("bpf_tail_call in a function called from the program (frame %d of %d): the tail-called program would run on top of its caller's frames; tail calls are only allowed in the program's main function", len(st.frames)-1, len(st.frames)-1))
		}
		if len(st.refs) > 0 {
			return endPath, newError(KindUnreleased, pc, "bpf_tail_call with "+v.unreleased(st)+": a tail call never returns when it succeeds")
		}
	case pt.HelperLoop, pt.HelperForEachMapElem:
		return v.callbackCall(st, pc, h, m, trace)
	case pt.HelperTracePrintk:
		if err := v.printkArgs(st, pc, h); err != nil {
			return endPath, err
		}
	case pt.HelperSnprintf:
		// The format is a constant string (checked above); it may convert
		// no more arguments than the data (r4, r5 bytes) holds.
		format, _ := constFormat(st, &f.regs[isa.R3], constScalar(1<<20))
		nargs := int(min(f.regs[isa.R5].s.umin/8, 12))
		if _, err := parseFormat(format, nargs); err != "" {
			return endPath, v.argErr(pc, h, 2, fmt.Sprintf("is a format the helper refuses with %d arguments (%q): %s", nargs, format, err))
		}
	}

	// The result, and the registers the call clobbers.
	f = st.cur()
	var r0 reg
	switch h.Ret {
	case pt.RetInteger, pt.RetVoid:
		r0 = scalarReg(unknownScalar(), pc)
		if id == pt.HelperGetSmpProcessorID {
			r0.s = rangeScalar(0, 1<<16)
		}
		if id == pt.HelperGetPrandomU32 {
			r0.s = rangeScalar(0, 1<<32-1)
		}
	case pt.RetPtrToMapValueOrNull:
		r0 = reg{t: tMapValueOrNull, m: m, id: v.newID(), s: zero64, origin: int32(pc)}
		if m.info.Type == maps.ArrayOfMaps || m.info.Type == maps.HashOfMaps {
			r0.t = tMapHandleOrNull
			r0.m = &mapRef{idx: -1, info: m.info.Inner, readOnly: m.info.Inner.ReadOnly}
		}
	case pt.RetPtrToAllocMemOrNull:
		ref := v.newID()
		st.refs = append(st.refs, refInfo{id: ref, pc: pc})
		r0 = reg{t: tMemOrNull, size: retSize, id: v.newID(), ref: ref, s: zero64, origin: int32(pc)}
	}
	for r := isa.R1; r <= isa.R5; r++ {
		f.regs[r] = reg{origin: 0}
	}
	if h.ChangesPacket {
		// The packet may have moved: every pointer into it is stale.
		origin := int32(pc)
		forEachReg(st, func(y *reg) {
			if y.t == tPacket || y.t == tPacketEnd || y.t == tPacketMeta {
				*y = reg{origin: origin}
			}
			y.pl = pktLen{} // lengths of the old packet
		})
		st.pktRange, st.metaRange = nil, 0
	}
	f.regs[isa.R0] = r0
	return step{pc: pc + 1}, nil
}

func (v *verifier) argErr(pc int, h pt.HelperProto, i int, what string) *Error {
	return newError(KindHelperArg, pc, fmt.Sprintf("%s: argument %d (r%d) %s", h.Name, i+1, i+1, what))
}

// sizeArg returns the smallest and largest size of the memory argument i:
// the next argument when it is a size, else (pop, peek) the map's value
// size.
func (v *verifier) sizeArg(st *state, pc int, h pt.HelperProto, i int, m *mapRef) (int64, int64, *Error) {
	if i+1 < len(h.Args) && (h.Args[i+1] == pt.ArgConstSize || h.Args[i+1] == pt.ArgConstSizeOrZero) {
		s := st.cur().regs[i+2]
		if s.t != tScalar {
			return 0, 0, v.argErr(pc, h, i+1, "must be a size")
		}
		if s.s.umax >= maxVarOff {
			return 0, 0, newError(KindUnbounded, pc, fmt.Sprintf("%s: the size in r%d (%s) has no proven upper bound; check it against a limit first", h.Name, i+2, s.s))
		}
		return int64(s.s.umin), int64(s.s.umax), nil
	}
	if m != nil {
		return int64(m.info.ValueSize), int64(m.info.ValueSize), nil
	}
	return 0, 0, v.argErr(pc, h, i, "has no size")
}

// constStrArg checks an ArgPtrToConstStr argument: a NUL-terminated
// string in frozen read-only global data (.rodata), which the helper
// reads up to its NUL. Anything else (the stack, the packet, a map) may
// change or lack the NUL, and the helper would read past its end.
func (v *verifier) constStrArg(pc int, h pt.HelperProto, i int, x *reg) *Error {
	what := x.describe()
	if x.t == tMapValue && x.m.info.Frozen != nil && x.s.isConst() {
		fz := x.m.info.Frozen
		off := x.off + int64(x.s.value())
		if off >= 0 && off < int64(len(fz)) {
			for _, b := range fz[off:] {
				if b == 0 {
					return nil
				}
			}
			what = fmt.Sprintf("read-only data of map %s at offset %d with no NUL after it", x.m.info.Name, off)
		}
	}
	return v.argErr(pc, h, i, fmt.Sprintf("must be a constant string (NUL-terminated, in read-only global data such as .rodata), not %s", what))
}

// mapHelperAllowed rejects map helpers on map types they do not apply to.
func (v *verifier) mapHelperAllowed(pc int, h pt.HelperProto, m *mapRef) *Error {
	t := m.info.Type
	bad := false
	switch h.ID {
	case pt.HelperMapLookupElem:
		bad = t == maps.Queue || t == maps.Stack || t == maps.RingBuf || t == maps.ProgArray
	case pt.HelperMapUpdateElem, pt.HelperMapDeleteElem:
		bad = t == maps.RingBuf || t == maps.ProgArray || t == maps.ArrayOfMaps || t == maps.HashOfMaps || t == maps.Queue || t == maps.Stack
		if m.readOnly {
			return newError(KindReadOnly, pc, fmt.Sprintf("%s on map %s, which is read-only for programs", h.Name, m.info.Name))
		}
	case pt.HelperMapPushElem, pt.HelperMapPopElem, pt.HelperMapPeekElem:
		bad = t != maps.Queue && t != maps.Stack
	case pt.HelperRingbufOutput, pt.HelperRingbufReserve, pt.HelperRingbufQuery:
		bad = t != maps.RingBuf
	case pt.HelperMapLookupPercpuEle:
		bad = !t.PerCPU()
	case pt.HelperForEachMapElem:
		bad = t != maps.Array && t != maps.PerCPUArray && t != maps.Hash && t != maps.PerCPUHash && t != maps.LRUHash && t != maps.LRUPerCPUHash
	}
	if bad {
		return newError(KindHelperArg, pc, fmt.Sprintf("%s cannot be used on map %s (%s)", h.Name, m.info.Name, t))
	}
	return nil
}

// callbackCall verifies bpf_loop and bpf_for_each_map_elem: the callback
// runs on a new frame; when it returns, the path comes back to the call,
// which may call it again or return. Stack bytes of the caller that the
// callback changed become plain data, so the state at the call converges
// after an iteration or two (see callbackReturn).
func (v *verifier) callbackCall(st *state, pc int, h pt.HelperProto, m *mapRef, trace *traceNode) (step, *Error) {
	f := st.cur()
	fnReg := f.regs[isa.R2]
	if len(st.frames) >= maxFrames {
		return endPath, newError(KindCallDepth, pc, fmt.Sprintf("the callback would nest deeper than %d frames", maxFrames))
	}
	if len(st.refs) > 0 {
		return endPath, newError(KindUnreleased, pc, h.Name+" with "+v.unreleased(st)+": settle it before the callback runs")
	}
	// The way that returns from the helper: r0 is the number of
	// iterations (or an error).
	ret := st.clone()
	rf := ret.cur()
	for r := isa.R1; r <= isa.R5; r++ {
		rf.regs[r] = reg{}
	}
	rf.regs[isa.R0] = scalarReg(unknownScalar(), pc)
	v.push(pc+1, ret, v.traced(trace, pc, ret), false)

	// The way into the callback, with its arguments.
	cbArgs := [5]reg{}
	ctx := f.regs[isa.R3]
	switch h.ID {
	case pt.HelperLoop:
		n := f.regs[isa.R1].s
		hi := min(n.umax, 1<<23)
		if hi == 0 {
			return endPath, nil // no iteration: only the returning way
		}
		cbArgs[0] = scalarReg(rangeScalar(0, hi-1), pc)
		cbArgs[1] = ctx
	case pt.HelperForEachMapElem:
		cbArgs[0] = reg{t: tMapHandle, m: m, s: zero64, origin: int32(pc)}
		cbArgs[1] = reg{t: tReadonlyMem, size: int64(m.info.KeySize), s: zero64, origin: int32(pc)}
		cbArgs[2] = reg{t: tMapValue, m: m, s: zero64, origin: int32(pc)}
		cbArgs[3] = ctx
	}
	snapshot := snapshotFrames(st)
	v.enter(st, pc, fnReg.fn, true, cbArgs)
	st.cur().snapshot = snapshot
	st.cur().activation = v.newID()
	return step{pc: fnReg.fn}, nil
}

// callbackReturn ends a callback: the caller's frames are kept, except that
// stack bytes the callback changed become plain data (a later iteration may
// change them again), and the path goes back to the helper call.
func (v *verifier) callbackReturn(st *state, pc int) (step, *Error) {
	f := st.cur()
	callsite := f.callsite
	before := f.snapshot
	st.frames = st.frames[:len(st.frames)-1]
	for i, fr := range st.frames {
		if i >= len(before) {
			break
		}
		old := before[i]
		fr.own()
		for s := range fr.stack {
			var o stackSlot
			if s < len(old) {
				o = old[s]
			}
			n := &fr.stack[s]
			if n.kind == o.kind && (n.kind[0] != slotSpill || n.spill == o.spill) {
				continue
			}
			if n.kind[0] == slotSpill && n.spill.t != tScalar || o.kind[0] == slotSpill && o.spill.t != tScalar {
				return endPath, newError(KindBadPointer, pc, "the callback changes a pointer kept on its caller's stack; callbacks may only change plain data there")
			}
			for j := range n.kind {
				if n.kind[j] != slotUninit || o.kind[j] != slotUninit {
					n.kind[j] = slotMisc
				}
			}
			n.spill = reg{}
		}
	}
	// The helper call is executed again: it may call the callback once
	// more or return. Its arguments are still in place.
	return step{pc: callsite, cbReturn: true}, nil
}

// snapshotFrames copies the stacks of every frame.
func snapshotFrames(st *state) [][]stackSlot {
	out := make([][]stackSlot, len(st.frames))
	for i, f := range st.frames {
		out[i] = append([]stackSlot(nil), f.stack...)
	}
	return out
}

// printkArgs checks the variadic arguments of bpf_trace_printk (r3 to
// r5), which its prototype cannot describe. When the format is a constant
// the verifier can read (.rodata, as bpf_printk puts it), it must be one
// the helper accepts, the arguments it converts must be set, and only %s
// and %pI4/%pI6 may take a pointer (they read what it points to; anything
// else would print the address). Otherwise no argument register may hold
// a pointer.
func (v *verifier) printkArgs(st *state, pc int, h pt.HelperProto) *Error {
	f := st.cur()
	format, known := constFormat(st, &f.regs[isa.R1], f.regs[isa.R2].s)
	var convs []bool // per conversion: may the argument be a pointer
	if known {
		var err string
		if convs, err = parseFormat(format, 3); err != "" {
			return v.argErr(pc, h, 0, fmt.Sprintf("is a format the helper refuses (%q): %s", format, err))
		}
	}
	for r := isa.R3; r <= isa.R5; r++ {
		i := int(r - isa.R3)
		x := &f.regs[r]
		switch {
		case known && i >= len(convs):
		case known && x.t == tNotInit:
			return newError(KindUninitRegister, pc, fmt.Sprintf("%s: the format converts %d arguments, but r%d (argument %d) is not set", h.Name, len(convs), r, i+3))
		case x.t.isPointer() && !(known && convs[i]):
			return newError(KindPointerLeak, pc, fmt.Sprintf("%s: r%d (argument %d) is a pointer (%s), which the format would print as a number: only %%s and %%pI4/%%pI6 take pointers", h.Name, r, i+3, x.t)).with(regNote(int(r), x))
		}
	}
	return nil
}

// constFormat returns the format string a register points to, up to its
// NUL or size bytes, when it is known: in frozen read-only data (.rodata),
// or on the stack at a fixed offset, written there as constants.
func constFormat(st *state, x *reg, size scalar) (string, bool) {
	if !x.s.isConst() || !size.isConst() {
		return "", false
	}
	if x.t == tStack && int(x.frame) < len(st.frames) {
		f := st.frames[x.frame]
		var b []byte
		for o := x.off + int64(x.s.value()); o < 0 && uint64(len(b)) < size.value(); o++ {
			slot, j := readSlot(f, o)
			var c byte
			switch {
			case slot.kind[j] == slotZero:
			case slot.kind[j] == slotSpill && slot.spill.t == tScalar && slot.spill.s.isConst():
				c = byte(slot.spill.s.value() >> (8 * j))
			default:
				return "", false // not a constant the verifier knows
			}
			if c == 0 {
				return string(b), true
			}
			b = append(b, c)
		}
		return string(b), uint64(len(b)) >= size.value()
	}
	if x.t != tMapValue || x.m.info.Frozen == nil {
		return "", false
	}
	fz := x.m.info.Frozen
	off := x.off + int64(x.s.value())
	if off < 0 || off >= int64(len(fz)) {
		return "", false
	}
	b := fz[off:min(int64(len(fz)), off+int64(min(size.value(), 1<<20)))]
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return string(b), true
}

// parseFormat parses a printf format the way the runtime's formatter does
// (flags, width, precision, the length modifiers hh h l ll z and the
// conversions d i u x X o c s p %), saying for each conversion whether it
// reads memory through a pointer argument (%s, %pI4, %pi4, %pI6, %pi6).
// It returns what the runtime would refuse: an unknown conversion, one cut
// short, or more conversions than the nargs arguments.
func parseFormat(f string, nargs int) ([]bool, string) {
	var out []bool
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		for i < len(f) && strings.IndexByte("-+ 0#", f[i]) >= 0 {
			i++
		}
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
		}
		if i < len(f) && f[i] == '.' {
			i++
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
			}
		}
		switch {
		case strings.HasPrefix(f[i:], "ll"), strings.HasPrefix(f[i:], "hh"):
			i += 2
		case i < len(f) && (f[i] == 'l' || f[i] == 'z' || f[i] == 'h'):
			i++
		}
		if i >= len(f) {
			return nil, "it ends inside a conversion"
		}
		c := f[i]
		if c == '%' {
			continue
		}
		if len(out) >= nargs {
			return nil, fmt.Sprintf("it converts more than the %d arguments the helper takes", nargs)
		}
		switch c {
		case 'd', 'i', 'u', 'x', 'X', 'o', 'c':
			out = append(out, false)
		case 's':
			out = append(out, true)
		case 'p':
			if i+2 < len(f) && (f[i+1] == 'i' || f[i+1] == 'I') && (f[i+2] == '4' || f[i+2] == '6') {
				out = append(out, true)
				i += 2
				break
			}
			for i+1 < len(f) && strings.IndexByte("KxSsBbi46", f[i+1]) >= 0 {
				i++
			}
			out = append(out, false)
		default:
			return nil, fmt.Sprintf("%%%c is not a conversion it supports", c)
		}
	}
	return out, ""
}

// packetLengthArg accepts a packet pointer p as memory argument i when the
// size argument is a packet length measured from a pointer of the same
// id at an offset at or above p's (so [p, p+size) ends at or before the
// packet's end), as in memcpy(buf, data, end - data) after bounding the
// length. ok is false when the rule does not apply (the usual checks do).
func (v *verifier) packetLengthArg(st *state, h pt.HelperProto, i int, p *reg) bool {
	if p.t != tPacket || i+1 >= len(h.Args) || (h.Args[i+1] != pt.ArgConstSize && h.Args[i+1] != pt.ArgConstSizeOrZero) {
		return false
	}
	n := &st.cur().regs[i+2]
	// sizeArg has bounded the size below maxVarOff: it is not negative.
	return n.t == tScalar && n.pl.ok && n.pl.shift == 0 && n.pl.id == p.id && p.off >= 0 && p.off <= n.pl.off
}
