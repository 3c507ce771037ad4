package filetools_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/simulated"
	"github.com/ebpfhost/ebpfhost/internal/tools/filetools"
)

// benchTool runs a tool on a simulated source for a benchmark.
func benchTool(b *testing.B, tool func(ctx context.Context, o filetools.Options) error) (*simulated.Source, func()) {
	src := simulated.New()
	ready := make(chan struct{})
	o := filetools.Options{Source: src, Out: io.Discard, Log: io.Discard, Ready: func(file.Source) { close(ready) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tool(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	return src, func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMonitorPipeline measures the whole path of a file event: source
// -> file_md_t -> file_access.o -> its ring buffer -> the tool's decoder
// and printer (to io.Discard). It reports events/s end to end.
func BenchmarkMonitorPipeline(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			var printed atomic.Int64
			src, stop := benchTool(b, func(ctx context.Context, o filetools.Options) error {
				_, err := filetools.MonitorFiles(ctx, filetools.MonitorOptions{Options: o, JSON: format == "json",
					OnEvent: func(*filetools.Event) { printed.Add(1) }})
				return err
			})
			ev := &file.Event{Op: file.Read, Post: true, Path: "/srv/data/projects/ebpfhost/internal/core/runtime.go",
				PID: 4242, UID: 1000, Image: "/usr/bin/git", Offset: 8192, Length: 4096, Result: 4096}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := src.Emit(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			for wait := time.Now(); printed.Load() < int64(b.N) && time.Since(wait) < 5*time.Second; {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
		})
	}
}

// BenchmarkDenyWriteVerdict measures the verdict on a pre open under the
// protected prefix: the attach filter, file_deny_write.o's rule match and
// the errno back to the source.
func BenchmarkDenyWriteVerdict(b *testing.B) {
	dir := b.TempDir()
	src, stop := benchTool(b, func(ctx context.Context, o filetools.Options) error {
		_, err := filetools.DenyWrite(ctx, filetools.DenyWriteOptions{Options: o, Prefix: dir})
		return err
	})
	defer stop()
	for _, tc := range []struct {
		name  string
		flags uint32
	}{{"read-only", 0}, {"write", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			ev := &file.Event{Op: file.Open, Path: dir + "/some/file.txt", Flags: tc.flags, PID: 1}
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				v, err := src.Emit(ctx, ev)
				if err != nil || (v.Errno != 0) != (tc.flags != 0) {
					b.Fatalf("verdict %+v, %v", v, err)
				}
			}
		})
	}
}
