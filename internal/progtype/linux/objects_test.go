package linux

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	pt "github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
	"github.com/ebpfhost/ebpfhost/isa"
)

// objectPrograms lists every program of the objects in testdata with the
// type its section must select. knownRejection, when set, is part of the
// message with which ebpfhost's verifier rejects a program Linux accepts:
// the subtest is skipped while the rejection stands, and fails once the
// program verifies, so that the entry is removed.
var objectPrograms = []struct {
	obj, prog, typ string
	knownRejection string
}{
	{"kprobe", "trace_openat2", "kprobe", ""},
	{"tc", "count_protocols", "sched_cls", ""},
	{"tc", "decrement_ttl", "sched_cls", ""},
	// Linux lets tc programs write mark, priority, cb[], tc_classid and a
	// few more __sk_buff fields; progtype's context descriptor has no
	// writable fields.
	{"tc", "mark_packets", "sched_cls", ""},
	{"socket", "keep_tcp", "socket_filter", ""},
	{"tracepoint", "openat_enter", "tracepoint", ""},
	// The __data_loc idiom: Linux allows arithmetic on the context
	// pointer with a variable offset (only dereferencing it at one is
	// refused), and a privileged tracing program may pass the result to an
	// ARG_ANYTHING argument.
	{"tracepoint", "exec", "tracepoint", ""},
	{"xdp", "drop_udp_port", "xdp", ""},
	{"xdp", "tag_meta", "xdp", ""},
	{"cgroup_skb", "egress_firewall", "cgroup_skb", ""},
	{"sockops", "rtt_events", "sock_ops", ""},
	// Linux lets sock_ops programs write reply, replylong[] and sk_txhash.
	{"sockops", "set_initial_rwnd", "sock_ops", ""},
	{"raw_tp", "on_switch", "raw_tracepoint", ""},
	{"perf_event", "profile", "perf_event", ""},
}

func TestObjectsUpToDate(t *testing.T) {
	var objs []string
	for _, p := range objectPrograms {
		if !slices.Contains(objs, p.obj) {
			objs = append(objs, p.obj)
		}
	}
	for _, obj := range objs {
		t.Run(obj, func(t *testing.T) {
			clangtest.CheckObject(t, filepath.Join("testdata", obj+".c"), filepath.Join("testdata", obj+".o"))
		})
	}
}

// TestObjectsVerify loads each object as the runtime would and verifies
// each program against the Linux type its section selects.
func TestObjectsVerify(t *testing.T) {
	reg := Registry()
	specs := map[string]*loader.CollectionSpec{}
	listed := map[string]bool{}
	for _, p := range objectPrograms {
		listed[p.obj+"/"+p.prog] = true
		t.Run(p.obj+"/"+p.prog, func(t *testing.T) {
			spec, ok := specs[p.obj]
			if !ok {
				var err error
				spec, err = loader.LoadFile(filepath.Join("testdata", p.obj+".o"))
				if err != nil {
					t.Fatal(err)
				}
				specs[p.obj] = spec
			}
			ps, ok := spec.Programs[p.prog]
			if !ok {
				t.Fatalf("no program %s in %s.o", p.prog, p.obj)
			}
			typ, ok := reg.ForSection(ps.Section)
			if !ok || typ.Name != p.typ {
				got := "no type"
				if ok {
					got = typ.Name
				}
				t.Fatalf("section %q selects %s, want %s", ps.Section, got, p.typ)
			}
			res, err := verifier.Verify(verifierProgram(spec, ps, typ), &verifier.Options{Log: true})
			if p.knownRejection != "" {
				if err == nil {
					t.Fatalf("now verifies (%d steps): remove the known rejection %q from objectPrograms", res.Steps, p.knownRejection)
				}
				if !strings.Contains(err.Error(), p.knownRejection) {
					t.Fatalf("rejected differently than recorded (%q): %v", p.knownRejection, err)
				}
				t.Skip("verifier: " + err.Error())
			}
			if err != nil {
				var e *verifier.Error
				if errors.As(err, &e) {
					t.Fatalf("rejected: %v\n%s", err, strings.Join(e.Log, "\n"))
				}
				t.Fatal(err)
			}
			t.Logf("verified: %d instructions, %d steps", res.Instructions, res.Steps)
		})
	}
	// Every program of every object is in the table.
	for obj, spec := range specs {
		for name := range spec.Programs {
			if !listed[obj+"/"+name] {
				t.Errorf("%s.o: program %s is not in objectPrograms", obj, name)
			}
		}
	}
}

// verifierProgram describes a program for the verifier from its object
// alone: maps as declared, .rodata read-only with its contents known.
func verifierProgram(spec *loader.CollectionSpec, ps *loader.ProgramSpec, typ *pt.ProgramType) *verifier.Program {
	vp := &verifier.Program{
		Name: ps.Name, Section: ps.Section, Insns: ps.Instructions, Type: typ,
		Source: func(pc int) string {
			if l, ok := ps.SourceLine(pc); ok {
				return l.String()
			}
			return ""
		},
	}
	for _, name := range ps.MapRefs {
		vp.Maps = append(vp.Maps, mapInfo(name, spec.Maps[name]))
	}
	return vp
}

func mapInfo(name string, ms *loader.MapSpec) verifier.MapInfo {
	if ms == nil {
		return verifier.MapInfo{Name: name}
	}
	mi := specInfo(name, &ms.Spec, ms.Frozen)
	if ms.Frozen && ms.Type == maps.Array && ms.MaxEntries == 1 && len(ms.Contents) == 1 {
		mi.Frozen = ms.Contents[0].Value
	}
	return mi
}

func specInfo(name string, s *maps.Spec, frozen bool) verifier.MapInfo {
	mi := verifier.MapInfo{
		Name: name, Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize, MaxEntries: s.MaxEntries,
		ReadOnly: frozen || s.Flags&maps.FlagRdonlyProg != 0,
	}
	if s.InnerMap != nil {
		inner := specInfo(s.InnerMap.Name, s.InnerMap, false)
		mi.Inner = &inner
	}
	return mi
}

// TestStalePacketPointer: a helper that may move or resize the packet
// (bpf_xdp_adjust_head here) invalidates every packet pointer, as in Linux,
// so reading through one loaded before the call is rejected.
func TestStalePacketPointer(t *testing.T) {
	typ, _ := Registry().ByName("xdp")
	insns, err := isa.Assemble(`
		mov %r6, %r1
		ldxw %r7, [%r1+0]
		ldxw %r3, [%r1+4]
		mov %r4, %r7
		add %r4, 14
		jgt %r4, %r3, out
		mov %r1, %r6
		mov %r2, 14
		call 44
		ldxb %r0, [%r7+0]
	out:
		mov %r0, 2
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifier.Verify(&verifier.Program{Name: "stale", Insns: insns, Type: typ}, nil)
	var ve *verifier.Error
	if !errors.As(err, &ve) || ve.Kind != verifier.KindUninitRegister || !strings.Contains(ve.Reason, "bpf_xdp_adjust_head at instruction 8 made it invalid") {
		t.Fatalf("got %v", err)
	}
}

// TestContextRules runs small programs through the verifier to check what
// the descriptors mean end to end: which types get packet pointers, how
// wide those fields are, and which return values are enforced.
func TestContextRules(t *testing.T) {
	// A read of the first packet byte after a bounds check, with data and
	// data_end at the given context offsets and loaded with size (w or dw).
	packetRead := func(w string, data, end int) string {
		return strings.NewReplacer("LD", "ldx"+w, "DATA", strconv.Itoa(data), "END", strconv.Itoa(end)).Replace(`
			LD %r2, [%r1+DATA]
			LD %r3, [%r1+END]
			mov %r4, %r2
			add %r4, 1
			jgt %r4, %r3, out
			ldxb %r0, [%r2+0]
		out:
			mov %r0, 0
			exit`)
	}
	ret := func(v int) string { return "mov %r0, " + strconv.Itoa(v) + "\nexit" }
	for _, tc := range []struct {
		name, typ, src string
		kind           verifier.Kind // "" to accept
	}{
		{"xdp packet", "xdp", packetRead("w", 0, 4), ""},
		{"tc packet", "sched_cls", packetRead("w", 76, 80), ""},
		{"act packet", "sched_act", packetRead("w", 76, 80), ""},
		{"cgroup_skb packet", "cgroup_skb", packetRead("w", 76, 80), ""},
		// Socket filters have no direct packet access: data reads as a number.
		{"socket_filter packet", "socket_filter", packetRead("w", 76, 80), verifier.KindBadPointer},
		{"sock_ops packet", "sock_ops", packetRead("dw", 192, 200), ""},
		{"sock_ops packet 32-bit", "sock_ops", packetRead("w", 192, 200), verifier.KindBadPointer},
		{"tc meta", "sched_cls", `
			ldxw %r2, [%r1+140]
			ldxw %r3, [%r1+76]
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r0, [%r2+0]
		out:
			mov %r0, 0
			exit`, ""},
		// cgroup_skb has no data_meta: it reads as a number.
		{"cgroup_skb meta", "cgroup_skb", `
			ldxw %r2, [%r1+140]
			ldxw %r3, [%r1+76]
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r0, [%r2+0]
		out:
			mov %r0, 1
			exit`, verifier.KindBadPointer},
		{"kprobe last register", "kprobe", "ldxdw %r0, [%r1+160]\nmov %r0, 0\nexit", ""},
		{"kprobe past pt_regs", "kprobe", "ldxdw %r0, [%r1+168]\nmov %r0, 0\nexit", verifier.KindOutOfBounds},
		{"perf_event addr", "perf_event", "ldxdw %r0, [%r1+176]\nmov %r0, 0\nexit", ""},
		{"perf_event past addr", "perf_event", "ldxdw %r0, [%r1+184]\nmov %r0, 0\nexit", verifier.KindOutOfBounds},
		{"raw_tp 12th arg", "raw_tracepoint", "ldxdw %r0, [%r1+88]\nmov %r0, 0\nexit", ""},
		{"raw_tp 13th arg", "raw_tracepoint", "ldxdw %r0, [%r1+96]\nmov %r0, 0\nexit", verifier.KindOutOfBounds},
		{"tracepoint field", "tracepoint", "ldxdw %r0, [%r1+2040]\nmov %r0, 0\nexit", ""},
		{"tracepoint past bound", "tracepoint", "ldxdw %r0, [%r1+2048]\nmov %r0, 0\nexit", verifier.KindOutOfBounds},
		{"cgroup_skb allow", "cgroup_skb", ret(1), ""},
		{"cgroup_skb 2", "cgroup_skb", ret(2), verifier.KindReturnValue},
		{"sock_ops 2", "sock_ops", ret(2), verifier.KindReturnValue},
		{"xdp any verdict", "xdp", ret(7), ""},
		{"tc any verdict", "sched_cls", ret(-1), ""},
		{"kprobe any", "kprobe", ret(12345), ""},
		// Helpers by type: bpf_probe_read_kernel is for tracing programs.
		{"kprobe probe_read_kernel", "kprobe", `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			mov %r3, 0
			call 113
			ldxdw %r0, [%r10-8]
			mov %r0, 0
			exit`, ""},
		{"xdp probe_read_kernel", "xdp", `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			mov %r3, 0
			call 113
			mov %r0, 0
			exit`, verifier.KindUnknownHelper},
		{"tc skb_load_bytes", "sched_cls", `
			mov %r2, 12
			mov %r3, %r10
			add %r3, -8
			mov %r4, 8
			call 26
			ldxdw %r0, [%r10-8]
			mov %r0, 0
			exit`, ""},
		{"tc skb_load_bytes too long", "sched_cls", `
			mov %r2, 12
			mov %r3, %r10
			add %r3, -8
			mov %r4, 16
			call 26
			mov %r0, 0
			exit`, verifier.KindOutOfBounds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, ok := Registry().ByName(tc.typ)
			if !ok {
				t.Fatalf("no type %s", tc.typ)
			}
			insns, err := isa.Assemble(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = verifier.Verify(&verifier.Program{Name: tc.name, Insns: insns, Type: typ}, nil)
			var e *verifier.Error
			switch {
			case tc.kind == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.kind != "" && (!errors.As(err, &e) || e.Kind != tc.kind):
				t.Fatalf("got %v, want a rejection of kind %q", err, tc.kind)
			case err != nil:
				t.Logf("rejected as expected: %v", err)
			}
		})
	}
}
