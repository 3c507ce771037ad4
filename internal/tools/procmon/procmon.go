// Package procmon is the process monitor behind `ebpfhost monitor
// process`: it hosts the process extension in a runtime, attaches the
// embedded monitor program (examples/process_monitor.c) and optionally the
// deny program (examples/process_deny.c), feeds the extension from an
// event source, and prints the records the monitor program writes to its
// ring buffer.
//
// Everything the user sees about a process comes from the eBPF program's
// records, not from the event source: the tool is a reader of a ring
// buffer, like any tool built on eBPF.
package procmon

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/examples"
	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/auto"
)

// Options configure a monitor run. The zero value monitors with the best
// source available and prints lines to stdout.
type Options struct {
	// SourceName selects the event source (auto.Names); "" is "auto".
	SourceName string
	// Source, when set, is used instead of SourceName (tests pass a
	// simulated source).
	Source process.Source
	// Replay feeds the simulated source (JSON lines of process events).
	Replay io.Reader
	// Deny lists images to refuse: a file refuses that exact image, a
	// directory every image under it.
	Deny []string
	// DenyErrno is the errno denied execs fail with (default EPERM).
	DenyErrno syscall.Errno
	// Programs are extra objects whose process programs are attached after
	// the deny program and before the monitor.
	Programs []string
	// JSON prints one JSON object per event instead of a line.
	JSON bool
	// Out receives the events (default os.Stdout); Log the notes about the
	// run (default os.Stderr).
	Out, Log io.Writer
	// OnEvent, when set, is called with every event as it is printed.
	OnEvent func(*Event)
	// Ready, when set, is called once programs are attached and the
	// source is starting.
	Ready func(src process.Source)
	// Checked runs the programs in checked mode (every access
	// bounds-checked), for testing.
	Checked bool
}

// Event is one line of output: a record of the monitor program, or a
// denial the hook returned.
type Event struct {
	Time        time.Time `json:"time"`
	Op          string    `json:"op"` // create, exit or deny
	PID         uint64    `json:"pid"`
	PPID        uint64    `json:"ppid"`
	CreatorPID  uint64    `json:"creator_pid,omitempty"`
	CreatorTID  uint64    `json:"creator_tid,omitempty"`
	UID         uint32    `json:"uid"`
	ExitCode    *uint32   `json:"exit_code,omitempty"` // exit only
	Errno       int32     `json:"errno,omitempty"`     // deny only
	Image       string    `json:"image"`
	CommandLine string    `json:"command_line,omitempty"`
	Truncated   bool      `json:"command_line_truncated,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	Exited      time.Time `json:"exited,omitzero"`
}

// Record layout of examples/process_monitor.c's struct process_event.
const (
	recOp         = 0
	recExitCode   = 4
	recPID        = 8
	recPPID       = 16
	recCreatorPID = 24
	recCreatorTID = 32
	recCreated    = 40
	recExited     = 48
	recUID        = 56
	recImageLen   = 60
	recCommandLen = 64
	recFlags      = 68
	recText       = 72

	flagTruncated = 1
)

// Decode parses a record of the monitor program.
func Decode(b []byte) (*Event, error) {
	if len(b) < recText {
		return nil, fmt.Errorf("process record of %d bytes, shorter than its %d-byte header", len(b), recText)
	}
	le := binary.LittleEndian
	il, cl := int(le.Uint32(b[recImageLen:])), int(le.Uint32(b[recCommandLen:]))
	if recText+il+cl != len(b) {
		return nil, fmt.Errorf("process record of %d bytes, but its header says %d + %d (image) + %d (command line)", len(b), recText, il, cl)
	}
	ev := &Event{
		PID: le.Uint64(b[recPID:]), PPID: le.Uint64(b[recPPID:]),
		CreatorPID: le.Uint64(b[recCreatorPID:]), CreatorTID: le.Uint64(b[recCreatorTID:]),
		UID:         le.Uint32(b[recUID:]),
		Image:       string(b[recText : recText+il]),
		CommandLine: string(b[recText+il:]),
		Truncated:   le.Uint32(b[recFlags:])&flagTruncated != 0,
		Created:     FromFileTime(le.Uint64(b[recCreated:])),
	}
	switch b[recOp] {
	case 0:
		ev.Op, ev.Time = "create", ev.Created
	case 1:
		code := le.Uint32(b[recExitCode:])
		ev.Op, ev.ExitCode = "exit", &code
		ev.Exited = FromFileTime(le.Uint64(b[recExited:]))
		ev.Time = ev.Exited
	default:
		return nil, fmt.Errorf("process record with unknown operation %d", b[recOp])
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return ev, nil
}

// FromFileTime converts a FILETIME (100 ns since 1601) to a time; 0 is the
// zero time.
func FromFileTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000
	return time.Unix(0, (int64(ft)-epochDiff)*100)
}

// Stats summarise a run.
type Stats struct {
	Events   uint64 // records printed
	Denied   uint64 // execs refused
	Failures uint64 // program runs that failed (the exec was allowed)
	// Dropped counts events lost: by the source (the kernel's queue or
	// ring overflowed) and by the monitor program (its ring buffer was
	// full).
	SourceDropped, RingDropped uint64
}

// Run monitors until ctx is done or the source fails. It returns the
// source's error (an *process.UnavailableError when it cannot run here).
func Run(ctx context.Context, o Options) (Stats, error) {
	var st Stats
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.DenyErrno == 0 {
		o.DenyErrno = syscall.EPERM
	}
	rules, err := denyRules(o.Deny, o.DenyErrno)
	if err != nil {
		return st, err
	}
	src := o.Source
	if src == nil {
		src, err = auto.Open(auto.Options{Name: o.SourceName, Deny: len(rules) > 0, Replay: o.Replay,
			Logf: func(f string, a ...any) { fmt.Fprintf(o.Log, "ebpfhost: "+f+"\n", a...) }})
		if err != nil {
			return st, err
		}
	} else if len(rules) > 0 && !src.Caps().Deny {
		return st, fmt.Errorf("the %s source cannot refuse execs", src.Name())
	}

	rt, err := core.New(core.Options{Checked: o.Checked})
	if err != nil {
		return st, err
	}
	defer rt.Close()
	exts := builtin.New()
	if err := exts.Register(rt); err != nil {
		return st, err
	}
	x := exts.Process
	var failMu sync.Mutex
	x.OnError = func(l *core.Link, err error) {
		failMu.Lock()
		defer failMu.Unlock()
		fmt.Fprintf(o.Log, "ebpfhost: a process program failed (the exec was allowed): %v\n", err)
	}

	// Attach order is run order: the deny program first, so that a
	// refused exec stops the walk and the monitor reports only what runs;
	// the tool prints the refusals from the hook's verdict.
	var links []*core.Link
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	attach := func(p *core.Program) error {
		l, err := p.Attach("", nil)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	}
	if len(rules) > 0 {
		c, err := loadObject(rt, examples.ProcessDeny, "process_deny.o (embedded)")
		if err != nil {
			return st, err
		}
		defer c.Close()
		if err := fillRules(c.Maps["deny_rules"], rules); err != nil {
			return st, err
		}
		if err := attach(c.Programs["deny"]); err != nil {
			return st, err
		}
	}
	for _, path := range o.Programs {
		spec, err := loader.LoadFile(path)
		if err != nil {
			return st, err
		}
		c, err := rt.LoadCollection(spec)
		if err != nil {
			return st, err
		}
		defer c.Close()
		n := 0
		for _, p := range sortedPrograms(c) {
			if p.Type().Name != "process" {
				continue
			}
			if err := attach(p); err != nil {
				return st, err
			}
			n++
		}
		if n == 0 {
			return st, fmt.Errorf("%s has no process programs (section \"process\")", path)
		}
	}
	mon, err := loadObject(rt, examples.ProcessMonitor, "process_monitor.o (embedded)")
	if err != nil {
		return st, err
	}
	defer mon.Close()
	rb, err := mon.Maps["process_events"].Impl().(*maps.RingBufMap).NewReader()
	if err != nil {
		return st, err
	}
	if err := attach(mon.Programs["monitor"]); err != nil {
		return st, err
	}

	p := &printer{o: o, st: &st}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var rec maps.RingBufRecord
		for {
			if err := rb.ReadInto(&rec); err != nil {
				return
			}
			ev, err := Decode(rec.RawSample)
			if err != nil {
				fmt.Fprintf(o.Log, "ebpfhost: %v\n", err)
				continue
			}
			p.print(ev)
		}
	}()

	handler := func(ev *process.Event) process.Verdict {
		v := x.Handle(ev)
		if v.Errno != 0 {
			p.print(&Event{Time: time.Now(), Op: "deny", PID: uint64(ev.PID), PPID: uint64(ev.PPID), UID: ev.UID,
				Errno: v.Errno, Image: ev.Image, CommandLine: strings.Join(ev.Argv, " "), Created: ev.Created})
		}
		return v
	}
	if o.Ready != nil {
		o.Ready(src)
	}
	runErr := src.Run(ctx, handler)

	// Detach, then let the reader drain what the programs wrote.
	for _, l := range links {
		l.Close()
	}
	links = nil
	// Every record is committed once the links are closed (Close waits
	// for runs in progress); a deadline in the past makes the reader
	// return once it has read them all.
	rb.SetDeadline(time.Now())
	<-readerDone
	rb.Close()
	xs := x.Stats()
	st.Denied, st.Failures = xs.Denials, xs.Failures
	st.SourceDropped, st.RingDropped = src.Dropped(), rb.Dropped()
	if st.SourceDropped+st.RingDropped > 0 {
		fmt.Fprintf(o.Log, "ebpfhost: %d event(s) lost: %d by the %s source, %d because the monitor's ring buffer was full\n",
			st.SourceDropped+st.RingDropped, st.SourceDropped, src.Name(), st.RingDropped)
	}
	return st, runErr
}

func loadObject(rt *core.Runtime, obj []byte, name string) (*core.Collection, error) {
	spec, err := loader.Load(bytes.NewReader(obj), name)
	if err != nil {
		return nil, err
	}
	return rt.LoadCollection(spec)
}

func sortedPrograms(c *core.Collection) []*core.Program {
	var out []*core.Program
	for _, p := range c.Programs {
		out = append(out, p)
	}
	// Attach by name, so that runs are reproducible.
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// A deny rule as examples/process_deny.c's struct deny_rule.
const (
	ruleSize    = 24 + rulePathMax
	rulePathMax = 256
	maxRules    = 16
)

type rule struct {
	path  string
	exact bool
	errno syscall.Errno
}

func denyRules(paths []string, errno syscall.Errno) ([]rule, error) {
	if len(paths) > maxRules {
		return nil, fmt.Errorf("--deny: at most %d paths, not %d", maxRules, len(paths))
	}
	var out []rule
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("--deny %s: %w", p, err)
		}
		// Images are reported with symbolic links resolved.
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		r := rule{path: abs, exact: true, errno: errno}
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			r.exact = false
			if !strings.HasSuffix(r.path, "/") {
				r.path += "/"
			}
		} else if err != nil && strings.HasSuffix(p, "/") {
			r.exact = false
			r.path += "/"
		}
		if len(r.path) > rulePathMax {
			return nil, fmt.Errorf("--deny %s: the path is %d bytes; the deny program matches at most %d", p, len(r.path), rulePathMax)
		}
		out = append(out, r)
	}
	return out, nil
}

func fillRules(m *core.Map, rules []rule) error {
	if m == nil {
		return errors.New("process_deny.o has no deny_rules map")
	}
	for i, r := range rules {
		v := make([]byte, ruleSize)
		le := binary.LittleEndian
		le.PutUint32(v[0:], uint32(len(r.path)))
		if r.exact {
			le.PutUint32(v[4:], 1)
		}
		le.PutUint32(v[8:], uint32(r.errno))
		copy(v[24:], r.path)
		if err := m.Update(binary.LittleEndian.AppendUint32(nil, uint32(i)), v, maps.UpdateAny); err != nil {
			return fmt.Errorf("setting deny rule %d: %w", i, err)
		}
	}
	return nil
}

// printer writes events, one at a time.
type printer struct {
	o  Options
	st *Stats

	mu     sync.Mutex
	header bool
}

func (p *printer) print(ev *Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Events++
	if p.o.OnEvent != nil {
		p.o.OnEvent(ev)
	}
	if p.o.JSON {
		b, _ := json.Marshal(ev)
		p.o.Out.Write(append(b, '\n'))
		return
	}
	if !p.header {
		fmt.Fprintf(p.o.Out, "%-12s %-6s %7s %7s %6s %5s %-30s %s\n", "TIME", "EVENT", "PID", "PPID", "UID", "EXIT", "IMAGE", "COMMAND")
		p.header = true
	}
	fmt.Fprintln(p.o.Out, FormatLine(ev))
}

// FormatLine is an event as one line of the default output.
func FormatLine(ev *Event) string {
	exit, cmd := "-", ev.CommandLine
	switch ev.Op {
	case "exit":
		exit = fmt.Sprint(*ev.ExitCode)
		if !ev.Created.IsZero() && !ev.Exited.IsZero() {
			cmd = "(ran " + ev.Exited.Sub(ev.Created).Round(time.Millisecond).String() + ")"
		}
	case "deny":
		exit = "E" + strings.ToUpper(errnoName(ev.Errno))
	}
	if ev.Truncated {
		cmd += " [truncated]"
	}
	return fmt.Sprintf("%-12s %-6s %7d %7d %6d %5s %-30s %s", ev.Time.Format("15:04:05.000"), ev.Op, ev.PID, ev.PPID, ev.UID, exit, ev.Image, cmd)
}

var errnoNames = map[int32]string{1: "perm", 2: "noent", 5: "io", 11: "again", 13: "acces", 16: "busy", 26: "txtbsy", 28: "nospc", 122: "dquot"}

func errnoName(e int32) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return fmt.Sprint(e)
}
