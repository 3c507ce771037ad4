package core_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/isa"
)

// tickExt is a test extension: program type "tick" whose 8-byte context
// holds a number, a helper 0x10000 that calls back into the test (so a
// test can hold a program in the middle of a run), and a hook "tick" whose
// programs' results are summed.
type tickExt struct {
	ext      *core.Extension
	hook     *core.AttachType
	inHelper func()
	detached atomic.Int32
}

func newTickExt(name string) *tickExt {
	x := &tickExt{}
	t := &core.ProgramType{
		ProgramType: &progtype.ProgramType{
			Name: name, GUID: "00000000-0000-0000-0000-00000000000" + name[len(name)-1:], ID: 0x20000 + uint32(name[len(name)-1]),
			SectionPrefixes: []string{name},
			Context:         progtype.ContextDescriptor{Size: 8, Data: -1, End: -1, Meta: -1, PointerSize: 8},
			Helpers:         []progtype.HelperProto{{ID: 0x10000, Name: "bpf_tick_wait", Ret: progtype.RetInteger}},
		},
		HelperFuncs: map[int32]interp.Helper{0x10000: func(vm *interp.VM, _, _, _, _, _ uint64) uint64 {
			if x.inHelper != nil {
				x.inHelper()
			}
			return 0
		}},
	}
	x.hook = &core.AttachType{
		AttachType: &progtype.AttachType{Name: name, GUID: "10000000-0000-0000-0000-00000000000" + name[len(name)-1:], ProgramType: name, SectionPrefixes: []string{name}},
		Attach: func(l *core.Link) error {
			if s, ok := l.Options().(string); ok && s == "refuse" {
				return errors.New("refused by the hook")
			}
			return nil
		},
		Detach: func(*core.Link) { x.detached.Add(1) },
	}
	x.ext = &core.Extension{Name: name, ProgramTypes: []*core.ProgramType{t}, AttachTypes: []*core.AttachType{x.hook}}
	return x
}

// fire runs every attached program on value v, as a hook would, and
// returns the sum of their results.
func (x *tickExt) fire(t testing.TB, v uint64) uint64 {
	t.Helper()
	blk, err := mem.Alloc(8)
	if err != nil {
		t.Fatal(err)
	}
	defer blk.Free()
	*(*uint64)(mem.Pointer(blk.Addr())) = v
	var sum uint64
	for _, l := range x.hook.Links() {
		r, err := l.Invoke(blk.Addr(), nil, nil, interp.Region{Addr: blk.Addr(), Size: 8})
		if err != nil && !errors.Is(err, core.ErrDetached) {
			t.Errorf("link %d: %v", l.ID(), err)
		}
		sum += r
	}
	return sum
}

// loadTick loads an assembly program in section sec.
func loadTick(t testing.TB, rt *core.Runtime, sec, src string) (*core.Program, error) {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	cs := &loader.CollectionSpec{File: "test", Maps: map[string]*loader.MapSpec{},
		Programs: map[string]*loader.ProgramSpec{"prog": {Name: "prog", Section: sec, License: "MIT", Instructions: insns}}}
	c, err := rt.LoadCollection(cs)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c.Programs["prog"], nil
}

// addN returns a program that returns ctx's number plus n.
func addN(n int) string {
	return "ldxdw %r0, [%r1]\nadd %r0, " + itoa(n) + "\nexit"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func mustLoad(t testing.TB, rt *core.Runtime, sec, src string) *core.Program {
	t.Helper()
	p, err := loadTick(t, rt, sec, src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtensionRegistration(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 2})
	x := newTickExt("tick1")
	if _, err := loadTick(t, rt, "tick1", addN(1)); err == nil || !strings.Contains(err.Error(), "tick1") {
		t.Fatalf("loading before registration: %v, want an unknown-section error", err)
	}
	if err := rt.RegisterExtension(x.ext); err != nil {
		t.Fatal(err)
	}
	if err := rt.RegisterExtension(newTickExt("tick1").ext); err == nil {
		t.Fatal("a second extension of the same name registered")
	}
	// An extension whose second type clashes registers nothing.
	clash := newTickExt("tick2")
	clash.ext.ProgramTypes = append(clash.ext.ProgramTypes, newTickExt("tick1").ext.ProgramTypes[0])
	if err := rt.RegisterExtension(clash.ext); err == nil {
		t.Fatal("a clashing extension registered")
	}
	if _, ok := rt.Registry().ByName("tick2"); ok {
		t.Fatal("the clashing extension's first type stayed registered")
	}
	var names []string
	for _, e := range rt.Extensions() {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "tick1,xdp" {
		t.Fatalf("extensions %s, want tick1,xdp", got)
	}
	if _, err := loadTick(t, rt, "tick1", addN(1)); err != nil {
		t.Fatalf("loading after registration: %v", err)
	}
}

func TestAttachSeveralPrograms(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 2, Checked: true})
	x := newTickExt("tick1")
	if err := rt.RegisterExtension(x.ext); err != nil {
		t.Fatal(err)
	}
	p1 := mustLoad(t, rt, "tick1", addN(1))
	p2 := mustLoad(t, rt, "tick1", addN(20))
	l1, err := p1.Attach("", nil)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := p2.Attach("tick1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if links := x.hook.Links(); len(links) != 2 || links[0] != l1 || links[1] != l2 {
		t.Fatalf("hook links %v, want l1 then l2", links)
	}
	if got := x.fire(t, 100); got != 101+120 {
		t.Fatalf("both programs: sum %d, want %d", got, 101+120)
	}
	if _, err := p1.Attach("tick1", "refuse"); err == nil || !strings.Contains(err.Error(), "refused by the hook") {
		t.Fatalf("attach refused by the hook: %v", err)
	}
	if _, err := p1.Attach("nosuch", nil); err == nil || !strings.Contains(err.Error(), "no attach type") {
		t.Fatalf("attach to an unknown hook: %v", err)
	}
	xdpProg := load(t, rt, "mov %r0, 2\nexit")
	if _, err := xdpProg.Programs["prog"].Attach("tick1", nil); err == nil || !strings.Contains(err.Error(), "takes programs of type tick1") {
		t.Fatalf("attach of the wrong program type: %v", err)
	}
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	if got := x.fire(t, 100); got != 120 {
		t.Fatalf("after detaching one: sum %d, want 120", got)
	}
	if n := x.detached.Load(); n != 1 {
		t.Fatalf("Detach called %d times, want 1", n)
	}
	l1.Close() // a second Close does nothing
	if n := x.detached.Load(); n != 1 {
		t.Fatalf("Detach called %d times after a second Close, want 1", n)
	}
	if _, err := l1.Invoke(0, nil, nil); !errors.Is(err, core.ErrDetached) {
		t.Fatalf("invoke of a closed link: %v, want ErrDetached", err)
	}
}

// TestLinkCloseWaitsForRuns holds a program inside a helper call and checks
// that closing its link waits for the run to end.
func TestLinkCloseWaitsForRuns(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 2})
	x := newTickExt("tick1")
	entered, release := make(chan struct{}), make(chan struct{})
	x.inHelper = func() { close(entered); <-release }
	if err := rt.RegisterExtension(x.ext); err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, rt, "tick1", "call 65536\nmov %r0, 7\nexit")
	l, err := p.Attach("", nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan uint64)
	go func() { ran <- x.fire(t, 0) }()
	<-entered
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the program was running")
	case <-time.After(50 * time.Millisecond):
	}
	if x.detached.Load() != 0 {
		t.Fatal("Detach ran while the program was running")
	}
	close(release)
	if r := <-ran; r != 7 {
		t.Fatalf("the run in progress returned %d, want 7", r)
	}
	<-closed
	if x.detached.Load() != 1 {
		t.Fatal("Detach did not run after Close")
	}
}

func TestUnregisterWaitsForDetach(t *testing.T) {
	rt := newRuntime(t, core.Options{CPUs: 2})
	x := newTickExt("tick1")
	if err := rt.RegisterExtension(x.ext); err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, rt, "tick1", addN(1))
	l, err := p.Attach("", nil)
	if err != nil {
		t.Fatal(err)
	}

	// With a link attached, unregistering times out and says why; the
	// extension's types are gone at once.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = rt.UnregisterExtension(ctx, "tick1")
	if err == nil || !strings.Contains(err.Error(), "1 link(s) still attached") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unregister with a link attached: %v", err)
	}
	if _, err := loadTick(t, rt, "tick1", addN(1)); err == nil {
		t.Fatal("an object of an unregistering extension's type loaded")
	}
	if _, err := p.Attach("", nil); err == nil {
		t.Fatal("attached to an unregistering extension")
	}
	if got := x.fire(t, 1); got != 2 {
		t.Fatalf("the attached program stopped running while unregistering: %d", got)
	}

	// A second unregister waits until the link is closed.
	var wg sync.WaitGroup
	done := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); done <- rt.UnregisterExtension(context.Background(), "tick1") }()
	select {
	case err := <-done:
		t.Fatalf("unregister returned (%v) with a link still attached", err)
	case <-time.After(50 * time.Millisecond):
	}
	l.Close()
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(rt.Extensions()) != 1 {
		t.Fatalf("extensions after unregister: %d, want only xdp", len(rt.Extensions()))
	}
	if err := rt.UnregisterExtension(context.Background(), "tick1"); err == nil {
		t.Fatal("unregistered an extension twice")
	}
	// It can come back.
	if err := rt.RegisterExtension(newTickExt("tick1").ext); err != nil {
		t.Fatalf("registering again: %v", err)
	}
}
