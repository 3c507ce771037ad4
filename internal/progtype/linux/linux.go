// Package linux describes Linux's program types as progtype data, so that
// objects written for Linux (with libbpf's section names, contexts and
// helpers) can be verified as Linux would see them (`--platform linux`).
// Nothing here runs: the runtime has no Linux hooks and never calls the
// Linux-only helpers listed; the verifier only reads the descriptions.
//
// The facts come from Linux's uapi headers (include/uapi/linux/bpf.h,
// bpf_perf_event.h, asm/ptrace.h for x86-64), from the per-type rules of
// its verifier (which context bytes a type may read, which helpers it
// offers, which return values it enforces) and from libbpf's table of
// section names. Where Linux's rule depends on more than the program type
// (a tracepoint's own record format, an attach type) the choice made is
// documented on the type.
package linux

//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c kprobe.c -o kprobe.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c tc.c -o tc.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c socket.c -o socket.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c tracepoint.c -o tracepoint.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c xdp.c -o xdp.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c cgroup_skb.c -o cgroup_skb.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c sockops.c -o sockops.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c raw_tp.c -o raw_tp.o"
//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c perf_event.c -o perf_event.o"

import (
	"slices"

	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
)

// Linux's program type numbers (enum bpf_prog_type).
const (
	ProgTypeSocketFilter  = 1
	ProgTypeKprobe        = 2
	ProgTypeSchedCls      = 3
	ProgTypeSchedAct      = 4
	ProgTypeTracepoint    = 5
	ProgTypeXDP           = 6
	ProgTypePerfEvent     = 7
	ProgTypeCgroupSkb     = 8
	ProgTypeSockOps       = 13
	ProgTypeRawTracepoint = 17
)

// struct xdp_md: six __u32 fields; the three pointers are 32 bits wide.
const (
	xdpMdData    = 0
	xdpMdDataEnd = 4
	xdpMdMeta    = 8
	xdpMdSize    = 24 // ... ingress_ifindex 12, rx_queue_index 16, egress_ifindex 20
)

// struct __sk_buff in its current 192-byte layout (the offsets were checked
// with offsetof against a 6.1 uapi header on x86-64):
//
//	  0 len              4 pkt_type         8 mark            12 queue_mapping
//	 16 protocol        20 vlan_present    24 vlan_tci        28 vlan_proto
//	 32 priority        36 ingress_ifindex 40 ifindex         44 tc_index
//	 48 cb[5]           68 hash            72 tc_classid      76 data
//	 80 data_end        84 napi_id         88 family          92 remote_ip4
//	 96 local_ip4      100 remote_ip6[4]  116 local_ip6[4]   132 remote_port
//	136 local_port     140 data_meta      144 flow_keys (8-byte __bpf_md_ptr)
//	152 tstamp (u64)   160 wire_len       164 gso_segs       168 sk (8-byte __bpf_md_ptr)
//	176 gso_size       180 tstamp_type (u8, then 24 bits of padding)
//	184 hwtstamp (u64) 192 end
//
// data, data_end and data_meta are __u32: programs load them with 32-bit
// loads. flow_keys and sk are pointers Linux tracks as their own kinds;
// here they read as plain numbers, which a program cannot dereference.
const (
	skbData    = 76
	skbDataEnd = 80
	skbMeta    = 140
	skbSize    = 192
)

// struct bpf_sock_ops in its newest layout, ending with skb_hwtstamp (the
// other offsets were checked with offsetof against a 6.1 uapi header):
//
//	  0 op               4 args[4] / reply / replylong[4]
//	 20 family          24 remote_ip4      28 local_ip4       32 remote_ip6[4]
//	 48 local_ip6[4]    64 remote_port     68 local_port      72 is_fullsock
//	 76 snd_cwnd        80 srtt_us         84 bpf_sock_ops_cb_flags
//	 88 state ... 164 sk_txhash (20 __u32 TCP fields from 88 to 167)
//	168 bytes_received (u64)               176 bytes_acked (u64)
//	184 sk (__bpf_md_ptr)                  192 skb_data (__bpf_md_ptr)
//	200 skb_data_end (__bpf_md_ptr)        208 skb_len        212 skb_tcp_flags
//	216 skb_hwtstamp (u64)                 224 end
//
// Unlike __sk_buff's, skb_data and skb_data_end are 64-bit fields
// (__bpf_md_ptr), read with 8-byte loads; [skb_data, skb_data_end) covers
// the TCP header in the header-option callbacks. Older kernels end at 216
// (no skb_hwtstamp; the 6.1 header, for one); the newest layout is used so
// that objects built against current headers verify.
const (
	sockOpsData    = 192
	sockOpsDataEnd = 200
	sockOpsSize    = 224
)

// sizeofPtRegs is struct pt_regs on x86-64: 21 registers of 8 bytes
// (r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
// orig_ax, ip, cs, flags, sp, ss). kprobe programs may read all of it.
const sizeofPtRegs = 21 * 8

// sizeofPerfEventData is struct bpf_perf_event_data: pt_regs, then
// sample_period and addr (u64 each).
const sizeofPerfEventData = sizeofPtRegs + 8 + 8

// maxTraceSize bounds what a tracepoint program may read of its context:
// Linux checks tracepoint reads against PERF_MAX_TRACE_SIZE (2048 bytes;
// recent kernels raised it to 8192), not against the particular
// tracepoint's format, which the verifier does not know. 2048 is the bound
// every kernel accepts.
//
// Linux also refuses reads of the first 8 bytes (the common_* fields);
// progtype.ContextDescriptor cannot express a hole at the start, so they
// are readable here.
const maxTraceSize = 2048

// maxRawTPArgs bounds struct bpf_raw_tracepoint_args (u64 args[]): Linux
// lets raw tracepoint programs read up to MAX_BPF_FUNC_ARGS (12) arguments,
// whatever the tracepoint actually passes.
const maxRawTPArgs = 12

// Fields of struct __sk_buff programs may write, as Linux allows them
// (tc: mark, queue_mapping, priority, tc_index, cb[], tc_classid, tstamp;
// cgroup_skb: mark, priority, cb[]; socket filters: cb[]).
var (
	skbMark      = pt.Range{Offset: 8, Size: 4}
	skbQueueMap  = pt.Range{Offset: 12, Size: 4}
	skbPriority  = pt.Range{Offset: 32, Size: 4}
	skbTcIndex   = pt.Range{Offset: 44, Size: 4}
	skbCB        = pt.Range{Offset: 48, Size: 20}
	skbTcClassid = pt.Range{Offset: 72, Size: 4}
	skbTstamp    = pt.Range{Offset: 152, Size: 8}
	tcWritable   = []pt.Range{skbMark, skbQueueMap, skbPriority, skbTcIndex, skbCB, skbTcClassid, skbTstamp}
)

// noData is a context without packet pointers.
func noData(size int) pt.ContextDescriptor {
	return pt.ContextDescriptor{Size: size, Data: -1, End: -1, Meta: -1, PointerSize: 8}
}

// skbContext is __sk_buff with the packet pointers the type may load:
// Linux grants data and data_end to tc and cgroup_skb programs, data_meta
// to tc only, and none of them to socket filters (which read the packet
// with bpf_skb_load_bytes).
func skbContext(data, meta bool, writable ...pt.Range) pt.ContextDescriptor {
	c := pt.ContextDescriptor{Size: skbSize, Data: -1, End: -1, Meta: -1, PointerSize: 4, Writable: writable}
	if data {
		c.Data, c.End = skbData, skbDataEnd
	}
	if meta {
		c.Meta = skbMeta
	}
	return c
}

// Types returns Linux's program types, newly built: callers may change
// what they get without affecting anyone else.
//
// Section prefixes follow libbpf's section table. A progtype prefix "p"
// matches "p" and "p/anything", which is libbpf's "p+" rule; libbpf's
// exact-only names ("xdp", "tc", "socket", "sockops", ...) thus also
// accept "name/suffix", as libbpf's legacy (pre-1.0) matching did and as
// older objects (iproute2's "classifier/...", bcc's "socket/...") still use.
// GUIDs are empty: eBPF for Windows' type GUIDs name its own context
// layouts, which differ from Linux's.
func Types() []*pt.ProgramType {
	types := []*pt.ProgramType{
		{
			Name: "socket_filter", ID: ProgTypeSocketFilter,
			SectionPrefixes: []string{"socket"},
			Context:         skbContext(false, false, skbCB),
			Helpers:         socketFilterHelpers,
		},
		{
			// kprobes, uprobes, USDT probes and syscall probes are all
			// BPF_PROG_TYPE_KPROBE programs over pt_regs; the .s (sleepable)
			// and .multi variants only change how they attach. libbpf's
			// kprobe.session and uprobe.session[.s] are left out: Linux
			// makes session programs return 0 or 1, and one type cannot
			// carry that range for some sections only.
			Name: "kprobe", ID: ProgTypeKprobe,
			SectionPrefixes: []string{
				"kprobe", "kretprobe", "uprobe", "uretprobe", "uprobe.s", "uretprobe.s",
				"kprobe.multi", "kretprobe.multi", "uprobe.multi", "uretprobe.multi",
				"uprobe.multi.s", "uretprobe.multi.s", "ksyscall", "kretsyscall", "usdt", "usdt.s",
			},
			Context: noData(sizeofPtRegs),
			Helpers: kprobeHelpers,
		},
		{
			// tcx/ and netkit/ are the newer attach points for the same
			// type. Linux enforces no return range: the hooks map unknown
			// verdicts to a default at run time (TC_ACT_UNSPEC for cls_bpf).
			Name: "sched_cls", ID: ProgTypeSchedCls,
			SectionPrefixes: []string{"tc", "classifier", "tcx", "netkit"},
			Context:         skbContext(true, true, tcWritable...),
			Helpers:         tcHelpers,
		},
		{
			Name: "sched_act", ID: ProgTypeSchedAct,
			SectionPrefixes: []string{"action"},
			Context:         skbContext(true, true, tcWritable...),
			Helpers:         tcHelpers,
		},
		{
			// The context is the tracepoint's own record, whose format the
			// verifier cannot know; see maxTraceSize.
			Name: "tracepoint", ID: ProgTypeTracepoint,
			SectionPrefixes: []string{"tracepoint", "tp"},
			Context:         noData(maxTraceSize),
			Helpers:         tracepointHelpers,
		},
		{
			// Linux does not check xdp return values in the verifier: an
			// unknown action is treated as XDP_ABORTED at run time.
			Name: "xdp", ID: ProgTypeXDP,
			SectionPrefixes: []string{"xdp", "xdp.frags"},
			Context:         pt.ContextDescriptor{Size: xdpMdSize, Data: xdpMdData, End: xdpMdDataEnd, Meta: xdpMdMeta, PointerSize: 4},
			Helpers:         xdpHelpers,
		},
		{
			Name: "perf_event", ID: ProgTypePerfEvent,
			SectionPrefixes: []string{"perf_event"},
			Context:         noData(sizeofPerfEventData),
			Helpers:         perfEventHelpers,
		},
		{
			// Linux enforces 0 (drop) or 1 (allow). Egress programs loaded
			// with expected_attach_type BPF_CGROUP_INET_EGRESS (which
			// libbpf sets for "cgroup_skb/egress") may also return 2 and 3
			// (congestion notification); one program type cannot carry
			// both ranges, so egress programs returning 2 or 3 are rejected
			// here. 0..1 is what every cgroup_skb program may return.
			Name: "cgroup_skb", ID: ProgTypeCgroupSkb,
			SectionPrefixes: []string{"cgroup_skb/ingress", "cgroup_skb/egress", "cgroup/skb"},
			Context:         skbContext(true, false, skbMark, skbPriority, skbCB),
			Helpers:         cgroupSkbHelpers,
			ReturnMin:       0, ReturnMax: 1,
		},
		{
			// Linux enforces 0 or 1 for sock_ops programs too (the result
			// a callback wants goes in the context's reply field).
			Name: "sock_ops", ID: ProgTypeSockOps,
			SectionPrefixes: []string{"sockops"},
			Context: pt.ContextDescriptor{Size: sockOpsSize, Data: sockOpsData, End: sockOpsDataEnd, Meta: -1, PointerSize: 8,
				// reply / replylong[4], the answer to the socket operation
				Writable: []pt.Range{{Offset: 4, Size: 16}}},
			Helpers:   sockOpsHelpers,
			ReturnMin: 0, ReturnMax: 1,
		},
		{
			// raw_tracepoint.w / raw_tp.w (writable raw tracepoints) and
			// tp_btf (BTF-typed tracing) are other program types and do not
			// match these prefixes.
			Name: "raw_tracepoint", ID: ProgTypeRawTracepoint,
			SectionPrefixes: []string{"raw_tracepoint", "raw_tp"},
			Context:         noData(maxRawTPArgs * 8),
			Helpers:         rawTPHelpers,
		},
	}
	for _, t := range types {
		t.SectionPrefixes = slices.Clone(t.SectionPrefixes)
		t.Helpers = slices.Clone(t.Helpers)
		for i := range t.Helpers {
			t.Helpers[i].Args = slices.Clone(t.Helpers[i].Args)
		}
	}
	return types
}

// Registry returns a registry holding every type of Types, for verifying
// objects built for Linux. It is separate from the runtime's registry: its
// xdp, for one, shares a name, id and sections with ebpfhost's own xdp type
// and exists only to be verified against.
func Registry() *pt.Registry {
	r := pt.NewRegistry()
	for _, t := range Types() {
		if err := r.Register(t); err != nil {
			// The table above is static and a test registers it; a
			// conflict is a bug in this file.
			panic("progtype/linux: " + err.Error())
		}
	}
	return r
}
