package linux

import pt "github.com/ebpfhost/ebpfhost/internal/progtype"

// Linux helper ids (enum bpf_func_id in include/uapi/linux/bpf.h) of the
// helpers these program types may call beyond ebpfhost's general ones.
// They are Linux's own numbers, below progtype.FirstTypeSpecificHelp, so
// that objects built against libbpf's bpf_helper_defs.h verify unchanged.
// The runtime never runs them: only the verifier reads their prototypes.
// None of them is a general helper's id (a test checks it): a type's own
// helpers are looked up first, so redefining one would shadow it.
const (
	HelperProbeRead                  = 4
	HelperSkbStoreBytes              = 9
	HelperL3CsumReplace              = 10
	HelperL4CsumReplace              = 11
	HelperCloneRedirect              = 13
	HelperGetCgroupClassid           = 17
	HelperSkbVlanPush                = 18
	HelperSkbVlanPop                 = 19
	HelperSkbGetTunnelKey            = 20
	HelperSkbSetTunnelKey            = 21
	HelperPerfEventRead              = 22
	HelperRedirect                   = 23
	HelperGetRouteRealm              = 24
	HelperPerfEventOutput            = 25
	HelperSkbLoadBytes               = 26
	HelperGetStackID                 = 27
	HelperSkbGetTunnelOpt            = 29
	HelperSkbSetTunnelOpt            = 30
	HelperSkbChangeProto             = 31
	HelperSkbChangeType              = 32
	HelperSkbUnderCgroup             = 33
	HelperGetHashRecalc              = 34
	HelperGetCurrentTask             = 35
	HelperProbeWriteUser             = 36
	HelperCurrentTaskUnderCgroup     = 37
	HelperSkbChangeTail              = 38
	HelperSkbPullData                = 39
	HelperCsumUpdate                 = 40
	HelperSetHashInvalid             = 41
	HelperGetNumaNodeID              = 42
	HelperSkbChangeHead              = 43
	HelperXdpAdjustHead              = 44
	HelperProbeReadStr               = 45
	HelperGetSocketCookie            = 46
	HelperGetSocketUID               = 47
	HelperSetHash                    = 48
	HelperSetsockopt                 = 49
	HelperSkbAdjustRoom              = 50
	HelperRedirectMap                = 51
	HelperSockMapUpdate              = 53
	HelperXdpAdjustMeta              = 54
	HelperPerfEventReadValue         = 55
	HelperPerfProgReadValue          = 56
	HelperGetsockopt                 = 57
	HelperOverrideReturn             = 58
	HelperSockOpsCbFlagsSet          = 59
	HelperXdpAdjustTail              = 65
	HelperSkbGetXfrmState            = 66
	HelperGetStack                   = 67
	HelperSkbLoadBytesRelative       = 68
	HelperFibLookup                  = 69
	HelperSockHashUpdate             = 70
	HelperSkbCgroupID                = 79
	HelperGetCurrentCgroupID         = 80
	HelperSkbAncestorCgroupID        = 83
	HelperSkbEcnSetCe                = 97
	HelperSendSignal                 = 109
	HelperProbeReadUser              = 112
	HelperProbeReadKernel            = 113
	HelperProbeReadUserStr           = 114
	HelperProbeReadKernelStr         = 115
	HelperSendSignalThread           = 117
	HelperJiffies64                  = 118
	HelperReadBranchRecords          = 119
	HelperGetNsCurrentPidTgid        = 120
	HelperGetCurrentAncestorCgroupID = 123
	HelperCsumLevel                  = 135
	HelperLoadHdrOpt                 = 142
	HelperStoreHdrOpt                = 143
	HelperReserveHdrOpt              = 144
	HelperSkbCgroupClassid           = 151
	HelperRedirectNeigh              = 152
	HelperRedirectPeer               = 155
	HelperGetFuncIP                  = 173
	HelperGetAttachCookie            = 174
	HelperGetBranchSnapshot          = 176
	HelperTraceVprintk               = 177
	HelperXdpGetBuffLen              = 188
	HelperXdpLoadBytes               = 189
	HelperXdpStoreBytes              = 190
	HelperSkbSetTstamp               = 192
)

// Short names for the argument kinds, so that the prototypes below read
// like Linux's bpf_func_proto tables. The mapping from Linux's kinds:
//
//	ARG_PTR_TO_UNINIT_MEM                    -> aWMem (the helper fills it)
//	ARG_PTR_TO_MEM | MEM_RDONLY              -> aRMem
//	ARG_PTR_TO_MEM | MEM_RDONLY | MAYBE_NULL -> aRMemOrNull
//	ARG_PTR_TO_MEM (read and written)        -> aWMem; see below
//	ARG_CONST_SIZE, ARG_CONST_SIZE_OR_ZERO   -> aSize, aSize0
//	ARG_PTR_TO_CTX                           -> aCtx
//	ARG_CONST_MAP_PTR                        -> aMap
//	ARG_PTR_TO_MAP_KEY                       -> aKey
//	ARG_ANYTHING                             -> aAny
//
// Linux's plain ARG_PTR_TO_MEM is memory the helper both reads (so it must
// be initialized) and writes (so it must be writable); progtype has no kind
// for both. It is mapped to ArgPtrToWritableMem, which keeps the helper from
// writing into read-only memory (.rodata), which would break what the
// program was verified against, but does not insist that the program
// initialized the bytes first, which Linux does. (A progtype kind for
// "initialized and writable" would close the gap.)
//
// Pointers to arbitrary kernel or user memory (the source of
// bpf_probe_read_kernel, say) are ARG_ANYTHING in Linux too: the helper
// reads them with fault handling, so they are plain numbers here.
const (
	aAny        = pt.ArgAnything
	aCtx        = pt.ArgPtrToCtx
	aMap        = pt.ArgPtrToMap
	aKey        = pt.ArgPtrToMapKey
	aRMem       = pt.ArgPtrToReadableMem
	aRMemOrNull = pt.ArgPtrToReadableMemOrNull
	aWMem       = pt.ArgPtrToWritableMem
	aWMemOrNull = pt.ArgPtrToWritableMemOrNull
	aSize       = pt.ArgConstSize
	aSize0      = pt.ArgConstSizeOrZero
)

func proto(id int32, name string, args ...pt.ArgType) pt.HelperProto {
	return pt.HelperProto{ID: id, Name: name, Ret: pt.RetInteger, Args: args}
}

// changesPacket marks a helper that may move or resize the packet, after
// which Linux's verifier invalidates every packet pointer (its
// bpf_helper_changes_pkt_data list).
func changesPacket(h pt.HelperProto) pt.HelperProto {
	h.ChangesPacket = true
	return h
}

// Prototypes, each written once and shared by the types that offer it.
// Every one returns an integer (a length, an error, an id or a kernel
// address the program may only pass on as a number).
var (
	// Linux's base set (bpf_base_func_proto): what every program type can
	// call, beyond the helpers ebpfhost already has as general ones.
	pGetNumaNodeID = proto(HelperGetNumaNodeID, "bpf_get_numa_node_id")
	pJiffies64     = proto(HelperJiffies64, "bpf_jiffies64")
	pTraceVprintk  = proto(HelperTraceVprintk, "bpf_trace_vprintk", aRMem, aSize, aRMemOrNull, aSize0)

	// Tracing (bpf_tracing_func_proto).
	pProbeRead              = proto(HelperProbeRead, "bpf_probe_read", aWMem, aSize0, aAny)
	pProbeReadStr           = proto(HelperProbeReadStr, "bpf_probe_read_str", aWMem, aSize0, aAny)
	pProbeReadUser          = proto(HelperProbeReadUser, "bpf_probe_read_user", aWMem, aSize0, aAny)
	pProbeReadKernel        = proto(HelperProbeReadKernel, "bpf_probe_read_kernel", aWMem, aSize0, aAny)
	pProbeReadUserStr       = proto(HelperProbeReadUserStr, "bpf_probe_read_user_str", aWMem, aSize0, aAny)
	pProbeReadKernelStr     = proto(HelperProbeReadKernelStr, "bpf_probe_read_kernel_str", aWMem, aSize0, aAny)
	pProbeWriteUser         = proto(HelperProbeWriteUser, "bpf_probe_write_user", aAny, aRMem, aSize)
	pGetCurrentTask         = proto(HelperGetCurrentTask, "bpf_get_current_task")
	pCurrentTaskUnderCgroup = proto(HelperCurrentTaskUnderCgroup, "bpf_current_task_under_cgroup", aMap, aAny)
	pPerfEventRead          = proto(HelperPerfEventRead, "bpf_perf_event_read", aMap, aAny)
	pPerfEventReadValue     = proto(HelperPerfEventReadValue, "bpf_perf_event_read_value", aMap, aAny, aWMem, aSize)
	pGetCurrentCgroupID     = proto(HelperGetCurrentCgroupID, "bpf_get_current_cgroup_id")
	pGetCurrentAncestorCgID = proto(HelperGetCurrentAncestorCgroupID, "bpf_get_current_ancestor_cgroup_id", aAny)
	pSendSignal             = proto(HelperSendSignal, "bpf_send_signal", aAny)
	pSendSignalThread       = proto(HelperSendSignalThread, "bpf_send_signal_thread", aAny)
	pGetNsCurrentPidTgid    = proto(HelperGetNsCurrentPidTgid, "bpf_get_ns_current_pid_tgid", aAny, aAny, aWMem, aSize)
	pGetBranchSnapshot      = proto(HelperGetBranchSnapshot, "bpf_get_branch_snapshot", aWMem, aSize0, aAny)

	// Per tracing type (each has its own variant in Linux, same shape).
	pPerfEventOutput   = proto(HelperPerfEventOutput, "bpf_perf_event_output", aCtx, aMap, aAny, aRMem, aSize0)
	pGetStackID        = proto(HelperGetStackID, "bpf_get_stackid", aCtx, aMap, aAny)
	pGetStack          = proto(HelperGetStack, "bpf_get_stack", aCtx, aWMem, aSize0, aAny)
	pOverrideReturn    = proto(HelperOverrideReturn, "bpf_override_return", aCtx, aAny)
	pGetFuncIP         = proto(HelperGetFuncIP, "bpf_get_func_ip", aCtx)
	pGetAttachCookie   = proto(HelperGetAttachCookie, "bpf_get_attach_cookie", aCtx)
	pPerfProgReadValue = proto(HelperPerfProgReadValue, "bpf_perf_prog_read_value", aCtx, aWMem, aSize)
	pReadBranchRecords = proto(HelperReadBranchRecords, "bpf_read_branch_records", aCtx, aWMemOrNull, aSize0, aAny)
	pSkbLoadBytes      = proto(HelperSkbLoadBytes, "bpf_skb_load_bytes", aCtx, aAny, aWMem, aSize)
	pSkbLoadBytesRel   = proto(HelperSkbLoadBytesRelative, "bpf_skb_load_bytes_relative", aCtx, aAny, aWMem, aSize, aAny)
	pGetSocketCookie   = proto(HelperGetSocketCookie, "bpf_get_socket_cookie", aCtx)
	pGetSocketUID      = proto(HelperGetSocketUID, "bpf_get_socket_uid", aCtx)
	pSkbCgroupID       = proto(HelperSkbCgroupID, "bpf_skb_cgroup_id", aCtx)
	pSkbAncestorCgID   = proto(HelperSkbAncestorCgroupID, "bpf_skb_ancestor_cgroup_id", aCtx, aAny)
	pSkbEcnSetCe       = proto(HelperSkbEcnSetCe, "bpf_skb_ecn_set_ce", aCtx)
	pSkbStoreBytes     = changesPacket(proto(HelperSkbStoreBytes, "bpf_skb_store_bytes", aCtx, aAny, aRMem, aSize, aAny))
	pL3CsumReplace     = changesPacket(proto(HelperL3CsumReplace, "bpf_l3_csum_replace", aCtx, aAny, aAny, aAny, aAny))
	pL4CsumReplace     = changesPacket(proto(HelperL4CsumReplace, "bpf_l4_csum_replace", aCtx, aAny, aAny, aAny, aAny))
	pCloneRedirect     = changesPacket(proto(HelperCloneRedirect, "bpf_clone_redirect", aCtx, aAny, aAny))
	pGetCgroupClassid  = proto(HelperGetCgroupClassid, "bpf_get_cgroup_classid", aCtx)
	pSkbVlanPush       = changesPacket(proto(HelperSkbVlanPush, "bpf_skb_vlan_push", aCtx, aAny, aAny))
	pSkbVlanPop        = changesPacket(proto(HelperSkbVlanPop, "bpf_skb_vlan_pop", aCtx))
	pSkbGetTunnelKey   = proto(HelperSkbGetTunnelKey, "bpf_skb_get_tunnel_key", aCtx, aWMem, aSize, aAny)
	pSkbSetTunnelKey   = proto(HelperSkbSetTunnelKey, "bpf_skb_set_tunnel_key", aCtx, aRMem, aSize, aAny)
	pSkbGetTunnelOpt   = proto(HelperSkbGetTunnelOpt, "bpf_skb_get_tunnel_opt", aCtx, aWMem, aSize)
	pSkbSetTunnelOpt   = proto(HelperSkbSetTunnelOpt, "bpf_skb_set_tunnel_opt", aCtx, aRMem, aSize)
	pRedirect          = proto(HelperRedirect, "bpf_redirect", aAny, aAny)
	pGetRouteRealm     = proto(HelperGetRouteRealm, "bpf_get_route_realm", aCtx)
	pSkbChangeProto    = changesPacket(proto(HelperSkbChangeProto, "bpf_skb_change_proto", aCtx, aAny, aAny))
	pSkbChangeType     = proto(HelperSkbChangeType, "bpf_skb_change_type", aCtx, aAny)
	pSkbUnderCgroup    = proto(HelperSkbUnderCgroup, "bpf_skb_under_cgroup", aCtx, aMap, aAny)
	pGetHashRecalc     = proto(HelperGetHashRecalc, "bpf_get_hash_recalc", aCtx)
	pSkbChangeTail     = changesPacket(proto(HelperSkbChangeTail, "bpf_skb_change_tail", aCtx, aAny, aAny))
	pSkbPullData       = changesPacket(proto(HelperSkbPullData, "bpf_skb_pull_data", aCtx, aAny))
	pCsumUpdate        = proto(HelperCsumUpdate, "bpf_csum_update", aCtx, aAny)
	pCsumLevel         = proto(HelperCsumLevel, "bpf_csum_level", aCtx, aAny)
	pSetHashInvalid    = proto(HelperSetHashInvalid, "bpf_set_hash_invalid", aCtx)
	pSetHash           = proto(HelperSetHash, "bpf_set_hash", aCtx, aAny)
	pSkbChangeHead     = changesPacket(proto(HelperSkbChangeHead, "bpf_skb_change_head", aCtx, aAny, aAny))
	pSkbAdjustRoom     = changesPacket(proto(HelperSkbAdjustRoom, "bpf_skb_adjust_room", aCtx, aAny, aAny, aAny))
	pSkbGetXfrmState   = proto(HelperSkbGetXfrmState, "bpf_skb_get_xfrm_state", aCtx, aAny, aWMem, aSize, aAny)
	pFibLookup         = proto(HelperFibLookup, "bpf_fib_lookup", aCtx, aWMem /* read and written */, aSize, aAny)
	pSkbCgroupClassid  = proto(HelperSkbCgroupClassid, "bpf_skb_cgroup_classid", aCtx)
	pRedirectNeigh     = proto(HelperRedirectNeigh, "bpf_redirect_neigh", aAny, aRMemOrNull, aSize0, aAny)
	pRedirectPeer      = proto(HelperRedirectPeer, "bpf_redirect_peer", aAny, aAny)
	pSkbSetTstamp      = proto(HelperSkbSetTstamp, "bpf_skb_set_tstamp", aCtx, aAny, aAny)
	pXdpAdjustHead     = changesPacket(proto(HelperXdpAdjustHead, "bpf_xdp_adjust_head", aCtx, aAny))
	pXdpAdjustMeta     = changesPacket(proto(HelperXdpAdjustMeta, "bpf_xdp_adjust_meta", aCtx, aAny))
	pXdpAdjustTail     = changesPacket(proto(HelperXdpAdjustTail, "bpf_xdp_adjust_tail", aCtx, aAny))
	pRedirectMap       = proto(HelperRedirectMap, "bpf_redirect_map", aMap, aAny, aAny)
	pXdpGetBuffLen     = proto(HelperXdpGetBuffLen, "bpf_xdp_get_buff_len", aCtx)
	pXdpLoadBytes      = proto(HelperXdpLoadBytes, "bpf_xdp_load_bytes", aCtx, aAny, aWMem, aSize)
	pXdpStoreBytes     = changesPacket(proto(HelperXdpStoreBytes, "bpf_xdp_store_bytes", aCtx, aAny, aRMem, aSize))
	pSetsockopt        = changesPacket(proto(HelperSetsockopt, "bpf_setsockopt", aCtx, aAny, aAny, aRMem, aSize))
	pGetsockopt        = proto(HelperGetsockopt, "bpf_getsockopt", aCtx, aAny, aAny, aWMem, aSize)
	pSockOpsCbFlagsSet = proto(HelperSockOpsCbFlagsSet, "bpf_sock_ops_cb_flags_set", aCtx, aAny)
	pSockMapUpdate     = proto(HelperSockMapUpdate, "bpf_sock_map_update", aCtx, aMap, aKey, aAny)
	pSockHashUpdate    = proto(HelperSockHashUpdate, "bpf_sock_hash_update", aCtx, aMap, aKey, aAny)
	pLoadHdrOpt        = proto(HelperLoadHdrOpt, "bpf_load_hdr_opt", aCtx, aWMem /* read and written */, aSize, aAny)
	pStoreHdrOpt       = changesPacket(proto(HelperStoreHdrOpt, "bpf_store_hdr_opt", aCtx, aRMem, aSize, aAny))
	pReserveHdrOpt     = changesPacket(proto(HelperReserveHdrOpt, "bpf_reserve_hdr_opt", aCtx, aAny, aAny))
)

// join concatenates helper sets; sets never share ids (a test checks that
// no type lists one twice).
func join(sets ...[]pt.HelperProto) []pt.HelperProto {
	var out []pt.HelperProto
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}

// baseHelpers are Linux's helpers for every program type that ebpfhost does
// not have as general ones. Linux also offers the probe_read_kernel family
// and bpf_get_current_task to every type when the loader has CAP_PERFMON;
// networking types here leave them out, as an unprivileged-by-default
// loader would see them.
var baseHelpers = []pt.HelperProto{pGetNumaNodeID, pJiffies64, pTraceVprintk}

// tracingHelpers are what kprobe, tracepoint, raw_tracepoint and
// perf_event programs share (Linux's bpf_tracing_func_proto), plus the
// three context-taking helpers each of them has a variant of.
var tracingHelpers = join(baseHelpers, []pt.HelperProto{
	pProbeRead, pProbeReadStr, pProbeReadUser, pProbeReadKernel, pProbeReadUserStr, pProbeReadKernelStr,
	pProbeWriteUser, pGetCurrentTask, pCurrentTaskUnderCgroup, pPerfEventRead, pPerfEventReadValue,
	pGetCurrentCgroupID, pGetCurrentAncestorCgID, pSendSignal, pSendSignalThread, pGetNsCurrentPidTgid,
	pGetBranchSnapshot,
	pPerfEventOutput, pGetStackID, pGetStack,
})

var (
	kprobeHelpers     = join(tracingHelpers, []pt.HelperProto{pOverrideReturn, pGetFuncIP, pGetAttachCookie})
	tracepointHelpers = join(tracingHelpers, []pt.HelperProto{pGetAttachCookie})
	rawTPHelpers      = tracingHelpers
	perfEventHelpers  = join(tracingHelpers, []pt.HelperProto{pPerfProgReadValue, pReadBranchRecords, pGetAttachCookie})
)

// socketFilterHelpers are Linux's sk_filter_func_proto: socket filters
// read the packet only through bpf_skb_load_bytes (they have no direct
// packet access).
var socketFilterHelpers = join(baseHelpers, []pt.HelperProto{
	pSkbLoadBytes, pSkbLoadBytesRel, pGetSocketCookie, pGetSocketUID, pPerfEventOutput,
})

// cgroupSkbHelpers are Linux's cg_skb_func_proto: the socket filter set,
// the cgroup ids of the packet's socket, and ECN marking. cgroup_skb
// programs run without a meaningful current task (ingress is softirq), so
// the get_current_* helpers are not theirs. Helpers that return socket
// pointers (bpf_sk_fullsock, bpf_tcp_sock, socket lookups) or a map value
// that is never NULL (bpf_get_local_storage) have no progtype return kind
// and are left out: a program calling them is rejected as calling an
// unknown helper rather than verified wrongly.
var cgroupSkbHelpers = join(socketFilterHelpers, []pt.HelperProto{
	pSkbCgroupID, pSkbAncestorCgID, pSkbEcnSetCe,
})

// tcHelpers are Linux's tc_cls_act_func_proto, shared by sched_cls and
// sched_act. Socket lookups (bpf_sk_lookup_tcp, ...) return referenced
// socket pointers and bpf_check_mtu takes a fixed-aSize pointer without a
// aSize argument; neither fits progtype's kinds, so both are left out.
var tcHelpers = join(baseHelpers, []pt.HelperProto{
	pSkbStoreBytes, pSkbLoadBytes, pSkbLoadBytesRel, pSkbPullData, pCsumUpdate, pCsumLevel,
	pL3CsumReplace, pL4CsumReplace, pCloneRedirect, pGetCgroupClassid, pSkbVlanPush, pSkbVlanPop,
	pSkbChangeProto, pSkbChangeType, pSkbAdjustRoom, pSkbChangeTail, pSkbChangeHead,
	pSkbGetTunnelKey, pSkbSetTunnelKey, pSkbGetTunnelOpt, pSkbSetTunnelOpt, pRedirect, pRedirectNeigh,
	pRedirectPeer, pGetRouteRealm, pGetHashRecalc, pSetHashInvalid, pSetHash, pPerfEventOutput,
	pSkbUnderCgroup, pSkbGetXfrmState, pFibLookup, pSkbCgroupClassid, pSkbCgroupID, pSkbAncestorCgID,
	pGetSocketCookie, pGetSocketUID, pSkbEcnSetCe, pSkbSetTstamp,
})

// xdpHelpers are Linux's xdp_func_proto.
var xdpHelpers = join(baseHelpers, []pt.HelperProto{
	pPerfEventOutput, pXdpAdjustHead, pXdpAdjustMeta, pXdpAdjustTail, pRedirect, pRedirectMap,
	pFibLookup, pXdpGetBuffLen, pXdpLoadBytes, pXdpStoreBytes,
})

// sockOpsHelpers are Linux's sock_ops_func_proto.
var sockOpsHelpers = join(baseHelpers, []pt.HelperProto{
	pSetsockopt, pGetsockopt, pSockOpsCbFlagsSet, pSockMapUpdate, pSockHashUpdate, pGetSocketCookie,
	pPerfEventOutput, pLoadHdrOpt, pStoreHdrOpt, pReserveHdrOpt,
})
