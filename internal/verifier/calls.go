package verifier

import (
	"fmt"

	"github.com/ebpfhost/ebpfhost/internal/maps"
	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

// exit ends a function: the program (checking r0 and that no reference is
// left), a function called with call local (returning to the caller), or a
// callback (returning to the helper that called it).
func (v *verifier) exit(st *state, pc int) (step, *Error) {
	f := st.cur()
	r0, err := v.readReg(st, pc, isa.R0)
	if err != nil {
		err.Reason = "the function returns without setting r0: " + err.Reason
		return endPath, err
	}
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

// callHelper checks a helper call against its prototype.
func (v *verifier) callHelper(st *state, pc int, ins isa.Instruction, trace *traceNode) (step, *Error) {
	id := int32(ins.Imm)
	h, ok := v.p.helper(id)
	if !ok {
		tname := "this program type"
		if v.p.Type != nil {
			tname = v.p.Type.Name + " programs"
		}
		return endPath, newError(KindUnknownHelper, pc, fmt.Sprintf("helper %d is not available to %s", id, tname))
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
		case pt.ArgConstSize, pt.ArgConstSizeOrZero:
			if x.t != tScalar {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a size, not a pointer (%s)", x.t))
			}
			if at == pt.ArgConstSize && x.s.umin == 0 {
				return endPath, v.argErr(pc, h, i, fmt.Sprintf("must be a size greater than 0, but may be %s", x.s))
			}
		case pt.ArgPtrToCtx:
			if x.t != tCtx || x.off != 0 {
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
			if err := v.memArg(st, pc, int(rn), x, size, false, h.Name); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToReadableMem, pt.ArgPtrToReadableMemOrNull, pt.ArgPtrToWritableMem, pt.ArgPtrToWritableMemOrNull:
			write := at == pt.ArgPtrToWritableMem || at == pt.ArgPtrToWritableMemOrNull
			size, err := v.sizeArg(st, pc, h, i, m)
			if err != nil {
				return endPath, err
			}
			orNull := at == pt.ArgPtrToReadableMemOrNull || at == pt.ArgPtrToWritableMemOrNull
			if orNull && x.t == tScalar && x.s.isConst() && x.s.value() == 0 {
				continue
			}
			if err := v.memArg(st, pc, int(rn), x, size, write, h.Name); err != nil {
				return endPath, err
			}
		case pt.ArgPtrToConstStr:
			if err := v.memArg(st, pc, int(rn), x, 1, false, h.Name); err != nil {
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
		if len(st.refs) > 0 {
			return endPath, newError(KindUnreleased, pc, "bpf_tail_call with "+v.unreleased(st)+": a tail call never returns when it succeeds")
		}
	case pt.HelperLoop, pt.HelperForEachMapElem:
		return v.callbackCall(st, pc, h, m, trace)
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
		})
		st.pktRange, st.metaRange = nil, 0
	}
	f.regs[isa.R0] = r0
	return step{pc: pc + 1}, nil
}

func (v *verifier) argErr(pc int, h pt.HelperProto, i int, what string) *Error {
	return newError(KindHelperArg, pc, fmt.Sprintf("%s: argument %d (r%d) %s", h.Name, i+1, i+1, what))
}

// sizeArg returns the largest size of the memory argument i: the next
// argument when it is a size, else (pop, peek) the map's value size.
func (v *verifier) sizeArg(st *state, pc int, h pt.HelperProto, i int, m *mapRef) (int64, *Error) {
	if i+1 < len(h.Args) && (h.Args[i+1] == pt.ArgConstSize || h.Args[i+1] == pt.ArgConstSizeOrZero) {
		s := st.cur().regs[i+2]
		if s.t != tScalar {
			return 0, v.argErr(pc, h, i+1, "must be a size")
		}
		if s.s.umax >= maxVarOff {
			return 0, newError(KindUnbounded, pc, fmt.Sprintf("%s: the size in r%d (%s) has no proven upper bound; check it against a limit first", h.Name, i+2, s.s))
		}
		return int64(s.s.umax), nil
	}
	if m != nil {
		return int64(m.info.ValueSize), nil
	}
	return 0, v.argErr(pc, h, i, "has no size")
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
	v.push(pc+1, ret, trace, false)

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
