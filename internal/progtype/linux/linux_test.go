package linux

import (
	"slices"
	"testing"

	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
)

func TestRegistryHasEveryType(t *testing.T) {
	r := Registry()
	types := Types()
	if got := len(r.Types()); got != len(types) {
		t.Fatalf("registry holds %d types, Types returns %d", got, len(types))
	}
	for _, want := range []struct {
		name string
		id   uint32
	}{
		{"socket_filter", 1}, {"kprobe", 2}, {"sched_cls", 3}, {"sched_act", 4}, {"tracepoint", 5},
		{"xdp", 6}, {"perf_event", 7}, {"cgroup_skb", 8}, {"sock_ops", 13}, {"raw_tracepoint", 17},
	} {
		typ, ok := r.ByName(want.name)
		if !ok {
			t.Errorf("%s is not registered", want.name)
			continue
		}
		if typ.ID != want.id {
			t.Errorf("%s: id %d, want %d (enum bpf_prog_type)", want.name, typ.ID, want.id)
		}
		if typ.ID >= 0x10000 || typ.GUID != "" {
			t.Errorf("%s: id %#x, GUID %q: Linux types use Linux's ids and no GUID", want.name, typ.ID, typ.GUID)
		}
	}
}

// TestTypesAreFresh: every call builds its own values, so that a caller
// changing one (adding a helper, say) cannot affect another registry.
func TestTypesAreFresh(t *testing.T) {
	a, b := Types(), Types()
	i := slices.IndexFunc(a[0].Helpers, func(h pt.HelperProto) bool { return len(h.Args) > 0 })
	a[0].Helpers[i].Name = "changed"
	a[0].Helpers[i].Args[0] = pt.ArgNone
	a[0].SectionPrefixes[0] = "changed"
	for _, c := range [][]*pt.ProgramType{b, Types()} {
		if c[0].Helpers[i].Name == "changed" || c[0].Helpers[i].Args[0] == pt.ArgNone || c[0].SectionPrefixes[0] == "changed" {
			t.Error("Types shares its tables between calls")
		}
	}
}

func TestSections(t *testing.T) {
	r := Registry()
	for _, tc := range []struct{ section, want string }{
		{"kprobe/sys_execve", "kprobe"},
		{"kretprobe/do_sys_openat2", "kprobe"},
		{"kprobe", "kprobe"},
		{"uprobe//usr/lib/libc.so.6:malloc", "kprobe"},
		{"uretprobe/libc.so.6:malloc", "kprobe"},
		{"uprobe.s/bash:readline", "kprobe"},
		{"kprobe.multi/tcp_*", "kprobe"},
		{"ksyscall/execve", "kprobe"},
		{"usdt/libc.so.6:libc:setjmp", "kprobe"},
		{"tracepoint/syscalls/sys_enter_openat", "tracepoint"},
		{"tp/sched/sched_process_exec", "tracepoint"},
		{"raw_tp/sched_switch", "raw_tracepoint"},
		{"raw_tracepoint/sys_enter", "raw_tracepoint"},
		{"xdp", "xdp"},
		{"xdp/devmap", "xdp"},
		{"xdp.frags", "xdp"},
		{"xdp.frags/cpumap", "xdp"},
		{"tc", "sched_cls"},
		{"tc/ingress", "sched_cls"},
		{"tcx/egress", "sched_cls"},
		{"netkit/primary", "sched_cls"},
		{"classifier", "sched_cls"},
		{"classifier/foo", "sched_cls"},
		{"action", "sched_act"},
		{"action/mirred", "sched_act"},
		{"socket", "socket_filter"},
		{"socket/http", "socket_filter"},
		{"cgroup_skb/ingress", "cgroup_skb"},
		{"cgroup_skb/egress", "cgroup_skb"},
		{"cgroup/skb", "cgroup_skb"},
		{"sockops", "sock_ops"},
		{"perf_event", "perf_event"},
		// Other Linux types, or not program sections at all.
		{"tp_btf/sched_switch", ""},
		{"raw_tp.w/bpf_testmod_test_writable_bare", ""},
		{"raw_tracepoint.w/x", ""},
		{"fentry/do_unlinkat", ""},
		{"kprobe.session/vfs_read", ""},
		{"cgroup_skb", ""},
		{"cgroup_skb/other", ""},
		{"sk_skb/stream_parser", ""},
		{"socketx", ""},
		{"tcp", ""},
		{"xdpx", ""},
		{".text", ""},
		{"license", ""},
	} {
		name := ""
		if typ, ok := r.ForSection(tc.section); ok {
			name = typ.Name
		}
		if name != tc.want {
			t.Errorf("ForSection(%q) = %q, want %q", tc.section, name, tc.want)
		}
	}
}

func TestContexts(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		size, data, end, meta int
		ptr                   int
		retMin, retMax        int64
	}{
		{"xdp", 24, 0, 4, 8, 4, 0, 0},
		{"socket_filter", 192, -1, -1, -1, 4, 0, 0},
		{"sched_cls", 192, 76, 80, 140, 4, 0, 0},
		{"sched_act", 192, 76, 80, 140, 4, 0, 0},
		{"cgroup_skb", 192, 76, 80, -1, 4, 0, 1},
		{"sock_ops", 224, 192, 200, -1, 8, 0, 1},
		{"kprobe", 168, -1, -1, -1, 8, 0, 0},
		{"tracepoint", 2048, -1, -1, -1, 8, 0, 0},
		{"raw_tracepoint", 96, -1, -1, -1, 8, 0, 0},
		{"perf_event", 184, -1, -1, -1, 8, 0, 0},
	} {
		typ, ok := Registry().ByName(tc.name)
		if !ok {
			t.Errorf("%s: not registered", tc.name)
			continue
		}
		c := typ.Context
		if c.Size != tc.size || c.Data != tc.data || c.End != tc.end || c.Meta != tc.meta || c.PointerSize != tc.ptr {
			t.Errorf("%s: context %+v, want size %d data %d end %d meta %d pointers %d", tc.name, c, tc.size, tc.data, tc.end, tc.meta, tc.ptr)
		}
		if typ.ReturnMin != tc.retMin || typ.ReturnMax != tc.retMax {
			t.Errorf("%s: returns %d..%d, want %d..%d", tc.name, typ.ReturnMin, typ.ReturnMax, tc.retMin, tc.retMax)
		}
	}
	// Whatever the values, the descriptors must make sense to the verifier.
	for _, typ := range Types() {
		c := typ.Context
		if c.Size <= 0 || c.PointerSize != 4 && c.PointerSize != 8 {
			t.Errorf("%s: size %d, pointer size %d", typ.Name, c.Size, c.PointerSize)
		}
		if (c.Data < 0) != (c.End < 0) {
			t.Errorf("%s: data %d and data_end %d must both be present or both absent", typ.Name, c.Data, c.End)
		}
		if c.Meta >= 0 && c.Data < 0 {
			t.Errorf("%s: data_meta without data", typ.Name)
		}
		var fields []int
		for _, f := range []int{c.Data, c.End, c.Meta} {
			if f < 0 {
				continue
			}
			if f+c.PointerSize > c.Size || f%c.PointerSize != 0 {
				t.Errorf("%s: pointer field at %d does not fit the %d-byte context aligned", typ.Name, f, c.Size)
			}
			for _, g := range fields {
				if f < g+c.PointerSize && g < f+c.PointerSize {
					t.Errorf("%s: pointer fields at %d and %d overlap", typ.Name, f, g)
				}
			}
			fields = append(fields, f)
		}
		if c.Data >= 0 && c.Data >= c.End {
			t.Errorf("%s: data at %d is not before data_end at %d", typ.Name, c.Data, c.End)
		}
		if typ.ReturnMin > typ.ReturnMax {
			t.Errorf("%s: return range %d..%d", typ.Name, typ.ReturnMin, typ.ReturnMax)
		}
	}
}

func isMem(a pt.ArgType) bool {
	switch a {
	case pt.ArgPtrToReadableMem, pt.ArgPtrToReadableMemOrNull, pt.ArgPtrToWritableMem, pt.ArgPtrToWritableMemOrNull:
		return true
	}
	return false
}

func isSize(a pt.ArgType) bool { return a == pt.ArgConstSize || a == pt.ArgConstSizeOrZero }

// TestHelpers checks the prototypes the way the verifier reads them: a
// memory argument takes its size from the next argument, map keys and
// values from the map argument before them.
func TestHelpers(t *testing.T) {
	for _, typ := range Types() {
		if len(typ.Helpers) == 0 {
			t.Errorf("%s: no Linux helpers", typ.Name)
		}
		seen := map[int32]bool{}
		for _, h := range typ.Helpers {
			if seen[h.ID] {
				t.Errorf("%s: helper %d (%s) listed twice", typ.Name, h.ID, h.Name)
			}
			seen[h.ID] = true
			if g, ok := pt.GeneralHelper(h.ID); ok {
				t.Errorf("%s: %s redefines general helper %d (%s)", typ.Name, h.Name, h.ID, g.Name)
			}
			if h.ID <= 0 || h.ID >= pt.WindowsHelperBase {
				t.Errorf("%s: %s has id %d, not a Linux helper id", typ.Name, h.Name, h.ID)
			}
			if len(h.Args) > 5 {
				t.Errorf("%s: %s has %d arguments", typ.Name, h.Name, len(h.Args))
			}
			if h.Ret != pt.RetInteger {
				t.Errorf("%s: %s returns %s", typ.Name, h.Name, h.Ret)
			}
			haveMap, haveCtx := false, false
			for i, a := range h.Args {
				switch {
				case a == pt.ArgNone:
					t.Errorf("%s: %s: argument %d is none", typ.Name, h.Name, i+1)
				case isMem(a):
					if i+1 >= len(h.Args) || !isSize(h.Args[i+1]) {
						t.Errorf("%s: %s: memory argument %d is not followed by its size", typ.Name, h.Name, i+1)
					}
				case isSize(a):
					if i == 0 || !isMem(h.Args[i-1]) {
						t.Errorf("%s: %s: size argument %d does not follow a memory argument", typ.Name, h.Name, i+1)
					}
				case a == pt.ArgPtrToMap || a == pt.ArgPtrToMapOfPrograms:
					haveMap = true
				case a == pt.ArgPtrToMapKey || a == pt.ArgPtrToMapValue:
					if !haveMap {
						t.Errorf("%s: %s: map key or value argument %d without a map before it", typ.Name, h.Name, i+1)
					}
				case a == pt.ArgPtrToCtx:
					if haveCtx {
						t.Errorf("%s: %s: two context arguments", typ.Name, h.Name)
					}
					haveCtx = true
				}
			}
			got, ok := typ.Helper(h.ID)
			if !ok || got.Name != h.Name {
				t.Errorf("%s: Helper(%d) = %+v, %v", typ.Name, h.ID, got, ok)
			}
		}
		// The general helpers stay reachable.
		if h, ok := typ.Helper(pt.HelperMapLookupElem); !ok || h.Name != "bpf_map_lookup_elem" {
			t.Errorf("%s: bpf_map_lookup_elem: %+v, %v", typ.Name, h, ok)
		}
	}
}

// TestHelperSets pins which types offer which helpers, where it matters:
// tracing helpers only to tracing types, packet helpers only to packet
// types.
func TestHelperSets(t *testing.T) {
	r := Registry()
	has := func(typ string, id int32) bool {
		ty, _ := r.ByName(typ)
		for _, h := range ty.Helpers {
			if h.ID == id {
				return true
			}
		}
		return false
	}
	tracing := []string{"kprobe", "tracepoint", "raw_tracepoint", "perf_event"}
	tc := []string{"sched_cls", "sched_act"}
	for _, tcase := range []struct {
		id       int32
		name     string
		yes, not []string
	}{
		{HelperProbeRead, "bpf_probe_read", tracing, []string{"xdp", "sched_cls", "socket_filter"}},
		{HelperProbeReadKernel, "bpf_probe_read_kernel", tracing, []string{"xdp", "sched_cls"}},
		{HelperProbeReadUser, "bpf_probe_read_user", tracing, []string{"xdp"}},
		{HelperProbeReadStr, "bpf_probe_read_str", tracing, []string{"xdp"}},
		{HelperProbeReadKernelStr, "bpf_probe_read_kernel_str", tracing, []string{"xdp"}},
		{HelperProbeReadUserStr, "bpf_probe_read_user_str", tracing, []string{"xdp"}},
		{HelperGetCurrentTask, "bpf_get_current_task", tracing, []string{"xdp", "sched_cls"}},
		{HelperSendSignal, "bpf_send_signal", tracing, []string{"xdp"}},
		{HelperGetNsCurrentPidTgid, "bpf_get_ns_current_pid_tgid", tracing, []string{"xdp"}},
		{HelperGetCurrentCgroupID, "bpf_get_current_cgroup_id", tracing, []string{"xdp", "cgroup_skb", "sched_cls"}},
		{HelperGetStackID, "bpf_get_stackid", tracing, []string{"xdp"}},
		{HelperPerfEventOutput, "bpf_perf_event_output", append(append([]string{"xdp", "socket_filter", "cgroup_skb", "sock_ops"}, tc...), tracing...), nil},
		{HelperOverrideReturn, "bpf_override_return", []string{"kprobe"}, []string{"tracepoint", "perf_event"}},
		{HelperPerfProgReadValue, "bpf_perf_prog_read_value", []string{"perf_event"}, []string{"kprobe"}},
		{HelperSkbLoadBytes, "bpf_skb_load_bytes", append([]string{"socket_filter", "cgroup_skb"}, tc...), []string{"xdp", "kprobe"}},
		{HelperSkbStoreBytes, "bpf_skb_store_bytes", tc, []string{"socket_filter", "cgroup_skb", "xdp"}},
		{HelperL3CsumReplace, "bpf_l3_csum_replace", tc, []string{"socket_filter"}},
		{HelperL4CsumReplace, "bpf_l4_csum_replace", tc, []string{"socket_filter"}},
		{HelperCloneRedirect, "bpf_clone_redirect", tc, []string{"xdp"}},
		{HelperRedirect, "bpf_redirect", append([]string{"xdp"}, tc...), []string{"socket_filter"}},
		{HelperSkbPullData, "bpf_skb_pull_data", tc, []string{"xdp"}},
		{HelperSkbChangeHead, "bpf_skb_change_head", tc, []string{"xdp"}},
		{HelperXdpAdjustHead, "bpf_xdp_adjust_head", []string{"xdp"}, tc},
		{HelperXdpAdjustTail, "bpf_xdp_adjust_tail", []string{"xdp"}, tc},
		{HelperXdpAdjustMeta, "bpf_xdp_adjust_meta", []string{"xdp"}, tc},
		{HelperRedirectMap, "bpf_redirect_map", []string{"xdp"}, tc},
		{HelperGetSocketCookie, "bpf_get_socket_cookie", append([]string{"socket_filter", "cgroup_skb", "sock_ops"}, tc...), []string{"xdp"}},
		{HelperGetSocketUID, "bpf_get_socket_uid", append([]string{"socket_filter", "cgroup_skb"}, tc...), []string{"xdp", "sock_ops"}},
		{HelperSockOpsCbFlagsSet, "bpf_sock_ops_cb_flags_set", []string{"sock_ops"}, tc},
	} {
		for _, typ := range tcase.yes {
			if !has(typ, tcase.id) {
				t.Errorf("%s programs should have %s", typ, tcase.name)
			}
		}
		for _, typ := range tcase.not {
			if has(typ, tcase.id) {
				t.Errorf("%s programs should not have %s", typ, tcase.name)
			}
		}
	}
	// Every helper named in the table has the right name for its id.
	names := map[int32]string{}
	for _, typ := range Types() {
		for _, h := range typ.Helpers {
			if n, ok := names[h.ID]; ok && n != h.Name {
				t.Errorf("helper %d is %s in one type and %s in another", h.ID, n, h.Name)
			}
			names[h.ID] = h.Name
		}
	}
}

func TestWritableFields(t *testing.T) {
	for _, tc := range []struct {
		typ       string
		off, size int
		want      bool
	}{
		{"sched_cls", 8, 4, true},   // mark
		{"sched_cls", 48, 20, true}, // cb[]
		{"sched_cls", 0, 4, false},  // len
		{"sched_cls", 76, 4, false}, // data
		{"socket_filter", 48, 4, true},
		{"socket_filter", 8, 4, false},
		{"cgroup_skb", 8, 4, true},
		{"sock_ops", 4, 4, true}, // reply
		{"sock_ops", 0, 4, false},
		{"xdp", 0, 4, false},
		{"kprobe", 0, 8, false},
	} {
		typ, _ := Registry().ByName(tc.typ)
		if got := typ.Context.IsWritable(tc.off, tc.size); got != tc.want {
			t.Errorf("%s: writable(%d, %d) = %v, want %v", tc.typ, tc.off, tc.size, got, tc.want)
		}
	}
}

func TestPacketChangingHelpers(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		id   int32
		want bool
	}{
		{"xdp", HelperXdpAdjustHead, true},
		{"xdp", HelperXdpAdjustTail, true},
		{"sched_cls", HelperSkbStoreBytes, true},
		{"sched_cls", HelperSkbPullData, true},
		{"sched_cls", HelperSkbLoadBytes, false},
		{"sched_cls", HelperRedirect, false},
	} {
		typ, _ := Registry().ByName(tc.typ)
		h, ok := typ.Helper(tc.id)
		if !ok || h.ChangesPacket != tc.want {
			t.Errorf("%s helper %d: found %v, changes packet %v, want %v", tc.typ, tc.id, ok, h.ChangesPacket, tc.want)
		}
	}
}
