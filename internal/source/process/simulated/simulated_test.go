package simulated

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

func TestEmit(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- s.Run(ctx, func(ev *process.Event) process.Verdict {
			if ev.Image == "/deny" {
				return process.Verdict{Errno: 13}
			}
			return process.Allow
		})
	}()
	for img, want := range map[string]int32{"/deny": 13, "/ok": 0} {
		v, err := s.Emit(context.Background(), &process.Event{Op: process.Create, Image: img})
		if err != nil || v.Errno != want {
			t.Errorf("%s: %v %v, want errno %d", img, v, err, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, c2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer c2()
	if _, err := s.Emit(short, &process.Event{}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Emit without Run: %v", err)
	}
}

func TestReplay(t *testing.T) {
	in := `{"op":"create","pid":1,"image":"/bin/true","argv":["true"]}

{"op":"exit","pid":1,"exit_code":45,"exited":"2026-11-21T10:00:00Z"}
`
	var got []process.Event
	err := NewReplay(strings.NewReader(in)).Run(context.Background(), func(ev *process.Event) process.Verdict {
		got = append(got, *ev)
		return process.Allow
	})
	if err != nil || len(got) != 2 || got[0].Argv[0] != "true" || got[1].Op != process.Exit || got[1].ExitCode != 45 || got[1].Exited.Year() != 2026 {
		t.Fatalf("%v %+v", err, got)
	}
	for _, bad := range []string{`{"op":"fork"}`, `{"pid":"x"}`, `not json`} {
		err := NewReplay(strings.NewReader("\n"+bad)).Run(context.Background(), func(*process.Event) process.Verdict { return process.Allow })
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v, want an error naming line 2", bad, err)
		}
	}
}
