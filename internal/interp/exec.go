package interp

import (
	"errors"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/ebpfhost/ebpfhost/isa"
)

// errUnwound carries a helper's Unwind out of nested executions.
var errUnwound = errors.New("unwound")

// ptr turns a program address into a pointer. Addresses of checked programs
// were bounds-checked; those of verified programs were proven in bounds.
func ptr(addr uint64) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), uintptr(addr)) }

// stop ends an execution on a helper's request.
func (vm *VM) stop() error {
	if vm.pending == pendingUnwind {
		return errUnwound
	}
	return vm.failure
}

// execState is what the execution loop needs besides the registers and the
// instruction pointer. It lives in memory (see keep), so the compiler keeps
// none of it in registers across the dispatch; only the cases that leave the
// loop load from it.
type execState struct {
	vm   *VM
	p    *Program
	base int            // call depth of the frame this execution returns from
	ip   unsafe.Pointer // ip across calls out of the loop
}

// keep takes the address of an execState where the compiler cannot see what
// happens to it, which makes the state live in exec's stack frame.
//
//go:noinline
func keep(*execState) {}

// exec runs p from slot entry on frame vm.depth with r1-r5 from args, until
// the exit of that frame.
//
// The loop keeps the register file in a local array and dispatches once per
// instruction on a dense op byte; operands are pre-decoded. Checked and
// budgeted programs differ only by the opCheck and opCharge slots Compile
// inserted, so every mode runs the same case bodies.
//
// It is shaped for the code Go generates: the loop uses st instead of vm and
// p, and stores ip to st before every call out of the loop and reloads it
// after, so that no value is live across a call and the dispatch needs no
// register shuffles or spills. docs/performance.md has the measurements.
func (vm *VM) exec(p *Program, entry int, args *[5]uint64) (uint64, error) {
	var r [16]uint64
	r[1], r[2], r[3], r[4], r[5] = args[0], args[1], args[2], args[3], args[4]
	st := execState{vm: vm, p: p, base: vm.depth}
	keep(&st)
	r[10] = vm.stackTop - uint64(st.base)*StackSize
	// ip points at the next slot. Compile guarantees every jump lands on a
	// slot and the code ends with two sentinels, so ip never leaves code.
	ip := unsafe.Pointer(&p.code[entry])

	for {
		s := (*slot)(ip)
		ip = unsafe.Add(ip, slotSize)
		switch s.op {
		// 64-bit ALU.
		case opAdd64Imm:
			r[s.dst&15] += s.imm
		case opAdd64Reg:
			r[s.dst&15] += r[s.src&15]
		case opSub64Imm:
			r[s.dst&15] -= s.imm
		case opSub64Reg:
			r[s.dst&15] -= r[s.src&15]
		case opMul64Imm:
			r[s.dst&15] *= s.imm
		case opMul64Reg:
			r[s.dst&15] *= r[s.src&15]
		case opDiv64Imm:
			r[s.dst&15] /= s.imm
		case opDiv64Reg:
			if d := r[s.src&15]; d != 0 {
				r[s.dst&15] /= d
			} else {
				r[s.dst&15] = 0
			}
		case opSdiv64Imm:
			r[s.dst&15] = uint64(int64(r[s.dst&15]) / int64(s.imm))
		case opSdiv64Reg:
			if d := int64(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(int64(r[s.dst&15]) / d)
			} else {
				r[s.dst&15] = 0
			}
		case opMod64Imm:
			r[s.dst&15] %= s.imm
		case opMod64Reg:
			if d := r[s.src&15]; d != 0 {
				r[s.dst&15] %= d
			}
		case opSmod64Imm:
			r[s.dst&15] = uint64(int64(r[s.dst&15]) % int64(s.imm))
		case opSmod64Reg:
			if d := int64(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(int64(r[s.dst&15]) % d)
			}
		case opOr64Imm:
			r[s.dst&15] |= s.imm
		case opOr64Reg:
			r[s.dst&15] |= r[s.src&15]
		case opAnd64Imm:
			r[s.dst&15] &= s.imm
		case opAnd64Reg:
			r[s.dst&15] &= r[s.src&15]
		case opXor64Imm:
			r[s.dst&15] ^= s.imm
		case opXor64Reg:
			r[s.dst&15] ^= r[s.src&15]
		case opLsh64Imm:
			r[s.dst&15] <<= s.imm & 63
		case opLsh64Reg:
			r[s.dst&15] <<= r[s.src&15] & 63
		case opRsh64Imm:
			r[s.dst&15] >>= s.imm & 63
		case opRsh64Reg:
			r[s.dst&15] >>= r[s.src&15] & 63
		case opArsh64Imm:
			r[s.dst&15] = uint64(int64(r[s.dst&15]) >> (s.imm & 63))
		case opArsh64Reg:
			r[s.dst&15] = uint64(int64(r[s.dst&15]) >> (r[s.src&15] & 63))
		case opMov64Imm:
			r[s.dst&15] = s.imm
		case opMov64Reg:
			r[s.dst&15] = r[s.src&15]
		case opNeg64:
			r[s.dst&15] = -r[s.dst&15]
		case opMovsx8To64:
			r[s.dst&15] = uint64(int64(int8(r[s.src&15])))
		case opMovsx16To64:
			r[s.dst&15] = uint64(int64(int16(r[s.src&15])))
		case opMovsx32To64:
			r[s.dst&15] = uint64(int64(int32(r[s.src&15])))

		// 32-bit ALU.
		case opAdd32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) + uint32(s.imm))
		case opAdd32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) + uint32(r[s.src&15]))
		case opSub32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) - uint32(s.imm))
		case opSub32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) - uint32(r[s.src&15]))
		case opMul32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) * uint32(s.imm))
		case opMul32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) * uint32(r[s.src&15]))
		case opDiv32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) / uint32(s.imm))
		case opDiv32Reg:
			if d := uint32(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(uint32(r[s.dst&15]) / d)
			} else {
				r[s.dst&15] = 0
			}
		case opSdiv32Imm:
			r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) / int32(s.imm)))
		case opSdiv32Reg:
			if d := int32(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) / d))
			} else {
				r[s.dst&15] = 0
			}
		case opMod32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) % uint32(s.imm))
		case opMod32Reg:
			if d := uint32(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(uint32(r[s.dst&15]) % d)
			} else {
				r[s.dst&15] = uint64(uint32(r[s.dst&15]))
			}
		case opSmod32Imm:
			r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) % int32(s.imm)))
		case opSmod32Reg:
			if d := int32(r[s.src&15]); d != 0 {
				r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) % d))
			} else {
				r[s.dst&15] = uint64(uint32(r[s.dst&15]))
			}
		case opOr32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) | uint32(s.imm))
		case opOr32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) | uint32(r[s.src&15]))
		case opAnd32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) & uint32(s.imm))
		case opAnd32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) & uint32(r[s.src&15]))
		case opXor32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) ^ uint32(s.imm))
		case opXor32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) ^ uint32(r[s.src&15]))
		case opLsh32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) << (s.imm & 31))
		case opLsh32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) << (r[s.src&15] & 31))
		case opRsh32Imm:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) >> (s.imm & 31))
		case opRsh32Reg:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]) >> (r[s.src&15] & 31))
		case opArsh32Imm:
			r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) >> (s.imm & 31)))
		case opArsh32Reg:
			r[s.dst&15] = uint64(uint32(int32(r[s.dst&15]) >> (r[s.src&15] & 31)))
		case opMov32Imm:
			r[s.dst&15] = uint64(uint32(s.imm))
		case opMov32Reg:
			r[s.dst&15] = uint64(uint32(r[s.src&15]))
		case opNeg32:
			r[s.dst&15] = uint64(-uint32(r[s.dst&15]))
		case opMovsx8To32:
			r[s.dst&15] = uint64(uint32(int32(int8(r[s.src&15]))))
		case opMovsx16To32:
			r[s.dst&15] = uint64(uint32(int32(int16(r[s.src&15]))))

		// Byte order.
		case opZext16:
			r[s.dst&15] = uint64(uint16(r[s.dst&15]))
		case opZext32:
			r[s.dst&15] = uint64(uint32(r[s.dst&15]))
		case opNop:
		case opBswap16:
			r[s.dst&15] = uint64(bits.ReverseBytes16(uint16(r[s.dst&15])))
		case opBswap32:
			r[s.dst&15] = uint64(bits.ReverseBytes32(uint32(r[s.dst&15])))
		case opBswap64:
			r[s.dst&15] = bits.ReverseBytes64(r[s.dst&15])

		// Jumps.
		case opJa:
			ip = unsafe.Add(ip, s.off)
		case opJeqImm:
			if r[s.dst&15] == s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJeqReg:
			if r[s.dst&15] == r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJneImm:
			if r[s.dst&15] != s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJneReg:
			if r[s.dst&15] != r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgtImm:
			if r[s.dst&15] > s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgtReg:
			if r[s.dst&15] > r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgeImm:
			if r[s.dst&15] >= s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgeReg:
			if r[s.dst&15] >= r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJltImm:
			if r[s.dst&15] < s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJltReg:
			if r[s.dst&15] < r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJleImm:
			if r[s.dst&15] <= s.imm {
				ip = unsafe.Add(ip, s.off)
			}
		case opJleReg:
			if r[s.dst&15] <= r[s.src&15] {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgtImm:
			if int64(r[s.dst&15]) > int64(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgtReg:
			if int64(r[s.dst&15]) > int64(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgeImm:
			if int64(r[s.dst&15]) >= int64(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgeReg:
			if int64(r[s.dst&15]) >= int64(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsltImm:
			if int64(r[s.dst&15]) < int64(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsltReg:
			if int64(r[s.dst&15]) < int64(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsleImm:
			if int64(r[s.dst&15]) <= int64(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsleReg:
			if int64(r[s.dst&15]) <= int64(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsetImm:
			if r[s.dst&15]&s.imm != 0 {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsetReg:
			if r[s.dst&15]&r[s.src&15] != 0 {
				ip = unsafe.Add(ip, s.off)
			}
		case opJeq32Imm:
			if uint32(r[s.dst&15]) == uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJeq32Reg:
			if uint32(r[s.dst&15]) == uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJne32Imm:
			if uint32(r[s.dst&15]) != uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJne32Reg:
			if uint32(r[s.dst&15]) != uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgt32Imm:
			if uint32(r[s.dst&15]) > uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJgt32Reg:
			if uint32(r[s.dst&15]) > uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJge32Imm:
			if uint32(r[s.dst&15]) >= uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJge32Reg:
			if uint32(r[s.dst&15]) >= uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJlt32Imm:
			if uint32(r[s.dst&15]) < uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJlt32Reg:
			if uint32(r[s.dst&15]) < uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJle32Imm:
			if uint32(r[s.dst&15]) <= uint32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJle32Reg:
			if uint32(r[s.dst&15]) <= uint32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgt32Imm:
			if int32(r[s.dst&15]) > int32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsgt32Reg:
			if int32(r[s.dst&15]) > int32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsge32Imm:
			if int32(r[s.dst&15]) >= int32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsge32Reg:
			if int32(r[s.dst&15]) >= int32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJslt32Imm:
			if int32(r[s.dst&15]) < int32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJslt32Reg:
			if int32(r[s.dst&15]) < int32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsle32Imm:
			if int32(r[s.dst&15]) <= int32(s.imm) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJsle32Reg:
			if int32(r[s.dst&15]) <= int32(r[s.src&15]) {
				ip = unsafe.Add(ip, s.off)
			}
		case opJset32Imm:
			if uint32(r[s.dst&15])&uint32(s.imm) != 0 {
				ip = unsafe.Add(ip, s.off)
			}
		case opJset32Reg:
			if uint32(r[s.dst&15])&uint32(r[s.src&15]) != 0 {
				ip = unsafe.Add(ip, s.off)
			}

		// Memory.
		case opLdxb:
			r[s.dst&15] = uint64(*(*uint8)(ptr(r[s.src&15] + uint64(s.off))))
		case opLdxh:
			r[s.dst&15] = uint64(*(*uint16)(ptr(r[s.src&15] + uint64(s.off))))
		case opLdxw:
			r[s.dst&15] = uint64(*(*uint32)(ptr(r[s.src&15] + uint64(s.off))))
		case opLdxdw:
			r[s.dst&15] = *(*uint64)(ptr(r[s.src&15] + uint64(s.off)))
		case opLdxsb:
			r[s.dst&15] = uint64(int64(*(*int8)(ptr(r[s.src&15] + uint64(s.off)))))
		case opLdxsh:
			r[s.dst&15] = uint64(int64(*(*int16)(ptr(r[s.src&15] + uint64(s.off)))))
		case opLdxsw:
			r[s.dst&15] = uint64(int64(*(*int32)(ptr(r[s.src&15] + uint64(s.off)))))
		case opStb:
			*(*uint8)(ptr(r[s.dst&15] + uint64(s.off))) = uint8(s.imm)
		case opSth:
			*(*uint16)(ptr(r[s.dst&15] + uint64(s.off))) = uint16(s.imm)
		case opStw:
			*(*uint32)(ptr(r[s.dst&15] + uint64(s.off))) = uint32(s.imm)
		case opStdw:
			*(*uint64)(ptr(r[s.dst&15] + uint64(s.off))) = s.imm
		case opStxb:
			*(*uint8)(ptr(r[s.dst&15] + uint64(s.off))) = uint8(r[s.src&15])
		case opStxh:
			*(*uint16)(ptr(r[s.dst&15] + uint64(s.off))) = uint16(r[s.src&15])
		case opStxw:
			*(*uint32)(ptr(r[s.dst&15] + uint64(s.off))) = uint32(r[s.src&15])
		case opStxdw:
			*(*uint64)(ptr(r[s.dst&15] + uint64(s.off))) = r[s.src&15]
		case opAtomic:
			st.ip = ip
			atomicOp(s, &r)
			ip = st.ip

		// Calls and the rest.
		case opLddw:
			r[s.dst&15] = s.imm
		case opCall:
			st.ip = ip
			r[0] = st.p.helpers[s.imm](st.vm, r[1], r[2], r[3], r[4], r[5])
			ip = st.ip
			if st.vm.pending != pendingNone {
				if st.vm.pending != pendingTailCall {
					return 0, st.vm.stop()
				}
				ip = st.tailCall(&r)
			}
		case opCallx:
			id := r[s.dst&15]
			h, ok := st.p.helperByID[int32(id)]
			if !ok || h == nil || id > 1<<31-1 {
				return 0, st.vm.fault(st.p.index(ip)-1, "callx: r%d holds %d, which is not the id of a helper this program may call", s.dst, id)
			}
			st.ip = ip
			r[0] = h(st.vm, r[1], r[2], r[3], r[4], r[5])
			ip = st.ip
			if st.vm.pending != pendingNone {
				if st.vm.pending != pendingTailCall {
					return 0, st.vm.stop()
				}
				ip = st.tailCall(&r)
			}
		case opCallLocal:
			if st.vm.depth+1 >= MaxFrames {
				return 0, st.vm.fault(st.p.index(ip)-1, "call nests deeper than %d frames", MaxFrames)
			}
			f := &st.vm.frames[st.vm.depth]
			f.prog = st.p
			f.ret = int32(st.p.index(ip))
			f.callee = [4]uint64{r[6], r[7], r[8], r[9]}
			st.vm.depth++
			r[10] -= StackSize
			ip = unsafe.Add(ip, s.off)
		case opExit:
			if st.vm.depth == st.base {
				return r[0], nil
			}
			st.vm.depth--
			f := &st.vm.frames[st.vm.depth]
			r[6], r[7], r[8], r[9] = f.callee[0], f.callee[1], f.callee[2], f.callee[3]
			r[10] += StackSize
			if f.prog != st.p { // a tail call replaced the callee
				st.p, st.vm.prog = f.prog, f.prog
			}
			ip = unsafe.Pointer(&st.p.code[f.ret])
		case opFellOff:
			return 0, st.vm.fault(st.p.index(ip)-1, "execution ran past the last instruction without an exit")

		// Inserted slots.
		case opCheck:
			st.ip = ip
			addr, size, write := memAccess((*slot)(ip), &r)
			ok := st.vm.checkAccess(addr, size, write)
			ip = st.ip
			if !ok {
				kind := "read"
				if write {
					kind = "write"
				}
				return 0, st.vm.fault(st.p.index(ip), "%s of %d bytes at 0x%x is outside the memory this program was given", kind, size, addr)
			}
			// Misaligned atomics fault on some CPUs (arm64) rather than
			// merely running slowly; the verifier rejects them too.
			if (*slot)(ip).op == opAtomic && addr%size != 0 {
				return 0, st.vm.fault(st.p.index(ip), "atomic access of %d bytes at 0x%x is not aligned", size, addr)
			}
		case opCharge:
			st.vm.steps += s.imm
			if st.vm.steps > st.p.budget {
				return 0, ErrBudgetExceeded
			}
		default:
			return 0, st.vm.fault(st.p.index(ip)-1, "invalid internal operation %d", s.op)
		}
	}
}

// tailCall switches the execution to the program a helper asked for with
// VM.TailCall and returns the new instruction pointer.
func (st *execState) tailCall(r *[16]uint64) unsafe.Pointer {
	vm := st.vm
	p := vm.tailTarget
	vm.pending, vm.tailTarget = pendingNone, nil
	st.p, vm.prog = p, p
	r[1] = vm.tailCtx
	return unsafe.Pointer(&p.code[0])
}

// memAccess returns the address, width and direction of a load, store or
// atomic slot.
func memAccess(s *slot, r *[16]uint64) (addr, size uint64, write bool) {
	switch s.op {
	case opLdxb, opLdxsb:
		return r[s.src&15] + uint64(s.off), 1, false
	case opLdxh, opLdxsh:
		return r[s.src&15] + uint64(s.off), 2, false
	case opLdxw, opLdxsw:
		return r[s.src&15] + uint64(s.off), 4, false
	case opLdxdw:
		return r[s.src&15] + uint64(s.off), 8, false
	case opStb, opStxb:
		size = 1
	case opSth, opStxh:
		size = 2
	case opStw, opStxw:
		size = 4
	case opStdw, opStxdw:
		size = 8
	case opAtomic:
		size = 4
		if s.imm&atomic64 != 0 {
			size = 8
		}
	}
	return r[s.dst&15] + uint64(s.off), size, true
}

// atomicOp performs the atomic read-modify-write of slot s.
func atomicOp(s *slot, r *[16]uint64) {
	p := ptr(r[s.dst&15] + uint64(s.off))
	src := &r[s.src&15]
	code := uint8(s.imm)
	if s.imm&atomic64 != 0 {
		a := (*uint64)(p)
		var old uint64
		switch code &^ isa.AtomicFetch {
		case isa.AtomicAdd:
			old = atomic.AddUint64(a, *src) - *src
		case isa.AtomicOr:
			old = atomic.OrUint64(a, *src)
		case isa.AtomicAnd:
			old = atomic.AndUint64(a, *src)
		case isa.AtomicXor:
			for {
				old = atomic.LoadUint64(a)
				if atomic.CompareAndSwapUint64(a, old, old^*src) {
					break
				}
			}
		case isa.AtomicXchg &^ isa.AtomicFetch:
			old = atomic.SwapUint64(a, *src)
		case isa.AtomicCmpXchg &^ isa.AtomicFetch:
			for {
				old = atomic.LoadUint64(a)
				if old != r[0] || atomic.CompareAndSwapUint64(a, old, *src) {
					break
				}
			}
			r[0] = old
			return
		}
		if code&isa.AtomicFetch != 0 {
			*src = old
		}
		return
	}
	a := (*uint32)(p)
	v := uint32(*src)
	var old uint32
	switch code &^ isa.AtomicFetch {
	case isa.AtomicAdd:
		old = atomic.AddUint32(a, v) - v
	case isa.AtomicOr:
		old = atomic.OrUint32(a, v)
	case isa.AtomicAnd:
		old = atomic.AndUint32(a, v)
	case isa.AtomicXor:
		for {
			old = atomic.LoadUint32(a)
			if atomic.CompareAndSwapUint32(a, old, old^v) {
				break
			}
		}
	case isa.AtomicXchg &^ isa.AtomicFetch:
		old = atomic.SwapUint32(a, v)
	case isa.AtomicCmpXchg &^ isa.AtomicFetch:
		for {
			old = atomic.LoadUint32(a)
			if old != uint32(r[0]) || atomic.CompareAndSwapUint32(a, old, v) {
				break
			}
		}
		r[0] = uint64(old)
		return
	}
	if code&isa.AtomicFetch != 0 {
		*src = uint64(old)
	}
}
