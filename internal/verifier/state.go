package verifier

import (
	"fmt"
	"strings"
	"unsafe"
)

// regType is the kind of value a register holds.
type regType uint8

const (
	tNotInit         regType = iota
	tScalar                  // a number
	tCtx                     // the program's context
	tStack                   // a frame of the stack
	tMapValue                // a value of map mapIdx (or of an inner map)
	tMapValueOrNull          // the result of a lookup, not yet checked
	tMapHandle               // a map (what lddw of a map yields)
	tMapHandleOrNull         // an inner map from a map-in-map lookup, not yet checked
	tPacket                  // packet data
	tPacketEnd               // the end of packet data
	tPacketMeta              // packet metadata
	tMem                     // memory a helper allocated (a ring buffer reservation)
	tMemOrNull               // an allocation not yet checked
	tFunc                    // a function of the program (a callback)
	tReadonlyMem             // read-only memory of size bytes (a callback's map key)
)

var typeNames = [...]string{
	"uninitialized", "scalar", "ctx", "stack", "map_value", "map_value_or_null", "map",
	"map_or_null", "packet", "packet_end", "packet_meta", "mem", "mem_or_null", "func", "readonly_mem",
}

func (t regType) String() string { return typeNames[t] }

func (t regType) isPointer() bool { return t >= tCtx }

func (t regType) orNull() bool {
	return t == tMapValueOrNull || t == tMapHandleOrNull || t == tMemOrNull
}

// reg is what the verifier knows about a register (or a spilled one).
type reg struct {
	t regType
	// off is the fixed offset of a pointer; s is the value of a scalar or
	// the variable part of a pointer's offset (constant 0 when none).
	off int64
	s   scalar
	// id ties together copies of one lookup result (a NULL check on one
	// applies to all) and packet pointers with the same variable offset
	// (a bounds check through one applies to all).
	id uint32
	// ref is the reference a ring buffer reservation holds until it is
	// submitted or discarded.
	ref uint32
	// m describes the map of map values and handles (nil otherwise).
	m *mapRef
	// frame is the call frame a stack pointer points into.
	frame uint8
	// size bounds tMem and tReadonlyMem.
	size int64
	// fn is the first instruction of a tFunc.
	fn int
	// origin is the instruction that produced the value, for messages.
	origin int32
	// pl, for a scalar, says it is a packet length (see pktLen).
	pl pktLen
}

// pktLen tags a scalar computed as end - p, for a packet pointer p of
// packet id id and fixed offset off: while the tag holds, the scalar is
// exactly the number of packet bytes from p to the end (or, with shift
// 32, that number shifted left by 32). A check that proves it at least k
// proves k bytes from p are in the packet, and p (or a pointer of the
// same id at a lower offset) may be passed to a helper with it as the
// size. Only operations that keep the value exactly keep the tag.
type pktLen struct {
	ok    bool
	shift uint8
	id    uint32
	off   int64
}

// mapRef is a map as the verifier sees it.
type mapRef struct {
	idx      int // index into Program.Maps, or -1 for an inner map template
	info     *MapInfo
	readOnly bool
}

func scalarReg(s scalar, origin int) reg {
	return reg{t: tScalar, s: s, origin: int32(origin)}
}

var zero64 = constScalar(0)

// describe renders a register for messages: "map_value(counts, value 8 bytes, off 4)".
func (r *reg) describe() string {
	switch r.t {
	case tNotInit:
		return "uninitialized"
	case tScalar:
		return "scalar " + r.s.String()
	}
	var parts []string
	if r.m != nil {
		parts = append(parts, fmt.Sprintf("%s, value %d bytes", r.m.info.Name, r.m.info.ValueSize))
	}
	switch r.t {
	case tStack:
		parts = append(parts, fmt.Sprintf("frame %d", r.frame))
	case tMem, tMemOrNull, tReadonlyMem:
		parts = append(parts, fmt.Sprintf("%d bytes", r.size))
	case tFunc:
		parts = append(parts, fmt.Sprintf("instruction %d", r.fn))
	}
	if r.t != tMapHandle && r.t != tMapHandleOrNull && r.t != tFunc && r.t != tPacketEnd {
		o := fmt.Sprintf("off %d", r.off)
		if !(r.s.isConst() && r.s.value() == 0) {
			o += "+" + r.s.String()
		}
		parts = append(parts, o)
	}
	return fmt.Sprintf("%s(%s)", r.t, strings.Join(parts, ", "))
}

// slotKind is what a stack byte holds.
type slotKind uint8

const (
	slotUninit slotKind = iota
	slotMisc            // some initialized data
	slotSpill           // part of a spilled register
	slotZero            // known zero
	// slotPtrPart is what is left of a spilled pointer after part of it
	// was overwritten (or may have been): reading it as data would leak
	// part of an address, so it may only be overwritten.
	slotPtrPart
)

// stackSlot is 8 bytes of a frame, which may hold a spilled register.
type stackSlot struct {
	kind  [8]slotKind
	spill reg
}

// frame is one call frame: registers and 512 bytes of stack, kept as the
// slots from the top (slot 0 is [r10-8, r10)) down to the deepest used.
type frame struct {
	regs     [11]reg
	stack    []stackSlot
	callsite int  // instruction of the call that made this frame (-1 for the main program)
	retCheck bool // callbacks return 0 or 1
	fnStart  int
	// snapshot is, for a callback, the stacks of the frames below as they
	// were when it was called (see callbackReturn).
	snapshot [][]stackSlot
	// activation tells one run of a callback from the next: a state that
	// repeats within one run is an infinite loop; across runs it is the
	// helper calling the callback again, which the helper bounds.
	activation uint32
	// shared says stack's slots may also be another frame's: they are
	// copied before they are written.
	shared bool
}

// clone copies a frame; the two share the stack slots until one writes
// them (see own).
func (f *frame) clone() *frame {
	c := *f
	if len(f.stack) > 0 {
		f.shared, c.shared = true, true
	}
	return &c
}

// own gives the frame its own copy of the stack slots before a write.
func (f *frame) own() {
	if f.shared {
		f.stack = append(make([]stackSlot, 0, len(f.stack)+2), f.stack...)
		f.shared = false
	}
}

// state is the verifier's knowledge at one point of one path.
type state struct {
	frames []*frame
	// refs are the references (ring buffer reservations) held.
	refs []refInfo
	// pktRange[id] is how many bytes from their fixed offset packet
	// pointers of that id may access.
	pktRange map[uint32]int64
	// metaOK is whether data_meta was checked against data.
	metaRange int64
}

// refInfo is a reference and the instruction that acquired it.
type refInfo struct {
	id uint32
	pc int
}

func (s *state) cur() *frame { return s.frames[len(s.frames)-1] }

func (s *state) clone() *state {
	c := &state{frames: make([]*frame, len(s.frames)), refs: append([]refInfo(nil), s.refs...), metaRange: s.metaRange}
	for i, f := range s.frames {
		c.frames[i] = f.clone()
	}
	if s.pktRange != nil {
		c.pktRange = make(map[uint32]int64, len(s.pktRange))
		for k, v := range s.pktRange {
			c.pktRange[k] = v
		}
	}
	return c
}

// subsumes reports whether every concrete state that s (the current state
// at instruction pc) stands for is also one that old stands for, looking
// only at the registers live at pc: then whatever old was proven safe to
// continue from, s is too. exact asks for equality instead (loop
// detection). Ids (of lookup results, packet offsets and references) are
// compared through a mapping, since each path numbers them afresh.
func (old *state) subsumes(s *state, live uint16, exact bool) bool {
	if len(old.frames) != len(s.frames) || len(old.refs) != len(s.refs) {
		return false
	}
	var ids idmap
	for i := range old.refs {
		if !ids.same(old.refs[i].id, s.refs[i].id) {
			return false
		}
	}
	if s.metaRange < old.metaRange {
		return false
	}
	for i := range old.frames {
		of, nf := old.frames[i], s.frames[i]
		if of.callsite != nf.callsite {
			return false
		}
		mask := uint16(0x7ff)
		if i == len(old.frames)-1 {
			mask = live
		}
		for r := 0; r < 11; r++ {
			if mask&(1<<r) == 0 {
				continue
			}
			if !regIn(&of.regs[r], &nf.regs[r], exact, &ids) {
				return false
			}
		}
		if !stackIn(of.stack, nf.stack, exact, &ids) {
			return false
		}
	}
	// The packet bounds old relied on must hold in s too.
	for _, p := range ids {
		if r, ok := old.pktRange[p[0]]; ok && s.pktRange[p[1]] < r {
			return false
		}
	}
	if r := old.pktRange[0]; s.pktRange[0] < r {
		return false
	}
	return true
}

// idmap pairs old ids with new ones, consistently both ways.
type idmap [][2]uint32

func (m *idmap) same(a, b uint32) bool {
	if a == 0 || b == 0 {
		return a == b
	}
	for _, p := range *m {
		if p[0] == a || p[1] == b {
			return p[0] == a && p[1] == b
		}
	}
	*m = append(*m, [2]uint32{a, b})
	return true
}

// regIn reports whether everything b may be, a may be too.
func regIn(a, b *reg, exact bool, ids *idmap) bool {
	if a.t == tNotInit && !exact {
		return true // old never read it on the rest of its paths
	}
	if a.t != b.t {
		return false
	}
	switch a.t {
	case tNotInit:
		return true
	case tScalar:
		if a.pl.ok && (!b.pl.ok || a.pl.shift != b.pl.shift || a.pl.off != b.pl.off || !ids.same(a.pl.id, b.pl.id)) {
			return false // old may have relied on the packet length
		}
		if exact {
			return a.s == b.s && a.pl.ok == b.pl.ok
		}
		// Copies linked by an id are narrowed together by a check; old
		// may have relied on that, so b must be linked the same way.
		if a.id != 0 && (b.id == 0 || !ids.same(a.id, b.id)) {
			return false
		}
		return a.s.in(b.s)
	}
	if a.off != b.off || a.frame != b.frame || a.size != b.size || a.fn != b.fn {
		return false
	}
	if !ids.same(a.ref, b.ref) {
		return false
	}
	if (a.m == nil) != (b.m == nil) || (a.m != nil && (a.m.idx != b.m.idx || a.m.info != b.m.info)) {
		return false
	}
	if (a.t.orNull() || a.t == tPacket) && !ids.same(a.id, b.id) {
		return false
	}
	if exact {
		return a.s == b.s
	}
	return a.s.in(b.s)
}

func stackIn(a, b []stackSlot, exact bool, ids *idmap) bool {
	for i := range a {
		as := &a[i]
		var bs *stackSlot
		if i < len(b) {
			bs = &b[i]
		}
		for j := 0; j < 8; j++ {
			ak := as.kind[j]
			bk := slotUninit
			if bs != nil {
				bk = bs.kind[j]
			}
			switch {
			case (ak == slotUninit || ak == slotPtrPart) && !exact:
				// old never relied on this byte (reading it fails)
			case ak == bk:
			case ak == slotMisc && !exact && (bk == slotZero || bk == slotSpill && bs.spill.t == tScalar):
				// old only knew it was initialized data; a spilled
				// pointer is more than that (reading it as data would
				// be a leak old never had to rule out)
			default:
				return false
			}
		}
		if as.kind[0] == slotSpill && !regIn(&as.spill, &bs.spill, exact, ids) {
			return false
		}
	}
	if exact {
		for i := len(a); i < len(b); i++ {
			for _, k := range b[i].kind {
				if k != slotUninit {
					return false
				}
			}
		}
	}
	return true
}

// sameActivation reports whether two states are in the same runs of every
// callback on their call stacks.
func sameActivation(a, b *state) bool {
	if len(a.frames) != len(b.frames) {
		return false
	}
	for i := range a.frames {
		if a.frames[i].activation != b.frames[i].activation {
			return false
		}
	}
	return true
}

// forStore prepares a copy of a state to be kept for pruning: registers
// not live at pc (in the current frame) are dropped, and scalar ids that
// link nothing (no other live register or spill has them) are cleared,
// so that states differing only there still cover each other.
func (st *state) forStore(live uint16) {
	top := st.cur()
	for r := range top.regs {
		if live&(1<<r) == 0 {
			top.regs[r] = reg{}
		}
	}
	count := map[uint32]int{}
	forEachReg(st, func(y *reg) {
		if y.t == tScalar && y.id != 0 {
			count[y.id]++
		}
	})
	forEachReg(st, func(y *reg) {
		if y.t == tScalar && y.id != 0 && count[y.id] < 2 {
			y.id = 0
		}
	})
}

// size is roughly the memory a state holds, in bytes.
func (st *state) size() int {
	n := int(unsafe.Sizeof(*st)) + len(st.refs)*int(unsafe.Sizeof(refInfo{})) + len(st.pktRange)*16
	for _, f := range st.frames {
		n += int(unsafe.Sizeof(*f)) + len(f.stack)*int(unsafe.Sizeof(stackSlot{}))
		for _, s := range f.snapshot {
			n += len(s) * int(unsafe.Sizeof(stackSlot{}))
		}
	}
	return n
}
