package process_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	source "github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/tracepoint"
)

// childCounter counts the creates (slot 1) and exits (slot 2) of the
// processes whose parent is the pid in slot 0.
const childCounter = `
	mov %r6, %r1
	mov %r1, 0
	stxw [%r10-4], %r1
	mov %r2, %r10
	add %r2, -4
	lddw %r1, map_idx:0
	call 1
	jeq %r0, 0, out
	ldxdw %r1, [%r0+0]
	ldxdw %r2, [%r6+24]
	jne %r1, %r2, out
	ldxb %r1, [%r6+68]
	add %r1, 1
	stxw [%r10-4], %r1
	mov %r2, %r10
	add %r2, -4
	lddw %r1, map_idx:0
	call 1
	jeq %r0, 0, out
	mov %r1, 1
	lock add [%r0+0], %r1
out:
	mov %r0, 0
	exit`

// TestTwoProgramsSeeEveryEvent attaches two programs to the process hook,
// feeds it from the kernel tracepoints, starts processes and checks that
// both programs saw each start and each exit.
func TestTwoProgramsSeeEveryEvent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the tracepoint source")
	}
	rt, x := host(t, core.Options{})
	spec := maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 3}
	var colls []*core.Collection
	for i := 0; i < 2; i++ {
		c := loadAsm(t, rt, childCounter, spec)
		if err := c.Maps["m0"].Update([]byte{0, 0, 0, 0}, binary.LittleEndian.AppendUint64(nil, uint64(os.Getpid())), maps.UpdateAny); err != nil {
			t.Fatal(err)
		}
		attach(t, c.Programs["prog"])
		colls = append(colls, c)
	}
	src := tracepoint.New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, x.Handle) }()
	select {
	case err := <-done:
		var ue *source.UnavailableError
		if errors.As(err, &ue) {
			t.Skipf("tracepoint source unavailable: %v", ue)
		}
		t.Fatal(err)
	case <-time.After(500 * time.Millisecond):
	}
	const n = 20
	for i := 0; i < n; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	count := func(c *core.Collection, slot uint32) uint64 {
		v := make([]byte, 8)
		if err := c.Maps["m0"].Lookup(binary.LittleEndian.AppendUint32(nil, slot), v); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, c := range colls {
			ok = ok && count(c, 1) >= n && count(c, 2) >= n
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Other children of the test process may come and go (the runtime
	// forks helpers), so the counts are at least n, and the same for both.
	for i, c := range colls {
		if cr, ex := count(c, 1), count(c, 2); cr < n || ex < n {
			t.Errorf("program %d saw %d creates and %d exits of the test's children, want at least %d each", i, cr, ex, n)
		}
	}
	if a, b := count(colls[0], 1)+count(colls[0], 2)<<32, count(colls[1], 1)+count(colls[1], 2)<<32; a != b {
		t.Errorf("the programs saw different events: %#x and %#x", a, b)
	}
	if st := x.Stats(); st.Failures != 0 {
		t.Errorf("%d runs failed", st.Failures)
	}
}
