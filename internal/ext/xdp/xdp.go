// Package xdp is the xdp program type: packet programs that return a
// verdict (XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT). ebpfhost
// has no network hook; the type exists so that packet programs written for
// Linux can be test-run (and benchmarked beside the Linux kernel running
// the very same object).
//
// The context is Linux's struct xdp_md, whose data, data_end and data_meta
// fields are 32 bits wide: programs load them with 32-bit loads and use the
// result as a pointer. The packet is therefore placed below 4 GiB (mem.AllocLow)
// so that those 32 bits are the whole address.
package xdp

import (
	"encoding/binary"
	"fmt"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// xdp_md layout (Linux uapi): six 32-bit fields.
const (
	offData           = 0
	offDataEnd        = 4
	offDataMeta       = 8
	offIngressIfindex = 12
	offRxQueueIndex   = 16
	offEgressIfindex  = 20
	ctxSize           = 24
)

// Headroom is the space before the packet, as Linux gives test runs
// (XDP_PACKET_HEADROOM).
const Headroom = 256

// Verdicts.
const (
	Aborted  = 0
	Drop     = 1
	Pass     = 2
	TX       = 3
	Redirect = 4
)

// Info is the program information of the xdp type.
var Info = &progtype.ProgramType{
	Name:            "xdp",
	GUID:            "f1832a85-85d5-45b0-98a0-7069d63013b0", // eBPF for Windows' EBPF_PROGRAM_TYPE_XDP
	ID:              6,                                      // BPF_PROG_TYPE_XDP
	SectionPrefixes: []string{"xdp", "xdp.frags"},
	Context:         progtype.ContextDescriptor{Size: ctxSize, Data: offData, End: offDataEnd, Meta: offDataMeta, PointerSize: 4},
	// Like Linux, any return value is accepted: the hook treats an unknown
	// verdict as XDP_ABORTED.
}

// Type returns the xdp program type for a runtime.
func Type() *core.ProgramType {
	return &core.ProgramType{ProgramType: Info, NewTestContext: newTestContext}
}

// newTestContext builds an xdp_md over a copy of data_in. ctx_in, when
// given, supplies ingress_ifindex and rx_queue_index; its pointer fields
// must be zero, as Linux requires.
func newTestContext(in *core.TestInput) (*core.TestContext, error) {
	if len(in.Context) > ctxSize {
		return nil, fmt.Errorf("ctx_in is %d bytes; struct xdp_md is %d", len(in.Context), ctxSize)
	}
	var ctxIn [ctxSize]byte
	copy(ctxIn[:], in.Context)
	le := binary.LittleEndian
	if le.Uint32(ctxIn[offData:]) != 0 || le.Uint32(ctxIn[offDataEnd:]) != 0 || le.Uint32(ctxIn[offDataMeta:]) != 0 {
		return nil, fmt.Errorf("ctx_in: data, data_end and data_meta must be 0 (the runtime places the packet)")
	}
	pkt, err := mem.AllocLow(Headroom + len(in.Data) + 1)
	if err != nil {
		return nil, err
	}
	ctx, err := mem.Alloc(ctxSize)
	if err != nil {
		pkt.Free()
		return nil, err
	}
	data := pkt.Addr() + Headroom
	copy(pkt.Bytes()[Headroom:], in.Data)
	c := ctx.Bytes()
	copy(c, ctxIn[:])
	le.PutUint32(c[offData:], uint32(data))
	le.PutUint32(c[offDataEnd:], uint32(data)+uint32(len(in.Data)))
	le.PutUint32(c[offDataMeta:], uint32(data))
	return &core.TestContext{
		Addr: ctx.Addr(),
		Grants: []interp.Region{
			{Addr: ctx.Addr(), Size: ctxSize},
			{Addr: data, Size: uint64(len(in.Data)), Writable: true},
		},
		Finish: func() ([]byte, []byte) {
			out := append([]byte(nil), c...)
			le.PutUint32(out[offData:], 0)
			le.PutUint32(out[offDataEnd:], 0)
			le.PutUint32(out[offDataMeta:], 0)
			return out, append([]byte(nil), pkt.Bytes()[Headroom:Headroom+len(in.Data)]...)
		},
		Free: func() {
			pkt.Free()
			ctx.Free()
		},
	}, nil
}
