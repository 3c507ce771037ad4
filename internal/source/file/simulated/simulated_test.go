package simulated

import (
	"context"
	"strings"
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

func TestOpPairs(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []file.Event
	go s.Run(ctx, func(ev *file.Event) file.Verdict {
		got = append(got, *ev)
		if ev.Path == "/deny" {
			return file.Verdict{Errno: 13}
		}
		if ev.Path == "/a" && !ev.Post {
			return file.Verdict{Redirect: "/b"}
		}
		return file.Allow
	})
	if v, err := s.Op(ctx, file.Event{Op: file.Open, Path: "/a"}, 3); err != nil || v.Redirect != "/b" {
		t.Fatalf("open /a: %+v %v", v, err)
	}
	if v, err := s.Op(ctx, file.Event{Op: file.Open, Path: "/deny"}, 0); err != nil || v.Errno != 13 {
		t.Fatalf("open /deny: %+v %v", v, err)
	}
	if len(got) != 3 || got[0].ID != got[1].ID || got[1].Path != "/b" || !got[1].Post || got[1].Result != 3 || got[1].Time < got[0].Time || got[2].ID == got[0].ID {
		t.Fatalf("events %+v", got)
	}
}

func TestReplay(t *testing.T) {
	in := `{"op":"rename","path":"/a","target":"/b","pid":7}` + "\n" + `{"op":"write","post":true,"result":5}` + "\n"
	var got []file.Event
	err := NewReplay(strings.NewReader(in)).Run(context.Background(), func(ev *file.Event) file.Verdict { got = append(got, *ev); return file.Allow })
	if err != nil || len(got) != 2 || got[0].Op != file.Rename || got[0].Target != "/b" || got[1].Result != 5 {
		t.Fatalf("%v %+v", err, got)
	}
	if err := NewReplay(strings.NewReader(`{"op":"frob"}`)).Run(context.Background(), func(*file.Event) file.Verdict { return file.Allow }); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad op: %v", err)
	}
}
