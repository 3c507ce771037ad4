package examples_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	source "github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/simulated"
)

// redirectRule is struct redirect_rule.
func redirectRule(from, to string) []byte {
	v := make([]byte, 16+256+256)
	binary.LittleEndian.PutUint32(v[0:], uint32(len(from)))
	binary.LittleEndian.PutUint32(v[4:], uint32(len(to)))
	copy(v[16:], from)
	copy(v[16+256:], to)
	return v
}

func redirectHits(t *testing.T, h *fileHost, rule uint32) uint64 {
	return binary.LittleEndian.Uint64(h.get(t, "redirect_rules", rule)[8:])
}

func TestFileRedirect(t *testing.T) {
	long := "/data/" + strings.Repeat("x", 4090) // 4096 bytes; redirected, 4101
	for _, tc := range []struct {
		op   source.Op
		path string
		want string // "" for no redirection
		rule int
	}{
		{source.Open, "/srv/app/config", "/etc/app-test", 0},
		{source.Open, "/srv/app/config/db.json", "/etc/app-test/db.json", 0},
		{source.Create, "/srv/app/config/new/file", "/etc/app-test/new/file", 0},
		{source.Open, "/srv/app/configuration", "", -1}, // not at a component boundary
		{source.Open, "/srv/app/confi", "", -1},
		{source.Open, "/srv/app", "", -1},
		{source.Open, "/data/a", "/mnt/other/a", 1},
		{source.Open, "/data/", "/mnt/other", 1},
		{source.Open, "/data", "", -1}, // rule 1's from is "/data/"
		{source.Open, "/data/" + strings.Repeat("y", 3000), "/mnt/other/" + strings.Repeat("y", 3000), 1},
		{source.Open, long, "", -1}, // the helper refuses more than 4096 bytes
		{source.Open, "/opt/tool/bin", "/usr/local/tool/bin", 3},
		{source.Open, "/opt", "", -1},
		{source.Read, "/srv/app/config/db.json", "", -1}, // the program is for opens and creates only
	} {
		t.Run(tc.path[:min(len(tc.path), 30)], func(t *testing.T) {
			inFileModes(t, func(t *testing.T, checked bool) {
				h := loadFileExample(t, "file_redirect", checked, 0)
				h.put(t, "redirect_rules", 0, redirectRule("/srv/app/config", "/etc/app-test"))
				h.put(t, "redirect_rules", 1, redirectRule("/data/", "/mnt/other/"))
				h.put(t, "redirect_rules", 3, redirectRule("/opt/", "/usr/local")) // after an empty slot
				h.attach(t, "redirect", nil)
				v := h.handle(source.Event{Op: tc.op, Path: tc.path, PID: 1})
				if v.Errno != 0 || v.Redirect != tc.want {
					t.Errorf("%v %.40q: verdict %+v, want redirect to %.60q", tc.op, tc.path, v, tc.want)
				}
				for r := uint32(0); r < 4; r++ {
					want := uint64(0)
					if int(r) == tc.rule {
						want = 1
					}
					if n := redirectHits(t, h, r); n != want {
						t.Errorf("rule %d: %d hits, want %d", r, n, want)
					}
				}
				runs := uint64(1)
				if tc.op == source.Read {
					runs = 0
				}
				if st := h.x.Stats(); st.Invocations != runs {
					t.Errorf("%d runs, want %d", st.Invocations, runs)
				}
			})
		})
	}
}

// TestFileRedirectSimulated drives the redirect program from the simulated
// source: the pre verdict redirects, and the post event carries the path
// really opened.
func TestFileRedirectSimulated(t *testing.T) {
	h := loadFileExample(t, "file_redirect", true, 0)
	h.put(t, "redirect_rules", 0, redirectRule("/srv/app/config", "/etc/app-test"))
	h.attach(t, "redirect", nil)
	src := simulated.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var posts []string
	done := make(chan error)
	go func() {
		done <- src.Run(ctx, func(ev *source.Event) source.Verdict {
			if ev.Post {
				posts = append(posts, ev.Path)
			}
			return h.x.Handle(ev)
		})
	}()
	for _, p := range []string{"/srv/app/config/a", "/srv/app/other"} {
		if _, err := src.Op(ctx, source.Event{Op: source.Open, Path: p, PID: 5}, 0); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(posts, " ") != "/etc/app-test/a /srv/app/other" {
		t.Errorf("opened %v", posts)
	}
	if st := h.x.Stats(); st.Redirects != 1 || st.Invocations != 2 {
		t.Errorf("hook stats %+v, want 2 runs and 1 redirect", st)
	}
}
