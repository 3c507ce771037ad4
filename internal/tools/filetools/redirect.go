package filetools

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ebpfhost/ebpfhost/examples"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// RedirectOptions configure Redirect.
type RedirectOptions struct {
	Options
	// From is the file or directory whose opens are redirected; To is
	// what they open instead (for a directory, the same relative path
	// under To).
	From, To string
	// OnRedirect, when set, is called with every redirected open.
	OnRedirect func(*Action)
}

// Action is an operation a tool's program redirected or refused.
type Action struct {
	Time   time.Time `json:"time"`
	Op     file.Op   `json:"op"`
	PID    uint32    `json:"pid"`
	UID    uint32    `json:"uid"`
	Image  string    `json:"image,omitempty"`
	Path   string    `json:"path"`
	Target string    `json:"target,omitempty"`   // of a rename or link
	To     string    `json:"redirect,omitempty"` // the file opened instead
	Errno  int32     `json:"errno,omitempty"`    // the error the operation failed with
}

// RedirectStats summarise a redirect run.
type RedirectStats struct {
	Runs      uint64 // runs of the program (opens and creates under From)
	Redirects uint64 // opens redirected
	Failures  uint64
}

// rulePathMax is RULE_PATH_MAX of file_redirect.c and file_deny_write.c.
const rulePathMax = 256

// Redirect rewrites opens under From to To until ctx is done.
func Redirect(ctx context.Context, o RedirectOptions) (RedirectStats, error) {
	var st RedirectStats
	if o.From == "" || o.To == "" {
		return st, errors.New("redirect needs both --from and --to")
	}
	from, err := absPath(o.From)
	if err != nil {
		return st, fmt.Errorf("--from %s: %w", o.From, err)
	}
	to, err := absPath(o.To)
	if err != nil {
		return st, fmt.Errorf("--to %s: %w", o.To, err)
	}
	switch {
	case from == "/":
		return st, errors.New("--from /: redirecting every path is not supported")
	case from == to:
		return st, fmt.Errorf("--from and --to are the same path, %s", from)
	case len(from) > rulePathMax || len(to) > rulePathMax:
		return st, fmt.Errorf("--from and --to may be at most %d bytes each", rulePathMax)
	}
	rule := make([]byte, 16+2*rulePathMax)
	binary.LittleEndian.PutUint32(rule[0:], uint32(len(from)))
	binary.LittleEndian.PutUint32(rule[4:], uint32(len(to)))
	copy(rule[16:], from)
	copy(rule[16+rulePathMax:], to)

	h, err := newHost(&o.Options, need{redirect: true, mount: mountFor(from), paths: []string{mountFor(from)}})
	if err != nil {
		return st, err
	}
	defer h.close()
	c, err := h.load(examples.FileRedirect, "file_redirect.o")
	if err != nil {
		return st, err
	}
	if err := putValue(c, "redirect_rules", 0, rule); err != nil {
		return st, err
	}
	// The program checks that the prefix ends at a path component; the
	// attach option keeps it from running anywhere else.
	if err := h.attach(c, "redirect", &fileext.AttachOptions{Prefix: from}); err != nil {
		return st, err
	}
	ap := &actionPrinter{out: &o.Options, on: o.OnRedirect}
	runErr := h.run(ctx, func(ev *file.Event) file.Verdict {
		v := h.x.Handle(ev)
		if v.Redirect != "" && !ev.Post {
			ap.print(ev, v)
		}
		return v
	})
	h.detach()
	if v, err := getValue(c, "redirect_rules", 0); err == nil {
		st.Redirects = binary.LittleEndian.Uint64(v[8:])
	}
	xs := h.x.Stats()
	st.Runs, st.Failures = xs.Invocations, xs.Failures
	return st, runErr
}

// actionPrinter prints the redirections and refusals the hook returned,
// one line each.
type actionPrinter struct {
	out *Options
	on  func(*Action)

	mu     sync.Mutex
	header bool
}

func (p *actionPrinter) print(ev *file.Event, v file.Verdict) {
	a := &Action{Time: time.Now(), Op: ev.Op, PID: ev.PID, UID: ev.UID, Image: ev.Image, Path: ev.Path,
		Target: ev.Target, To: v.Redirect, Errno: v.Errno}
	if a.Image == "" && a.PID != 0 {
		a.Image, _ = os.Readlink(filepath.Join("/proc", strconv.FormatUint(uint64(a.PID), 10), "exe"))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on != nil {
		p.on(a)
	}
	if !p.header {
		fmt.Fprintf(p.out.Out, "%-12s %-8s %7s %6s %-8s %-24s %s\n", "TIME", "VERDICT", "PID", "UID", "OP", "IMAGE", "PATH")
		p.header = true
	}
	fmt.Fprintln(p.out.Out, a.Line())
}

// Line is the action as one line of output.
func (a *Action) Line() string {
	verdict, path := "redirect", a.Path
	if a.Errno != 0 {
		verdict = ErrnoName(int64(a.Errno))
	}
	if a.Target != "" {
		path += " -> " + a.Target
	}
	if a.To != "" {
		path += " => " + a.To
	}
	image := a.Image
	if image == "" {
		image = "-"
	}
	return strings.TrimRight(fmt.Sprintf("%-12s %-8s %7d %6d %-8s %-24s %s", a.Time.Format("15:04:05.000"), verdict, a.PID, a.UID, a.Op, image, path), " ")
}
