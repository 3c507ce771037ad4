// Package auto picks the file event source for a tool: a FUSE mount when
// the tool works on one directory and must refuse or redirect operations
// (or see reads and writes with their latency), fanotify for system-wide
// notifications and refusing opens, kernel syscall tracepoints for
// system-wide pre/post pairs with latency.
package auto

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/simulated"
)

// Names are the values --source accepts.
var Names = []string{"auto", "fuse", "fanotify", "tracepoint", "simulated"}

// Options say what the tool needs.
type Options struct {
	// Name is one of Names; "" means "auto".
	Name string
	// Mount is the directory to interpose on with FUSE (mounted over
	// itself). With "auto", a Mount selects FUSE.
	Mount string
	// Paths limit system-wide sources (fanotify marks); empty means
	// every filesystem.
	Paths []string
	// Deny, Redirect and Latency say what the tool needs from the source.
	Deny, Redirect, Latency bool
	// Interest is passed to sources that can skip operations.
	Interest file.Interest
	// Replay feeds the simulated source (JSON lines).
	Replay io.Reader
	// Logf receives the sources' notes.
	Logf func(format string, args ...any)
	// Ready, when set, is called once the source watches (the mount
	// serves, the marks or programs are in place); the simulated source
	// calls it at once.
	Ready func()
}

// ErrNotBuilt is returned for a source this build does not include yet.
var ErrNotBuilt = errors.New("not built into this binary")

// constructors are filled in by the source packages this binary includes
// (see sources.go), so that this package compiles before all of them exist.
var constructors = map[string]func(o Options) (file.Source, error){}

// Open returns the source o asks for. Availability is known when it runs.
func Open(o Options) (file.Source, error) {
	name := o.Name
	if name == "" || name == "auto" {
		switch {
		case o.Mount != "":
			name = "fuse"
		case o.Redirect:
			return nil, errors.New("redirecting needs a FUSE mount: give the directory with --mount DIR")
		case o.Latency:
			name = "tracepoint"
		default:
			name = "fanotify"
		}
	}
	var s file.Source
	switch name {
	case "simulated":
		if o.Replay != nil {
			s = simulated.NewReplay(o.Replay)
		} else {
			s = simulated.New()
		}
		if o.Ready != nil {
			o.Ready()
		}
	default:
		c, ok := constructors[name]
		if !ok {
			if !contains(Names, name) {
				return nil, fmt.Errorf("unknown file event source %q (one of: %s)", name, strings.Join(Names, ", "))
			}
			return nil, &file.UnavailableError{Source: name, Tried: "opening the source", Err: ErrNotBuilt}
		}
		var err error
		if s, err = c(o); err != nil {
			return nil, err
		}
	}
	c := s.Caps()
	switch {
	case o.Deny && !c.Deny:
		return nil, fmt.Errorf("the %s source cannot refuse operations (use --mount DIR for a FUSE mount, or the fanotify source)", s.Name())
	case o.Redirect && !c.Redirect:
		return nil, fmt.Errorf("the %s source cannot redirect opens (use --mount DIR for a FUSE mount)", s.Name())
	}
	return s, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
