package core

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// TraceRecord is one bpf_trace_printk line.
type TraceRecord struct {
	Seq     uint64 // increases by one per record
	Time    time.Time
	CPU     int
	PID     uint32
	Comm    string
	Program string
	Message string
}

// String formats the record like a line of Linux's trace_pipe.
func (r TraceRecord) String() string {
	comm := r.Comm
	if comm == "" {
		comm = "<...>"
	}
	return fmt.Sprintf("%16s-%-7d [%03d] %s: bpf_trace_printk: %s", comm, r.PID, r.CPU, r.Time.Format("15:04:05.000000"), r.Message)
}

// traceKeep is how many recent records a trace stream keeps for readers.
const traceKeep = 4096

// Trace is the stream bpf_trace_printk writes to: the readable counterpart
// of Linux's trace_pipe. It keeps the most recent records; a reader that
// falls further behind skips the lost ones and can see how many it lost.
type Trace struct {
	mu      sync.Mutex
	cond    *sync.Cond
	records []TraceRecord // ring of the last traceKeep records
	next    uint64        // Seq of the next record
	w       io.Writer
}

func newTrace(w io.Writer) *Trace {
	t := &Trace{records: make([]TraceRecord, traceKeep), w: w}
	t.cond = sync.NewCond(&t.mu)
	return t
}

func (t *Trace) add(r TraceRecord) {
	r.Time = time.Now()
	t.mu.Lock()
	r.Seq = t.next
	t.records[t.next%traceKeep] = r
	t.next++
	w := t.w
	t.mu.Unlock()
	t.cond.Broadcast()
	if w != nil {
		fmt.Fprintln(w, r.String())
	}
}

// Next returns the record with sequence number seq, waiting until it is
// written or ctx is done. If seq was overwritten already, it returns the
// oldest record still kept (the caller sees the gap in Seq).
func (t *Trace) Next(ctx context.Context, seq uint64) (TraceRecord, error) {
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for seq >= t.next {
		if err := ctx.Err(); err != nil {
			return TraceRecord{}, err
		}
		t.cond.Wait()
	}
	if t.next > traceKeep && seq < t.next-traceKeep {
		seq = t.next - traceKeep
	}
	return t.records[seq%traceKeep], nil
}

// Recent returns up to n of the most recent records, oldest first.
func (t *Trace) Recent(n int) []TraceRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > traceKeep {
		n = traceKeep
	}
	if uint64(n) > t.next {
		n = int(t.next)
	}
	out := make([]TraceRecord, 0, n)
	for s := t.next - uint64(n); s < t.next; s++ {
		out = append(out, t.records[s%traceKeep])
	}
	return out
}
