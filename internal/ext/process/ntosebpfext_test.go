package process_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	source "github.com/ebpfhost/ebpfhost/internal/source/process"
)

const ntosDir = "testdata/ntosebpfext/"

// TestNtosebpfextObjectUpToDate: ntosebpfext's own source compiles,
// unchanged, against include/compat, into the committed object.
func TestNtosebpfextObjectUpToDate(t *testing.T) {
	clangtest.CheckObject(t, ntosDir+"process_monitor.c", ntosDir+"process_monitor.o",
		"-I", "../../../../../include/compat", "-I", "../../../../../include")
}

// TestNtosebpfextProcessMonitor verifies ntosebpfext's process monitor and
// runs it on a create and an exit: its ring buffer gets process_info_t
// records and its LRU maps the command line and image path.
func TestNtosebpfextProcessMonitor(t *testing.T) {
	rt, x := host(t, core.Options{})
	spec, err := loader.LoadFile(ntosDir + "process_monitor.o")
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.LoadCollection(spec)
	if err != nil {
		t.Fatalf("ntosebpfext's process_monitor.o does not load: %v", err)
	}
	defer c.Close()
	attach(t, c.Programs["ProcessMonitor"])
	rd, err := c.Maps["process_ringbuf"].Impl().(*maps.RingBufMap).NewReader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	created := time.Now()
	x.Handle(&source.Event{Op: source.Create, PID: 77, PPID: 1, CreatorPID: 1, CreatorTID: 2, UID: 0,
		Image: "/usr/bin/sleep", Argv: []string{"sleep", "1"}, Created: created})
	x.Handle(&source.Event{Op: source.Exit, PID: 77, PPID: 1, CreatorPID: 1, CreatorTID: 2, Image: "/usr/bin/sleep", Created: created,
		Exited: created.Add(time.Second), ExitCode: 3})
	if st := x.Stats(); st.Failures != 0 || st.Invocations != 2 {
		t.Fatalf("stats %+v", st)
	}

	le := binary.LittleEndian
	for i, want := range []struct {
		op   byte
		code uint32
	}{{0, 0}, {1, 3}} {
		rd.SetDeadline(time.Now().Add(time.Second))
		rec, err := rd.Read()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		b := rec.RawSample
		if len(b) != 40 {
			t.Fatalf("record %d: %d bytes, want sizeof(process_info_t) = 40", i, len(b))
		}
		if pid, ppid, ctid := le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[12:]); pid != 77 || ppid != 1 || ctid != 2 {
			t.Errorf("record %d: pid %d ppid %d creating thread %d", i, pid, ppid, ctid)
		}
		if code, op := le.Uint32(b[32:]), b[36]; op != want.op || code != want.code {
			t.Errorf("record %d: operation %d exit code %d, want %d and %d", i, op, code, want.op, want.code)
		}
	}
	key := le.AppendUint32(nil, 77)
	cmd := make([]byte, 32*1024)
	if err := c.Maps["command_map"].Lookup(key, cmd); err != nil {
		t.Fatalf("command_map[77]: %v", err)
	}
	if got := string(bytes.TrimRight(cmd, "\x00")); got != "sleep 1" {
		t.Errorf("command_map[77] = %q, want \"sleep 1\"", got)
	}
	img := make([]byte, 1024)
	if err := c.Maps["process_map"].Lookup(key, img); err != nil {
		t.Fatalf("process_map[77]: %v", err)
	}
	if got := string(bytes.TrimRight(img, "\x00")); got != "/usr/bin/sleep" {
		t.Errorf("process_map[77] = %q, want /usr/bin/sleep", got)
	}
}
