package procmon_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
	"github.com/ebpfhost/ebpfhost/internal/source/process/simulated"
	"github.com/ebpfhost/ebpfhost/internal/tools/procmon"
)

// BenchmarkPipeline measures the whole path of an event: source ->
// process_md_t -> the embedded monitor program -> its ring buffer -> the
// tool's decoder and printer (to io.Discard). It reports events/s end to
// end, the rate at which the tool keeps up.
func BenchmarkPipeline(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			src := simulated.New()
			var printed atomic.Int64
			o := procmon.Options{Source: src, Out: io.Discard, Log: io.Discard, JSON: format == "json",
				OnEvent: func(*procmon.Event) { printed.Add(1) }}
			ready := make(chan struct{})
			o.Ready = func(process.Source) { close(ready) }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan procmon.Stats)
			go func() { st, _ := procmon.Run(ctx, o); done <- st }()
			<-ready
			ev := &process.Event{Op: process.Create, PID: 4242, PPID: 1, UID: 1000, Image: "/usr/bin/git",
				Argv: []string{"git", "commit", "-m", "a message of typical length"}, Created: time.Now()}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := src.Emit(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			// Wait for the reader to catch up; records the ring could not
			// take are reported as dropped.
			for wait := time.Now(); printed.Load() < int64(b.N) && time.Since(wait) < 5*time.Second; {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			cancel()
			st := <-done
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			b.ReportMetric(float64(st.RingDropped+st.SourceDropped), "dropped")
		})
	}
}
