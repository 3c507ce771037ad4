package filetools

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ebpfhost/ebpfhost/examples"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// MonitorOptions configure MonitorFiles.
type MonitorOptions struct {
	Options
	// Exe limits the records to processes running this executable (a
	// file), or any executable under it (a directory); "" is every
	// process.
	Exe string
	// Path limits the records to paths under this directory (or starting
	// with this path); "" is everywhere the source sees.
	Path string
	// Ops are the operations recorded; 0 is all.
	Ops file.OpSet
	// NoImage leaves the executable out of the records (saves reading
	// /proc/PID/exe for every event when Exe is not set).
	NoImage bool
	// JSON prints one JSON object per record instead of a line.
	JSON bool
	// OnEvent, when set, is called with every record as it is printed.
	OnEvent func(*Event)
}

// Event is one record of the access monitor (examples/file_access.c).
type Event struct {
	Time      time.Time `json:"time"`
	Op        file.Op   `json:"op"`
	PID       uint32    `json:"pid"`
	TID       uint32    `json:"tid"`
	UID       uint32    `json:"uid"`
	Result    int64     `json:"result"` // bytes read or written, 0, or -errno
	Offset    int64     `json:"offset,omitempty"`
	Length    uint64    `json:"length,omitempty"`
	Flags     uint32    `json:"flags,omitempty"`
	Mode      uint32    `json:"mode,omitempty"`
	Inode     uint64    `json:"ino,omitempty"`
	ID        uint64    `json:"id"`
	Image     string    `json:"image,omitempty"`
	Path      string    `json:"path"`
	Target    string    `json:"target,omitempty"`
	Truncated bool      `json:"path_truncated,omitempty"`

	// Mono is the record's CLOCK_MONOTONIC timestamp (ns).
	Mono uint64 `json:"-"`
}

// Record layout of struct file_event.
const (
	recTime      = 0
	recID        = 8
	recResult    = 16
	recOffset    = 24
	recLength    = 32
	recInode     = 40
	recOp        = 48
	recPID       = 52
	recTID       = 56
	recUID       = 60
	recFlags     = 64
	recMode      = 68
	recImageLen  = 72
	recPathLen   = 76
	recTargetLen = 80
	recTruncated = 84
	recText      = 88

	exeMax = 256
)

// Counters of access_stats.
const (
	statRuns = iota
	statRecords
	statLost
	statFiltered
)

// Decode parses a record of the access monitor; Time is left zero.
func Decode(b []byte) (*Event, error) {
	if len(b) < recText {
		return nil, fmt.Errorf("file record of %d bytes, shorter than its %d-byte header", len(b), recText)
	}
	le := binary.LittleEndian
	il, pl, tl := int(le.Uint32(b[recImageLen:])), int(le.Uint32(b[recPathLen:])), int(le.Uint32(b[recTargetLen:]))
	if il > len(b) || pl > len(b) || tl > len(b) || recText+il+pl+tl != len(b) {
		return nil, fmt.Errorf("file record of %d bytes, but its header says %d + %d (image) + %d (path) + %d (target)", len(b), recText, il, pl, tl)
	}
	t := b[recText:]
	return &Event{
		Mono: le.Uint64(b[recTime:]), ID: le.Uint64(b[recID:]), Result: int64(le.Uint64(b[recResult:])),
		Offset: int64(le.Uint64(b[recOffset:])), Length: le.Uint64(b[recLength:]), Inode: le.Uint64(b[recInode:]),
		Op: file.Op(le.Uint32(b[recOp:])), PID: le.Uint32(b[recPID:]), TID: le.Uint32(b[recTID:]), UID: le.Uint32(b[recUID:]),
		Flags: le.Uint32(b[recFlags:]), Mode: le.Uint32(b[recMode:]),
		Image: string(t[:il]), Path: string(t[il : il+pl]), Target: string(t[il+pl:]),
		Truncated: le.Uint32(b[recTruncated:]) != 0,
	}, nil
}

// MonitorStats summarise a monitor run.
type MonitorStats struct {
	Events   uint64 // records printed
	Runs     uint64 // runs of the program (after the attach filters)
	Filtered uint64 // events of other executables
	Failures uint64 // program runs that failed
	// SourceDropped counts events the source lost, RingDropped records
	// the program could not write because its ring buffer was full.
	SourceDropped, RingDropped uint64
}

// MonitorFiles prints a line (or a JSON object) per file operation until
// ctx is done or a replay ends.
func MonitorFiles(ctx context.Context, o MonitorOptions) (MonitorStats, error) {
	var st MonitorStats
	cfg := make([]byte, 16+exeMax)
	if o.Exe != "" {
		exe, err := absPath(o.Exe)
		if err != nil {
			return st, fmt.Errorf("--exe %s: %w", o.Exe, err)
		}
		exact := !isDir(exe)
		if !exact {
			exe = dirPrefix(exe)
		}
		if len(exe) > exeMax {
			return st, fmt.Errorf("--exe %s: the path is %d bytes; the monitor matches at most %d", o.Exe, len(exe), exeMax)
		}
		binary.LittleEndian.PutUint32(cfg[0:], uint32(len(exe)))
		if exact {
			binary.LittleEndian.PutUint32(cfg[4:], 1)
		}
		copy(cfg[16:], exe)
	}
	if !o.NoImage {
		binary.LittleEndian.PutUint32(cfg[8:], 1)
	}
	var prefix string
	var paths []string
	if o.Path != "" {
		p, err := absPath(o.Path)
		if err != nil {
			return st, fmt.Errorf("--path %s: %w", o.Path, err)
		}
		prefix = p
		if isDir(p) {
			prefix = dirPrefix(p)
		}
		paths = []string{mountFor(p)}
	}
	if o.Ops == 0 {
		o.Ops = file.AllOps
	}

	h, err := newHost(&o.Options, need{paths: paths})
	if err != nil {
		return st, err
	}
	defer h.close()
	c, err := h.load(examples.FileAccess, "file_access.o")
	if err != nil {
		return st, err
	}
	if err := putValue(c, "access_config", 0, cfg); err != nil {
		return st, err
	}
	ring, err := mapOf(c, "file_events")
	if err != nil {
		return st, err
	}
	rb, err := ring.Impl().(*maps.RingBufMap).NewReader()
	if err != nil {
		return st, err
	}
	defer rb.Close()
	if err := h.attach(c, "file_access", &fileext.AttachOptions{Ops: o.Ops, Prefix: prefix}); err != nil {
		return st, err
	}

	p := &printer{o: &o, clk: newClock()}
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
				o.logf("%v", err)
				continue
			}
			p.print(ev)
		}
	}()
	runErr := h.run(ctx, nil)

	// Detach (waiting for runs in progress), then let the reader drain
	// what the program wrote: a deadline in the past makes it return once
	// it has read everything.
	h.detach()
	rb.SetDeadline(time.Now())
	<-readerDone
	st.Events = p.n
	for _, s := range []struct {
		i uint32
		v *uint64
	}{{statRuns, &st.Runs}, {statFiltered, &st.Filtered}} {
		if v, err := getValue(c, "access_stats", s.i); err == nil {
			*s.v = sumU64(v)
		}
	}
	st.Failures = h.x.Stats().Failures
	st.SourceDropped, st.RingDropped = h.src.Dropped(), rb.Dropped()
	if st.SourceDropped+st.RingDropped > 0 {
		o.logf("%d event(s) lost: %d by the %s source, %d because the monitor's ring buffer was full",
			st.SourceDropped+st.RingDropped, st.SourceDropped, h.src.Name(), st.RingDropped)
	}
	return st, runErr
}

// sumU64 adds the 8-byte values of a (per-CPU) value.
func sumU64(v []byte) uint64 {
	var s uint64
	for i := 0; i+8 <= len(v); i += 8 {
		s += binary.LittleEndian.Uint64(v[i:])
	}
	return s
}

// printer writes records, one at a time.
type printer struct {
	o   *MonitorOptions
	clk clock

	mu     sync.Mutex
	n      uint64
	header bool
}

func (p *printer) print(ev *Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev.Time = p.clk.at(ev.Mono)
	p.n++
	if p.o.OnEvent != nil {
		p.o.OnEvent(ev)
	}
	if p.o.JSON {
		b, _ := json.Marshal(ev)
		p.o.Out.Write(append(b, '\n'))
		return
	}
	if !p.header {
		fmt.Fprintf(p.o.Out, "%-12s %-7s %7s %6s %9s %10s %-24s %s\n", "TIME", "OP", "PID", "UID", "RESULT", "OFFSET", "IMAGE", "PATH")
		p.header = true
	}
	fmt.Fprintln(p.o.Out, FormatLine(ev))
}

// FormatLine is a record as one line of the default output.
func FormatLine(ev *Event) string {
	result := fmt.Sprint(ev.Result)
	if ev.Result < 0 {
		result = ErrnoName(-ev.Result)
	}
	offset := "-"
	if ev.Op == file.Read || ev.Op == file.Write || (ev.Op == file.Setattr && ev.Offset != 0) {
		offset = fmt.Sprint(ev.Offset)
	}
	image := ev.Image
	if image == "" {
		image = "-"
	}
	path := ev.Path
	if ev.Truncated {
		path += "[truncated]"
	}
	if ev.Target != "" {
		path += " -> " + ev.Target
	}
	if ev.Op == file.Open || ev.Op == file.Create {
		path += " (" + openFlags(ev.Flags) + ")"
	}
	return fmt.Sprintf("%-12s %-7s %7d %6d %9s %10s %-24s %s", ev.Time.Format("15:04:05.000"), ev.Op, ev.PID, ev.UID, result, offset, image, path)
}

// openFlags names the access mode and the flags that matter of an open.
func openFlags(f uint32) string {
	var parts []string
	switch f & 3 {
	case 0:
		parts = append(parts, "r")
	case 1:
		parts = append(parts, "w")
	default:
		parts = append(parts, "rw")
	}
	for _, fl := range []struct {
		bit  uint32
		name string
	}{{0o100, "creat"}, {0o200, "excl"}, {0o1000, "trunc"}, {0o2000, "append"}, {0o40000, "direct"}, {0o200000, "directory"}} {
		if f&fl.bit != 0 {
			parts = append(parts, fl.name)
		}
	}
	return strings.Join(parts, ",")
}
