// Package filetools holds the file tools of the command line: the file
// access monitor (`ebpfhost monitor files`), the I/O latency histogram
// (`ebpfhost iolatency`), path redirection (`ebpfhost redirect`) and
// write protection (`ebpfhost deny-write`). Each hosts the file extension
// in a runtime, loads its embedded example program (examples/file_*.c),
// fills the program's maps, attaches it with attach options that keep it
// from running where it has nothing to do, feeds the extension from an
// event source, and reports what the program recorded: ring buffer
// records, histogram maps, the hook's verdicts.
//
// Every tool takes Options.Source for tests (a simulated source) and
// otherwise opens one with auto.Open; it stops, detaching its programs and
// letting the source unmount, when ctx is done.
package filetools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/loader"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/auto"
)

// Options are what every tool takes.
type Options struct {
	// SourceName selects the event source (auto.Names); "" is "auto".
	SourceName string
	// Source, when set, is used instead of opening one (tests pass a
	// simulated source).
	Source file.Source
	// Mount is the directory to interpose on with a FUSE mount over
	// itself. The tools that must refuse or redirect operations default
	// it to the directory they protect.
	Mount string
	// Replay feeds the simulated source (JSON lines of file.Event).
	Replay io.Reader
	// Out receives the tool's output (default os.Stdout); Log the notes
	// about the run (default os.Stderr).
	Out, Log io.Writer
	// Ready, when set, is called once the programs are attached and the
	// source is starting.
	Ready func(src file.Source)
	// Checked runs the programs in checked mode (every access
	// bounds-checked), for testing.
	Checked bool
}

func (o *Options) defaults() {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, "ebpfhost: "+format+"\n", args...)
}

// need says what a tool needs from its source.
type need struct {
	deny, redirect, latency bool
	paths                   []string // limits for system-wide sources
	mount                   string   // the default FUSE mount
}

// host is a runtime with the file extension and the tool's programs.
type host struct {
	o     *Options
	rt    *core.Runtime
	x     *fileext.Extension
	src   file.Source
	links []*core.Link
	colls []*core.Collection

	failMu sync.Mutex
}

// newHost starts a runtime and opens (or checks) the source.
func newHost(o *Options, n need) (*host, error) {
	o.defaults()
	rt, err := core.New(core.Options{Checked: o.Checked})
	if err != nil {
		return nil, err
	}
	exts := builtin.New()
	if err := exts.Register(rt); err != nil {
		rt.Close()
		return nil, err
	}
	h := &host{o: o, rt: rt, x: exts.File}
	h.x.OnError = func(l *core.Link, err error) {
		h.failMu.Lock()
		defer h.failMu.Unlock()
		name := "a file program"
		if l != nil {
			name = "the file program " + l.Program().Name()
		}
		o.logf("%s failed (the operation was allowed): %v", name, err)
	}
	src := o.Source
	if src == nil {
		ao := auto.Options{Name: o.SourceName, Mount: o.Mount, Paths: n.paths, Deny: n.deny, Redirect: n.redirect,
			Latency: n.latency, Interest: h.x.Interest, Replay: o.Replay, Logf: o.logf}
		if ao.Mount == "" && n.mount != "" && (o.SourceName == "" || o.SourceName == "auto" || o.SourceName == "fuse") {
			ao.Mount = n.mount
		}
		if src, err = auto.Open(ao); err != nil {
			rt.Close()
			return nil, err
		}
	} else {
		c := src.Caps()
		switch {
		case n.deny && !c.Deny:
			rt.Close()
			return nil, fmt.Errorf("the %s source cannot refuse operations", src.Name())
		case n.redirect && !c.Redirect:
			rt.Close()
			return nil, fmt.Errorf("the %s source cannot redirect opens", src.Name())
		}
	}
	h.src = src
	return h, nil
}

// load loads an embedded object.
func (h *host) load(obj []byte, name string) (*core.Collection, error) {
	spec, err := loader.Load(bytes.NewReader(obj), name+" (embedded)")
	if err != nil {
		return nil, err
	}
	c, err := h.rt.LoadCollection(spec)
	if err != nil {
		return nil, err
	}
	h.colls = append(h.colls, c)
	return c, nil
}

// attach attaches a program of c to its section's hook.
func (h *host) attach(c *core.Collection, prog string, opts *fileext.AttachOptions) error {
	p, ok := c.Programs[prog]
	if !ok {
		return fmt.Errorf("the embedded object has no program %q", prog)
	}
	l, err := p.Attach("", opts)
	if err != nil {
		return err
	}
	h.links = append(h.links, l)
	return nil
}

// run feeds the extension from the source until ctx is done (or a
// replay ends). handler, when set, wraps the extension's Handle.
func (h *host) run(ctx context.Context, handler file.Handler) error {
	if handler == nil {
		handler = h.x.Handle
	}
	if h.o.Ready != nil {
		h.o.Ready(h.src)
	}
	return h.src.Run(ctx, handler)
}

// detach closes the links: once it returns, no program runs any more and
// everything they wrote is in their maps.
func (h *host) detach() {
	for _, l := range h.links {
		l.Close()
	}
	h.links = nil
}

// close releases everything.
func (h *host) close() {
	h.detach()
	for _, c := range h.colls {
		c.Close()
	}
	h.rt.Close()
}

// Map access, little-endian as the programs store values.

func mapOf(c *core.Collection, name string) (*core.Map, error) {
	m, ok := c.Maps[name]
	if !ok {
		return nil, fmt.Errorf("the embedded object has no map %q", name)
	}
	return m, nil
}

func key32(k uint32) []byte { return []byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)} }

func putValue(c *core.Collection, name string, key uint32, value []byte) error {
	m, err := mapOf(c, name)
	if err != nil {
		return err
	}
	v := make([]byte, m.Spec().ValueSize)
	copy(v, value)
	if err := m.Update(key32(key), v, maps.UpdateAny); err != nil {
		return fmt.Errorf("setting %s[%d]: %w", name, key, err)
	}
	return nil
}

func getValue(c *core.Collection, name string, key uint32) ([]byte, error) {
	m, err := mapOf(c, name)
	if err != nil {
		return nil, err
	}
	v := make([]byte, m.UserValueSize())
	if err := m.Lookup(key32(key), v); err != nil {
		return nil, fmt.Errorf("reading %s[%d]: %w", name, key, err)
	}
	return v, nil
}

// absPath makes a path absolute and clean, with symbolic links resolved
// when it exists (events name files by their real paths).
func absPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return abs, nil
}

// isDir reports whether p is an existing directory.
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// dirPrefix is the prefix that matches everything under dir.
func dirPrefix(dir string) string {
	if strings.HasSuffix(dir, "/") {
		return dir
	}
	return dir + "/"
}

// mountFor is the directory to mount over to see p: p itself when it is a
// directory, else its parent.
func mountFor(p string) string {
	if isDir(p) {
		return p
	}
	return filepath.Dir(p)
}

// clock converts the monotonic timestamps of events to wall-clock time.
type clock struct {
	wall time.Time
	mono uint64
}

func newClock() clock { return clock{time.Now(), file.Monotonic()} }

func (c clock) at(ns uint64) time.Time {
	if ns == 0 {
		return time.Now()
	}
	return c.wall.Add(time.Duration(int64(ns) - int64(c.mono)))
}

var errnoNames = map[int64]string{1: "EPERM", 2: "ENOENT", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 13: "EACCES",
	16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 26: "ETXTBSY", 27: "EFBIG",
	28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 39: "ENOTEMPTY", 40: "ELOOP", 95: "EOPNOTSUPP", 122: "EDQUOT"}

// ErrnoName is the symbolic name of an errno (EACCES), or its number.
func ErrnoName(e int64) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return fmt.Sprintf("errno %d", e)
}

// errnoArg checks an errno given by a user.
func errnoArg(e syscall.Errno, def syscall.Errno) (syscall.Errno, error) {
	if e == 0 {
		return def, nil
	}
	if e < 0 || e > 4095 {
		return 0, fmt.Errorf("errno must be 1 to 4095, not %d", int(e))
	}
	return e, nil
}

// ParseOps reads a comma-separated list of operation names ("open,read");
// "" or "all" is every operation.
func ParseOps(s string) (file.OpSet, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return file.AllOps, nil
	}
	var set file.OpSet
	for _, name := range strings.Split(s, ",") {
		op, ok := file.ParseOp(strings.TrimSpace(name))
		if !ok {
			return 0, fmt.Errorf("unknown operation %q (open, create, read, write, close, rename, unlink, mkdir, rmdir, setattr, symlink, link)", name)
		}
		set = set.With(op)
	}
	return set, nil
}
