package filetools

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ebpfhost/ebpfhost/examples"
	"github.com/ebpfhost/ebpfhost/internal/core"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// Slots is the number of log2 slots per operation in file_iolatency.c.
const Slots = 64

// Units of the histograms: the name printed and nanoseconds per unit.
var Units = map[string]uint64{"nsecs": 1, "usecs": 1000, "msecs": 1000000}

// LatencyOptions configure IOLatency.
type LatencyOptions struct {
	Options
	// Interval, when not 0, prints the histograms of each interval (and
	// starts the next from zero); otherwise they are printed once, at the
	// end.
	Interval time.Duration
	// Unit is "usecs" (the default), "msecs" or "nsecs".
	Unit string
	// Path limits the measurement to paths under this directory (or
	// starting with this path).
	Path string
	// Ops are the operations measured; 0 is all.
	Ops file.OpSet
	// OnReport, when set, is called with every report as it is printed.
	OnReport func(*Report)
}

// Histogram is the latency distribution of one operation: Slots[s] counts
// latencies in [2^(s-1), 2^s) units (slot 1 also 0), as bcc's log2
// histograms.
type Histogram struct {
	Op      file.Op
	Slots   [Slots]uint64
	Count   uint64 // operations
	TotalNs uint64 // their summed latency
}

// Report is the histograms of one interval (or the whole run).
type Report struct {
	Time time.Time
	Unit string
	Ops  []Histogram // operations with at least one count, in operation order
}

// IOLatency measures how long file operations take, between the pre and
// post events of each, and prints per-operation log2 histograms. It
// returns the report of the whole run.
func IOLatency(ctx context.Context, o LatencyOptions) (*Report, error) {
	if o.Unit == "" {
		o.Unit = "usecs"
	}
	div, ok := Units[o.Unit]
	if !ok {
		return nil, fmt.Errorf("unknown unit %q (nsecs, usecs or msecs)", o.Unit)
	}
	if o.Ops == 0 {
		o.Ops = file.AllOps
	}
	if o.Interval < 0 {
		return nil, fmt.Errorf("negative interval %v", o.Interval)
	}
	var prefix string
	var paths []string
	if o.Path != "" {
		p, err := absPath(o.Path)
		if err != nil {
			return nil, fmt.Errorf("--path %s: %w", o.Path, err)
		}
		prefix = p
		if isDir(p) {
			prefix = dirPrefix(p)
		}
		paths = []string{mountFor(p)}
	}
	h, err := newHost(&o.Options, need{latency: true, paths: paths})
	if err != nil {
		return nil, err
	}
	defer h.close()
	c, err := h.load(examples.FileIOLatency, "file_iolatency.o")
	if err != nil {
		return nil, err
	}
	if err := putValue(c, "iolat_config", 0, binary.LittleEndian.AppendUint64(nil, div)); err != nil {
		return nil, err
	}
	opts := &fileext.AttachOptions{Ops: o.Ops, Prefix: prefix}
	if err := h.attach(c, "iolat_pre", opts); err != nil {
		return nil, err
	}
	if err := h.attach(c, "iolat_post", opts); err != nil {
		return nil, err
	}

	// The maps hold running totals; each report is the difference from
	// the previous one, so nothing is lost to a race with the programs.
	prev := &Report{}
	emit := func(final bool) error {
		cur, err := readReport(c, o.Unit)
		if err != nil {
			return err
		}
		r := cur.minus(prev)
		prev = cur
		if len(r.Ops) > 0 || (final && o.Interval == 0) {
			if o.OnReport != nil {
				o.OnReport(r)
			}
			if o.Interval > 0 {
				fmt.Fprintf(o.Out, "\n%s\n", r.Time.Format("15:04:05"))
			}
			r.Print(o.Out)
		}
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	tickerDone := make(chan error, 1)
	if o.Interval > 0 {
		go func() {
			t := time.NewTicker(o.Interval)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					tickerDone <- nil
					return
				case <-t.C:
					if err := emit(false); err != nil {
						tickerDone <- err
						cancel()
						return
					}
				}
			}
		}()
	} else {
		tickerDone <- nil
	}
	runErr := h.run(runCtx, nil)
	cancel()
	tickErr := <-tickerDone
	h.detach()
	if err := emit(true); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		runErr = tickErr
	}
	total, err := readReport(c, o.Unit)
	if err != nil {
		if runErr == nil {
			runErr = err
		}
		return nil, runErr
	}
	return total.minus(&Report{}), runErr
}

// readReport reads the programs' running totals.
func readReport(c *core.Collection, unit string) (*Report, error) {
	r := &Report{Time: time.Now(), Unit: unit}
	for op := file.Op(1); op <= file.MaxOp; op++ {
		hg := Histogram{Op: op}
		t, err := getValue(c, "iolat_totals", uint32(op))
		if err != nil {
			return nil, err
		}
		hg.Count, hg.TotalNs = binary.LittleEndian.Uint64(t), binary.LittleEndian.Uint64(t[8:])
		for s := uint32(0); s < Slots; s++ {
			v, err := getValue(c, "iolat_hist", uint32(op)*Slots+s)
			if err != nil {
				return nil, err
			}
			hg.Slots[s] = binary.LittleEndian.Uint64(v)
		}
		r.Ops = append(r.Ops, hg)
	}
	return r, nil
}

// minus is r - prev, keeping the operations that counted something.
func (r *Report) minus(prev *Report) *Report {
	out := &Report{Time: r.Time, Unit: r.Unit}
	for i, hg := range r.Ops {
		if i < len(prev.Ops) {
			p := &prev.Ops[i]
			hg.Count -= p.Count
			hg.TotalNs -= p.TotalNs
			for s := range hg.Slots {
				hg.Slots[s] -= p.Slots[s]
			}
		}
		empty := hg.Count == 0
		for _, n := range hg.Slots {
			empty = empty && n == 0
		}
		if !empty {
			out.Ops = append(out.Ops, hg)
		}
	}
	return out
}

// Print writes the histograms as bcc's tools do (print_log2_hist), one
// section per operation.
func (r *Report) Print(w io.Writer) {
	if len(r.Ops) == 0 {
		fmt.Fprintln(w, "no operations measured")
		return
	}
	div := Units[r.Unit]
	if div == 0 {
		div = 1
	}
	for i, hg := range r.Ops {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "operation = %s\n", hg.Op)
		PrintLog2Hist(w, hg.Slots[:], r.Unit)
		if hg.Count > 0 {
			fmt.Fprintf(w, "\navg = %d %s, total: %d %s, count: %d\n", hg.TotalNs/hg.Count/div, r.Unit, hg.TotalNs/div, r.Unit, hg.Count)
		}
	}
}

// PrintLog2Hist prints a log2 histogram as bcc's print_log2_hist: slot i
// (from 1) is the range [2^(i-1), 2^i - 1] (slot 1 is 0 -> 1), up to the
// last slot with a count, with a bar of up to 40 stars.
func PrintLog2Hist(w io.Writer, vals []uint64, unit string) {
	idxMax, valMax := -1, uint64(0)
	for i, v := range vals {
		if v > 0 {
			idxMax = i
		}
		if v > valMax {
			valMax = v
		}
	}
	if idxMax <= 0 {
		return
	}
	header, stars := "     %-19s : count     distribution\n", 40
	body := "%10d -> %-10d : %-8d |%-*s|\n"
	if idxMax > 32 {
		header = "               %-29s : count     distribution\n"
		body = "%20d -> %-20d : %-8d |%-*s|\n"
		stars = 20
	}
	fmt.Fprintf(w, header, unit)
	for i := 1; i <= idxMax; i++ {
		low, high := (uint64(1)<<i)>>1, uint64(1)<<i-1
		if i == 64 {
			high = ^uint64(0)
		}
		if low == high {
			low--
		}
		fmt.Fprintf(w, body, low, high, vals[i], stars, bar(vals[i], valMax, stars))
	}
}

// bar is bcc's _stars: floor(width * val / max) stars.
func bar(val, max uint64, width int) string {
	if max == 0 {
		return ""
	}
	n := int(float64(width) * float64(val) / float64(max))
	if n > width {
		n = width
	}
	return strings.Repeat("*", n)
}
