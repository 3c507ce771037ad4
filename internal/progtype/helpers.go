package progtype

// Helper ids. General helpers use Linux's numbering (enum bpf_func_id), so
// programs written against libbpf's bpf_helpers.h call them unchanged.
const (
	HelperMapLookupElem      = 1
	HelperMapUpdateElem      = 2
	HelperMapDeleteElem      = 3
	HelperKtimeGetNs         = 5
	HelperTracePrintk        = 6
	HelperGetPrandomU32      = 7
	HelperGetSmpProcessorID  = 8
	HelperTailCall           = 12
	HelperGetCurrentPidTgid  = 14
	HelperGetCurrentUidGid   = 15
	HelperGetCurrentComm     = 16
	HelperCsumDiff           = 28
	HelperMapPushElem        = 87
	HelperMapPopElem         = 88
	HelperMapPeekElem        = 89
	HelperKtimeGetBootNs     = 125
	HelperRingbufOutput      = 130
	HelperRingbufReserve     = 131
	HelperRingbufSubmit      = 132
	HelperRingbufDiscard     = 133
	HelperRingbufQuery       = 134
	HelperKtimeGetCoarseNs   = 160
	HelperForEachMapElem     = 164
	HelperSnprintf           = 165
	HelperLoop               = 181
	HelperStrncmp            = 182
	HelperMapLookupPercpuEle = 195 // bpf_map_lookup_percpu_elem
)

// WindowsHelperBase starts the block of eBPF for Windows general helpers
// that Linux does not have. A helper numbered n in eBPF for Windows
// (ebpf_structs.h) is WindowsHelperBase+n here: Linux will not reach these
// numbers, and program-type-specific helpers start at 0x10000.
const WindowsHelperBase = 0x8000

// eBPF for Windows general helpers, at WindowsHelperBase plus their Windows
// numbers.
const (
	HelperMemcpyS         = WindowsHelperBase + 22
	HelperMemcmpS         = WindowsHelperBase + 23
	HelperMemset          = WindowsHelperBase + 24
	HelperMemmoveS        = WindowsHelperBase + 25
	HelperStrncpyS        = WindowsHelperBase + 27
	HelperStrncatS        = WindowsHelperBase + 28
	HelperStrnlenS        = WindowsHelperBase + 29
	HelperKtimeGetBootMs  = WindowsHelperBase + 30
	HelperKtimeGetMs      = WindowsHelperBase + 31
	FirstTypeSpecificHelp = 0x10000
)

// generalHelpers are the helpers every program type gets.
var generalHelpers = []HelperProto{
	{HelperMapLookupElem, "bpf_map_lookup_elem", RetPtrToMapValueOrNull, []ArgType{ArgPtrToMap, ArgPtrToMapKey}, false},
	{HelperMapUpdateElem, "bpf_map_update_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToMapKey, ArgPtrToMapValue, ArgAnything}, false},
	{HelperMapDeleteElem, "bpf_map_delete_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToMapKey}, false},
	{HelperKtimeGetNs, "bpf_ktime_get_ns", RetInteger, nil, false},
	// bpf_trace_printk is variadic: up to three more arguments follow, as
	// many as the format uses, which the verifier cannot tell.
	{HelperTracePrintk, "bpf_trace_printk", RetInteger, []ArgType{ArgPtrToReadableMem, ArgConstSize}, false},
	{HelperGetPrandomU32, "bpf_get_prandom_u32", RetInteger, nil, false},
	{HelperGetSmpProcessorID, "bpf_get_smp_processor_id", RetInteger, nil, false},
	{HelperTailCall, "bpf_tail_call", RetInteger, []ArgType{ArgPtrToCtx, ArgPtrToMapOfPrograms, ArgAnything}, false},
	{HelperGetCurrentPidTgid, "bpf_get_current_pid_tgid", RetInteger, nil, false},
	{HelperGetCurrentUidGid, "bpf_get_current_uid_gid", RetInteger, nil, false},
	{HelperGetCurrentComm, "bpf_get_current_comm", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSize}, false},
	{HelperCsumDiff, "bpf_csum_diff", RetInteger, []ArgType{ArgPtrToReadableMemOrNull, ArgConstSizeOrZero, ArgPtrToReadableMemOrNull, ArgConstSizeOrZero, ArgAnything}, false},
	{HelperMapPushElem, "bpf_map_push_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToMapValue, ArgAnything}, false},
	{HelperMapPopElem, "bpf_map_pop_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToWritableMem /* value size */}, false},
	{HelperMapPeekElem, "bpf_map_peek_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToWritableMem /* value size */}, false},
	{HelperKtimeGetBootNs, "bpf_ktime_get_boot_ns", RetInteger, nil, false},
	{HelperRingbufOutput, "bpf_ringbuf_output", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToReadableMem, ArgConstSizeOrZero, ArgAnything}, false},
	{HelperRingbufReserve, "bpf_ringbuf_reserve", RetPtrToAllocMemOrNull, []ArgType{ArgPtrToMap, ArgConstSize, ArgAnything}, false},
	{HelperRingbufSubmit, "bpf_ringbuf_submit", RetVoid, []ArgType{ArgPtrToAllocMem, ArgAnything}, false},
	{HelperRingbufDiscard, "bpf_ringbuf_discard", RetVoid, []ArgType{ArgPtrToAllocMem, ArgAnything}, false},
	{HelperRingbufQuery, "bpf_ringbuf_query", RetInteger, []ArgType{ArgPtrToMap, ArgAnything}, false},
	{HelperKtimeGetCoarseNs, "bpf_ktime_get_coarse_ns", RetInteger, nil, false},
	{HelperForEachMapElem, "bpf_for_each_map_elem", RetInteger, []ArgType{ArgPtrToMap, ArgPtrToFunc, ArgAnything, ArgAnything}, false},
	{HelperSnprintf, "bpf_snprintf", RetInteger, []ArgType{ArgPtrToWritableMemOrNull, ArgConstSizeOrZero, ArgPtrToConstStr, ArgPtrToReadableMemOrNull, ArgConstSizeOrZero}, false},
	{HelperLoop, "bpf_loop", RetInteger, []ArgType{ArgAnything, ArgPtrToFunc, ArgAnything, ArgAnything}, false},
	{HelperStrncmp, "bpf_strncmp", RetInteger, []ArgType{ArgPtrToReadableMem, ArgConstSize, ArgPtrToConstStr}, false},
	{HelperMapLookupPercpuEle, "bpf_map_lookup_percpu_elem", RetPtrToMapValueOrNull, []ArgType{ArgPtrToMap, ArgPtrToMapKey, ArgAnything}, false},

	{HelperMemcpyS, "bpf_memcpy_s", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSizeOrZero, ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperMemcmpS, "bpf_memcmp_s", RetInteger, []ArgType{ArgPtrToReadableMem, ArgConstSizeOrZero, ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperMemset, "bpf_memset", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSizeOrZero, ArgAnything}, false},
	{HelperMemmoveS, "bpf_memmove_s", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSizeOrZero, ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperStrncpyS, "bpf_strncpy_s", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSizeOrZero, ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperStrncatS, "bpf_strncat_s", RetInteger, []ArgType{ArgPtrToWritableMem, ArgConstSizeOrZero, ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperStrnlenS, "bpf_strnlen_s", RetInteger, []ArgType{ArgPtrToReadableMem, ArgConstSizeOrZero}, false},
	{HelperKtimeGetBootMs, "bpf_ktime_get_boot_ms", RetInteger, nil, false},
	{HelperKtimeGetMs, "bpf_ktime_get_ms", RetInteger, nil, false},
}

var generalByID = func() map[int32]HelperProto {
	m := make(map[int32]HelperProto, len(generalHelpers))
	for _, h := range generalHelpers {
		m[h.ID] = h
	}
	return m
}()

// GeneralHelper returns the prototype of a general helper.
func GeneralHelper(id int32) (HelperProto, bool) {
	h, ok := generalByID[id]
	return h, ok
}

// GeneralHelpers returns the prototypes of every general helper.
func GeneralHelpers() []HelperProto { return append([]HelperProto(nil), generalHelpers...) }
