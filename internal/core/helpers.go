package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
)

// errno returns -e as a helper result.
func errno(e maps.Errno) uint64 { return uint64(-int64(e)) }

// maxHelperMem bounds the memory one helper argument may span. Verified
// programs never come near it; it stops a wild size from turning into a
// wild copy.
const maxHelperMem = 1 << 30

// helperFault stops the program: a helper was handed something the verifier
// should have refused (in checked mode, where that is a verifier bug).
func helperFault(vm *interp.VM, helper, format string, args ...any) uint64 {
	vm.Fail(fmt.Errorf("helper %s: %s", helper, fmt.Sprintf(format, args...)))
	return 0
}

// MemArg returns n bytes of program memory at addr for a helper, or false
// after failing the program when the program may not access them.
// Extensions' helpers use it for their pointer arguments: in checked mode
// it catches what the verifier should have refused.
func MemArg(vm *interp.VM, helper string, addr, n uint64, write bool) ([]byte, bool) {
	return memArg(vm, helper, addr, n, write)
}

// CopyOut is how extensions' helpers return a string to a program: it
// copies s (no NUL) into the size-byte buffer at buf and returns its
// length, or -EINVAL when it does not fit (ntosebpfext's convention).
func CopyOut(vm *interp.VM, helper string, buf, size uint64, s string) uint64 {
	if uint64(len(s)) > size {
		return NegErrno(syscall.EINVAL)
	}
	b, ok := memArg(vm, helper, buf, uint64(len(s)), true)
	if !ok {
		return 0
	}
	copy(b, s)
	return uint64(len(s))
}

// NegErrno is -e as a helper's return value.
func NegErrno(e syscall.Errno) uint64 { return uint64(-int64(e)) }

func memArg(vm *interp.VM, helper string, addr, n uint64, write bool) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if addr == 0 || n > maxHelperMem || !vm.Accessible(addr, n, write) {
		kind := "readable"
		if write {
			kind = "writable"
		}
		helperFault(vm, helper, "%d bytes at 0x%x are not %s memory of this program", n, addr, kind)
		return nil, false
	}
	return mem.Slice(addr, int(n)), true
}

// mapArg returns the map a handle refers to, or fails the program.
func (rt *Runtime) mapArg(vm *interp.VM, helper string, handle uint64) *Map {
	m := rt.mapOf(handle)
	if m == nil {
		helperFault(vm, helper, "0x%x is not a map", handle)
	}
	return m
}

// grantValue lets a checked program use the map value a helper returns.
func grantValue(vm *interp.VM, m *Map, addr uint64) {
	if addr != 0 && m.lookupGrants && vm.Checked() && !vm.Accessible(addr, m.valueSize, m.progWritable) {
		vm.Grant(addr, m.valueSize, m.progWritable)
	}
}

// generalHelpers returns the implementations of every general helper, by
// id. Each has its prototype in package progtype.
func (rt *Runtime) generalHelpers() map[int32]interp.Helper {
	h := map[int32]interp.Helper{
		pt.HelperMapLookupElem:      rt.mapLookupElem,
		pt.HelperMapUpdateElem:      rt.mapUpdateElem,
		pt.HelperMapDeleteElem:      rt.mapDeleteElem,
		pt.HelperMapLookupPercpuEle: rt.mapLookupPercpuElem,
		pt.HelperMapPushElem: rt.queueHelper("bpf_map_push_elem", false, func(q maps.QueueLike, v []byte, flags uint64) error {
			return q.Push(v, flags)
		}),
		pt.HelperMapPopElem: rt.queueHelper("bpf_map_pop_elem", true, func(q maps.QueueLike, v []byte, _ uint64) error {
			return q.Pop(v)
		}),
		pt.HelperMapPeekElem: rt.queueHelper("bpf_map_peek_elem", true, func(q maps.QueueLike, v []byte, _ uint64) error {
			return q.Peek(v)
		}),
		pt.HelperTailCall:          rt.tailCall,
		pt.HelperForEachMapElem:    rt.forEachMapElem,
		pt.HelperLoop:              loop,
		pt.HelperRingbufOutput:     rt.ringbufOutput,
		pt.HelperRingbufReserve:    rt.ringbufReserve,
		pt.HelperRingbufSubmit:     rt.ringbufSubmit,
		pt.HelperRingbufDiscard:    rt.ringbufDiscard,
		pt.HelperRingbufQuery:      rt.ringbufQuery,
		pt.HelperKtimeGetNs:        func(*interp.VM, uint64, uint64, uint64, uint64, uint64) uint64 { return ktimeNs() },
		pt.HelperKtimeGetBootNs:    func(*interp.VM, uint64, uint64, uint64, uint64, uint64) uint64 { return boottimeNs() },
		pt.HelperKtimeGetCoarseNs:  func(*interp.VM, uint64, uint64, uint64, uint64, uint64) uint64 { return ktimeNs() },
		pt.HelperKtimeGetMs:        func(*interp.VM, uint64, uint64, uint64, uint64, uint64) uint64 { return ktimeNs() / 1e6 },
		pt.HelperKtimeGetBootMs:    func(*interp.VM, uint64, uint64, uint64, uint64, uint64) uint64 { return boottimeNs() / 1e6 },
		pt.HelperGetPrandomU32:     prandom,
		pt.HelperGetSmpProcessorID: func(vm *interp.VM, _, _, _, _, _ uint64) uint64 { return uint64(vm.CPU) },
		pt.HelperGetCurrentPidTgid: currentPidTgid,
		pt.HelperGetCurrentUidGid:  currentUidGid,
		pt.HelperGetCurrentComm:    currentComm,
		pt.HelperTracePrintk:       rt.tracePrintk,
		pt.HelperSnprintf:          snprintf,
		pt.HelperStrncmp:           strncmp,
		pt.HelperCsumDiff:          csumDiff,
		pt.HelperMemcpyS:           memcpyS,
		pt.HelperMemmoveS:          memcpyS, // copy handles overlap
		pt.HelperMemcmpS:           memcmpS,
		pt.HelperMemset:            memset,
		pt.HelperStrncpyS:          strncpyS,
		pt.HelperStrncatS:          strncatS,
		pt.HelperStrnlenS:          strnlenS,
	}
	for id := range h {
		if _, ok := pt.GeneralHelper(id); !ok {
			panic(fmt.Sprintf("core: helper %d has no prototype", id))
		}
	}
	return h
}

// Map helpers.

// mapLookupElem is bpf_map_lookup_elem(map, key). It is the hottest
// helper, so it computes array addresses itself and checks memory only for
// checked programs.
func (rt *Runtime) mapLookupElem(vm *interp.VM, r1, r2, _, _, _ uint64) uint64 {
	m := rt.mapOf(r1)
	if m == nil || r2 == 0 {
		return helperFault(vm, "bpf_map_lookup_elem", "0x%x is not a map, or the key 0x%x is NULL", r1, r2)
	}
	if vm.Checked() {
		return m.lookupChecked(vm, r2)
	}
	if a := &m.array; a.Stride != 0 {
		idx := *(*uint32)(mem.Pointer(r2))
		if idx >= a.Entries {
			return 0
		}
		return a.Base + uint64(vm.CPU)*a.CPUSpan + uint64(idx)*a.Stride
	}
	return m.m.Lookup(mem.Slice(r2, int(m.keySize)), vm.CPU)
}

// lookupChecked is bpf_map_lookup_elem for a checked program: the key must
// be readable, and a value found is granted.
func (m *Map) lookupChecked(vm *interp.VM, keyAddr uint64) uint64 {
	key, ok := memArg(vm, "bpf_map_lookup_elem", keyAddr, m.keySize, false)
	if !ok {
		return 0
	}
	v := m.m.Lookup(key, vm.CPU)
	grantValue(vm, m, v)
	return v
}

func (rt *Runtime) mapLookupPercpuElem(vm *interp.VM, r1, r2, cpu, _, _ uint64) uint64 {
	const name = "bpf_map_lookup_percpu_elem"
	m := rt.mapArg(vm, name, r1)
	if m == nil {
		return 0
	}
	if !m.spec.Type.PerCPU() || cpu >= uint64(rt.CPUs()) {
		return 0
	}
	key, ok := memArg(vm, name, r2, m.keySize, false)
	if !ok {
		return 0
	}
	v := m.m.Lookup(key, int(cpu))
	grantValue(vm, m, v)
	return v
}

func (rt *Runtime) mapUpdateElem(vm *interp.VM, r1, r2, r3, flags, _ uint64) uint64 {
	const name = "bpf_map_update_elem"
	m := rt.mapArg(vm, name, r1)
	if m == nil {
		return 0
	}
	key, ok := memArg(vm, name, r2, m.keySize, false)
	if !ok {
		return 0
	}
	value, ok := memArg(vm, name, r3, m.valueSize, false)
	if !ok {
		return 0
	}
	return maps.HelperResult(m.m.Update(key, value, flags, vm.CPU))
}

func (rt *Runtime) mapDeleteElem(vm *interp.VM, r1, r2, _, _, _ uint64) uint64 {
	const name = "bpf_map_delete_elem"
	m := rt.mapArg(vm, name, r1)
	if m == nil {
		return 0
	}
	key, ok := memArg(vm, name, r2, m.keySize, false)
	if !ok {
		return 0
	}
	return maps.HelperResult(m.m.Delete(key))
}

// queueArg returns the queue or stack a handle refers to.
func (rt *Runtime) queueArg(vm *interp.VM, name string, handle uint64) (*Map, maps.QueueLike) {
	m := rt.mapArg(vm, name, handle)
	if m == nil {
		return nil, nil
	}
	q, ok := m.m.(maps.QueueLike)
	if !ok {
		return m, nil
	}
	return m, q
}

// queueHelper makes bpf_map_push_elem (write=false: the value is read),
// bpf_map_pop_elem and bpf_map_peek_elem (write=true: the value is filled).
func (rt *Runtime) queueHelper(name string, write bool, op func(q maps.QueueLike, value []byte, flags uint64) error) interp.Helper {
	return func(vm *interp.VM, r1, r2, flags, _, _ uint64) uint64 {
		m, q := rt.queueArg(vm, name, r1)
		if q == nil {
			return errno(maps.EINVAL)
		}
		value, ok := memArg(vm, name, r2, m.valueSize, write)
		if !ok {
			return 0
		}
		return maps.HelperResult(op(q, value, flags))
	}
}

// tailCall is bpf_tail_call(ctx, prog_array, index): on success the program
// continues in the target and this helper does not return to it.
func (rt *Runtime) tailCall(vm *interp.VM, ctx, r2, index, _, _ uint64) uint64 {
	m := rt.mapArg(vm, "bpf_tail_call", r2)
	if m == nil {
		return 0
	}
	pa, ok := m.m.(*maps.ProgArrayMap)
	if !ok || index > 0xffffffff {
		return errno(maps.EINVAL)
	}
	id, ok := pa.Program(uint32(index))
	if !ok {
		return errno(maps.ENOENT)
	}
	target, ok := rt.ProgramByID(id)
	inv := vm.Env.(*invocation)
	if !ok || target.typ != inv.prog.typ {
		return errno(maps.EINVAL)
	}
	if !vm.TailCall(target.code, ctx) {
		return errno(maps.E2BIG)
	}
	inv.prog = target
	if vm.Checked() {
		for _, g := range target.grants {
			vm.Grant(g.Addr, g.Size, g.Writable)
		}
	}
	return 0
}

// forEachMapElem is bpf_for_each_map_elem(map, callback, ctx, flags): it
// calls callback(map, key, value, ctx) for each element until the callback
// returns 1, and returns the number of elements visited.
func (rt *Runtime) forEachMapElem(vm *interp.VM, r1, fn, ctx, flags, _ uint64) uint64 {
	const name = "bpf_for_each_map_elem"
	m := rt.mapArg(vm, name, r1)
	if m == nil {
		return 0
	}
	if flags != 0 {
		return errno(maps.EINVAL)
	}
	it, ok := m.m.(maps.Iterable)
	if !ok {
		return errno(maps.EINVAL)
	}
	cpu := vm.Env.(*invocation).cpu
	scratch := cpu.scratch.Bytes()[:m.keySize]
	scratchAddr := cpu.scratch.Addr()
	n := it.Iterate(vm.CPU, scratch, scratchAddr, func(k, v uint64) bool {
		if vm.Checked() {
			vm.Grant(k, m.keySize, false)
			vm.Grant(v, m.valueSize, m.progWritable)
		}
		r0, err := vm.CallFunction(fn, m.handle, k, v, ctx)
		return err == nil && r0 == 0
	})
	return uint64(n)
}

// maxLoops is bpf_loop's limit on iterations, as in Linux.
const maxLoops = 1 << 23

// loop is bpf_loop(n, callback, ctx, flags): callback(i, ctx) for i from 0
// until n or until the callback returns 1; returns the iterations made.
func loop(vm *interp.VM, n, fn, ctx, flags, _ uint64) uint64 {
	if flags != 0 {
		return errno(maps.EINVAL)
	}
	if n > maxLoops {
		return errno(maps.E2BIG)
	}
	var i uint64
	for i < n {
		r0, err := vm.CallFunction(fn, i, ctx)
		i++
		if err != nil || r0 == 1 {
			break
		}
	}
	return i
}

// Ring buffer helpers.

func (rt *Runtime) ringArg(vm *interp.VM, name string, handle uint64) *maps.RingBufMap {
	m := rt.mapArg(vm, name, handle)
	if m == nil {
		return nil
	}
	rb, _ := m.m.(*maps.RingBufMap)
	return rb
}

func (rt *Runtime) ringbufOutput(vm *interp.VM, r1, data, size, flags, _ uint64) uint64 {
	const name = "bpf_ringbuf_output"
	rb := rt.ringArg(vm, name, r1)
	if rb == nil {
		return errno(maps.EINVAL)
	}
	b, ok := memArg(vm, name, data, size, false)
	if !ok {
		return 0
	}
	return maps.HelperResult(rb.Output(b, flags))
}

func (rt *Runtime) ringbufReserve(vm *interp.VM, r1, size, flags, _, _ uint64) uint64 {
	rb := rt.ringArg(vm, "bpf_ringbuf_reserve", r1)
	if rb == nil || flags != 0 {
		return 0
	}
	addr := rb.Reserve(size)
	if addr != 0 {
		inv := vm.Env.(*invocation)
		inv.reservations = append(inv.reservations, reservation{addr, rb})
		if vm.Checked() {
			vm.Grant(addr, size, true)
		}
	}
	return addr
}

// reservation is a ring buffer record a run reserved and has not yet
// submitted or discarded; the verifier makes programs settle each before
// they exit, so the list stays short.
type reservation struct {
	addr uint64
	rb   *maps.RingBufMap
}

// settle finds and forgets the reservation at addr for submit or discard.
func settle(vm *interp.VM, name string, addr uint64) *maps.RingBufMap {
	inv := vm.Env.(*invocation)
	for i, r := range inv.reservations {
		if r.addr == addr {
			inv.reservations = append(inv.reservations[:i], inv.reservations[i+1:]...)
			if vm.Checked() {
				vm.Revoke(addr)
			}
			return r.rb
		}
	}
	helperFault(vm, name, "0x%x is not a ring buffer record reserved in this run", addr)
	return nil
}

func (rt *Runtime) ringbufSubmit(vm *interp.VM, addr, flags, _, _, _ uint64) uint64 {
	if rb := settle(vm, "bpf_ringbuf_submit", addr); rb != nil {
		rb.Submit(addr, flags)
	}
	return 0
}

func (rt *Runtime) ringbufDiscard(vm *interp.VM, addr, flags, _, _, _ uint64) uint64 {
	if rb := settle(vm, "bpf_ringbuf_discard", addr); rb != nil {
		rb.Discard(addr, flags)
	}
	return 0
}

func (rt *Runtime) ringbufQuery(vm *interp.VM, r1, flags, _, _, _ uint64) uint64 {
	rb := rt.ringArg(vm, "bpf_ringbuf_query", r1)
	if rb == nil {
		return 0
	}
	return rb.Query(flags)
}

// Process and CPU helpers.

func prandom(vm *interp.VM, _, _, _, _, _ uint64) uint64 {
	c := vm.Env.(*invocation).cpu
	// xorshift64*: fast, per-CPU, good enough for sampling decisions.
	x := c.rand
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	c.rand = x
	return uint64(uint32((x * 0x2545f4914f6cdd1d) >> 32))
}

func currentTask(vm *interp.VM) *Task {
	if inv, ok := vm.Env.(*invocation); ok && inv.task != nil {
		return inv.task
	}
	return &Task{}
}

func currentPidTgid(vm *interp.VM, _, _, _, _, _ uint64) uint64 {
	t := currentTask(vm)
	return uint64(t.TGID)<<32 | uint64(t.PID)
}

func currentUidGid(vm *interp.VM, _, _, _, _, _ uint64) uint64 {
	t := currentTask(vm)
	return uint64(t.GID)<<32 | uint64(t.UID)
}

// currentComm is bpf_get_current_comm(buf, size): the task's name,
// NUL-terminated and truncated to size.
func currentComm(vm *interp.VM, buf, size, _, _, _ uint64) uint64 {
	b, ok := memArg(vm, "bpf_get_current_comm", buf, size, true)
	if !ok || len(b) == 0 {
		return errno(maps.EINVAL)
	}
	clear(b)
	copy(b[:len(b)-1], currentTask(vm).Comm)
	return 0
}

// String and memory helpers.

// cString reads a NUL-terminated string of at most max bytes from program
// memory, checking each byte in checked mode.
func cString(vm *interp.VM, addr uint64, max int) (string, bool) {
	if addr == 0 {
		return "", false
	}
	if !vm.Checked() {
		// Strings reach helpers as plain values the verifier cannot type
		// (the arguments of bpf_snprintf): read only memory the runtime
		// owns, never past the end of its block.
		max = int(min(uint64(max), mem.Extent(addr)))
		if max == 0 {
			return "", false
		}
	}
	var out []byte
	for i := 0; i < max; i++ {
		if vm.Checked() && !vm.Accessible(addr+uint64(i), 1, false) {
			return "", false
		}
		c := mem.Slice(addr+uint64(i), 1)[0]
		if c == 0 {
			return string(out), true
		}
		out = append(out, c)
	}
	return string(out), true
}

// readable reports whether a helper may read n bytes at an address a
// program passed as a plain value: in checked mode the program must be
// allowed to read them, and in fast mode they must at least be memory the
// runtime owns.
func readable(vm *interp.VM, addr uint64, n int) bool {
	if addr == 0 {
		return false
	}
	if vm.Checked() {
		return vm.Accessible(addr, uint64(n), false)
	}
	return mem.Extent(addr) >= uint64(n)
}

// strncmp is bpf_strncmp(s1, s1_sz, s2): compares at most s1_sz bytes of s1
// with the constant string s2, like C's strncmp, and returns -1, 0 or 1 as
// Linux's does.
func strncmp(vm *interp.VM, s1, n, s2, _, _ uint64) uint64 {
	a, ok := memArg(vm, "bpf_strncmp", s1, n, false)
	if !ok {
		return 0
	}
	b, ok := cString(vm, s2, int(n)+1)
	if !ok {
		return helperFault(vm, "bpf_strncmp", "s2 is not a readable string")
	}
	for i := 0; i < len(a); i++ {
		var cb byte
		if i < len(b) {
			cb = b[i]
		}
		if a[i] != cb {
			if a[i] < cb {
				return ^uint64(0) // -1
			}
			return 1
		}
		if a[i] == 0 {
			break
		}
	}
	return 0
}

// csumDiff is bpf_csum_diff(from, from_size, to, to_size, seed): the
// 32-bit one's complement sum of seed, the words of to and the complements
// of the words of from. Sizes must be multiples of 4.
func csumDiff(vm *interp.VM, from, fromSize, to, toSize, seed uint64) uint64 {
	const name = "bpf_csum_diff"
	if fromSize%4 != 0 || toSize%4 != 0 || fromSize+toSize > 512 {
		return errno(maps.EINVAL)
	}
	f, ok := memArg(vm, name, from, fromSize, false)
	if !ok {
		return 0
	}
	t, ok := memArg(vm, name, to, toSize, false)
	if !ok {
		return 0
	}
	sum := uint64(uint32(seed))
	for i := 0; i+4 <= len(f); i += 4 {
		sum += uint64(^binary.LittleEndian.Uint32(f[i:]))
	}
	for i := 0; i+4 <= len(t); i += 4 {
		sum += uint64(binary.LittleEndian.Uint32(t[i:]))
	}
	for sum>>32 != 0 {
		sum = sum&0xffffffff + sum>>32
	}
	return sum
}

// memcpyS is bpf_memcpy_s / bpf_memmove_s(dst, dst_size, src, src_size):
// copies src_size bytes; -EINVAL (and dst zeroed) when they do not fit.
func memcpyS(vm *interp.VM, dst, dstSize, src, srcSize, _ uint64) uint64 {
	const name = "bpf_memcpy_s"
	d, ok := memArg(vm, name, dst, dstSize, true)
	if !ok {
		return 0
	}
	if srcSize > dstSize {
		clear(d)
		return errno(maps.EINVAL)
	}
	s, ok := memArg(vm, name, src, srcSize, false)
	if !ok {
		return 0
	}
	copy(d, s)
	return 0
}

// memcmpS is bpf_memcmp_s(a, a_size, b, b_size): compares the common
// length, then the sizes.
func memcmpS(vm *interp.VM, a, aSize, b, bSize, _ uint64) uint64 {
	const name = "bpf_memcmp_s"
	x, ok := memArg(vm, name, a, aSize, false)
	if !ok {
		return 0
	}
	y, ok := memArg(vm, name, b, bSize, false)
	if !ok {
		return 0
	}
	n := min(len(x), len(y))
	if c := bytes.Compare(x[:n], y[:n]); c != 0 {
		return uint64(int64(c))
	}
	switch {
	case len(x) < len(y):
		return ^uint64(0)
	case len(x) > len(y):
		return 1
	}
	return 0
}

// memset is bpf_memset(buf, size, value); it returns buf.
func memset(vm *interp.VM, buf, size, value, _, _ uint64) uint64 {
	b, ok := memArg(vm, "bpf_memset", buf, size, true)
	if !ok {
		return 0
	}
	for i := range b {
		b[i] = byte(value)
	}
	return buf
}

const eRANGE maps.Errno = 34

// strncpyS is bpf_strncpy_s(dst, dst_size, src, count): copies at most
// count characters of src and a NUL; -ERANGE (dst emptied) when they do not
// fit.
func strncpyS(vm *interp.VM, dst, dstSize, src, count, _ uint64) uint64 {
	const name = "bpf_strncpy_s"
	d, ok := memArg(vm, name, dst, dstSize, true)
	if !ok || len(d) == 0 {
		return errno(maps.EINVAL)
	}
	s, ok := memArg(vm, name, src, count, false)
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if len(s) >= len(d) {
		d[0] = 0
		return errno(eRANGE)
	}
	copy(d, s)
	d[len(s)] = 0
	return 0
}

// strncatS is bpf_strncat_s(dst, dst_size, src, count): appends at most
// count characters of src to the string in dst.
func strncatS(vm *interp.VM, dst, dstSize, src, count, _ uint64) uint64 {
	const name = "bpf_strncat_s"
	d, ok := memArg(vm, name, dst, dstSize, true)
	if !ok || len(d) == 0 {
		return errno(maps.EINVAL)
	}
	start := bytes.IndexByte(d, 0)
	if start < 0 {
		return errno(maps.EINVAL)
	}
	s, ok := memArg(vm, name, src, count, false)
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if start+len(s) >= len(d) {
		return errno(eRANGE)
	}
	copy(d[start:], s)
	d[start+len(s)] = 0
	return 0
}

// strnlenS is bpf_strnlen_s(str, size): the length of the string, at most
// size.
func strnlenS(vm *interp.VM, str, size, _, _, _ uint64) uint64 {
	if str == 0 {
		return 0
	}
	s, ok := memArg(vm, "bpf_strnlen_s", str, size, false)
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(s, 0); i >= 0 {
		return uint64(i)
	}
	return size
}
