package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// Extension provides program types and the hooks (attach types) their
// programs attach to. It plays both roles eBPF for Windows gives an
// extension through NMR: program-information provider and hook provider.
// The runtime knows nothing else about it.
type Extension struct {
	Name         string
	ProgramTypes []*ProgramType
	AttachTypes  []*AttachType

	links    atomic.Int64 // links attached to any of its hooks
	closing  atomic.Bool  // unregistering: no new links
	detached chan struct{}
	mu       sync.Mutex
}

// AttachType is a hook as a runtime hosts it. The extension that owns it
// decides when its programs run: on each event it walks Links, invokes
// each link and combines the results as the hook's semantics say (for
// example, the first denial wins).
type AttachType struct {
	*progtype.AttachType
	// Attach is called before a new link joins the hook. It may check the
	// link's options and keep per-link state in Link.Data; an error
	// refuses the attachment. Nil accepts every link.
	Attach func(l *Link) error
	// Detach is called once a link has left the hook and no invocation
	// uses it any more. May be nil.
	Detach func(l *Link)

	ext   *Extension
	links atomic.Pointer[[]*Link] // attach order; copied on write so events never lock
	mu    sync.Mutex
}

// Links returns the links attached to the hook, in attach order. The slice
// is shared: do not modify it.
func (a *AttachType) Links() []*Link {
	if l := a.links.Load(); l != nil {
		return *l
	}
	return nil
}

// Link is a program attached to a hook.
type Link struct {
	id   uint32
	prog *Program
	at   *AttachType
	opts any
	// Data is the extension's per-link state, set by AttachType.Attach.
	Data any

	active    atomic.Int64 // invocations in progress
	closed    atomic.Bool
	closeOnce sync.Once
}

// ErrDetached is what Invoke returns for a link that has been closed.
var ErrDetached = errors.New("link is detached")

// ID returns the link's id.
func (l *Link) ID() uint32 { return l.id }

// Program returns the attached program.
func (l *Link) Program() *Program { return l.prog }

// AttachType returns the hook the link attaches to.
func (l *Link) AttachType() *AttachType { return l.at }

// Options returns the attach options given to Attach.
func (l *Link) Options() any { return l.opts }

// Invoke runs the link's program on a free virtual CPU with r1 = ctx.
// hook is handed to the type's helpers (HookData); grants are the memory
// the context spans, for checked mode. A detached link returns ErrDetached
// without running.
func (l *Link) Invoke(ctx uint64, task *Task, hook any, grants ...interp.Region) (uint64, error) {
	l.active.Add(1)
	defer l.active.Add(-1)
	if l.closed.Load() {
		return 0, ErrDetached
	}
	c := l.prog.rt.acquire()
	defer l.prog.rt.release(c)
	return l.prog.runOn(c, ctx, task, hook, grants)
}

// Close detaches the link: it leaves its hook, Close waits for
// invocations in progress to finish, and then the extension's Detach runs.
func (l *Link) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		a := l.at
		a.mu.Lock()
		old := a.Links()
		next := make([]*Link, 0, len(old))
		for _, o := range old {
			if o != l {
				next = append(next, o)
			}
		}
		a.links.Store(&next)
		a.mu.Unlock()
		for l.active.Load() != 0 {
			time.Sleep(50 * time.Microsecond)
		}
		if a.Detach != nil {
			a.Detach(l)
		}
		rt := l.prog.rt
		rt.linkMu.Lock()
		delete(rt.links, l.id)
		rt.linkMu.Unlock()
		a.ext.release()
	})
	return nil
}

// release drops one link and wakes UnregisterExtension after the last.
func (e *Extension) release() {
	if e.links.Add(-1) == 0 {
		e.mu.Lock()
		if e.detached != nil {
			close(e.detached)
			e.detached = nil
		}
		e.mu.Unlock()
	}
}

// HookData returns what the hook passed to Link.Invoke for the run in
// progress on vm, for helpers that need the event behind the context.
func HookData(vm *interp.VM) any {
	if inv, ok := vm.Env.(*invocation); ok {
		return inv.hook
	}
	return nil
}

// RegisterExtension adds an extension's program types and attach types.
// Names, ids, GUIDs and section prefixes must not clash with those already
// registered; on error nothing is registered.
func (rt *Runtime) RegisterExtension(e *Extension) error {
	if e.Name == "" {
		return errors.New("extension needs a name")
	}
	rt.extMu.Lock()
	defer rt.extMu.Unlock()
	if _, ok := rt.exts[e.Name]; ok {
		return fmt.Errorf("extension %q is already registered", e.Name)
	}
	var done []func()
	undo := func() {
		for i := len(done) - 1; i >= 0; i-- {
			done[i]()
		}
	}
	for _, t := range e.ProgramTypes {
		if err := rt.registerProgramType(t); err != nil {
			undo()
			return fmt.Errorf("extension %q: %w", e.Name, err)
		}
		name := t.Name
		done = append(done, func() { rt.types.Unregister(name); rt.typeImpl.Delete(name) })
	}
	for _, a := range e.AttachTypes {
		if a.ext != nil && a.ext != e {
			undo()
			return fmt.Errorf("extension %q: attach type %q belongs to extension %q", e.Name, a.Name, a.ext.Name)
		}
		if err := rt.types.RegisterAttachType(a.AttachType); err != nil {
			undo()
			return fmt.Errorf("extension %q: %w", e.Name, err)
		}
		name := a.Name
		done = append(done, func() { rt.types.UnregisterAttachType(name) })
		a.ext = e
	}
	e.closing.Store(false)
	rt.exts[e.Name] = e
	return nil
}

// UnregisterExtension removes an extension: its program types and attach
// types leave the registry at once (objects using them no longer load,
// programs no longer attach), and the call then waits until the last link
// to its hooks is detached or ctx is done. On ctx's end it returns an
// error saying how many links remain; the extension stays half-removed and
// a later call waits again. Programs already loaded stay loaded.
func (rt *Runtime) UnregisterExtension(ctx context.Context, name string) error {
	rt.extMu.Lock()
	e, ok := rt.exts[name]
	if !ok {
		rt.extMu.Unlock()
		return fmt.Errorf("extension %q is not registered", name)
	}
	if !e.closing.Swap(true) {
		for _, a := range e.AttachTypes {
			rt.types.UnregisterAttachType(a.Name)
		}
		for _, t := range e.ProgramTypes {
			rt.types.Unregister(t.Name)
		}
	}
	rt.extMu.Unlock()

	for {
		e.mu.Lock()
		if e.links.Load() == 0 {
			e.mu.Unlock()
			break
		}
		if e.detached == nil {
			e.detached = make(chan struct{})
		}
		ch := e.detached
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("extension %q: %d link(s) still attached: %w", name, e.links.Load(), ctx.Err())
		}
	}
	rt.extMu.Lock()
	if rt.exts[name] == e {
		delete(rt.exts, name)
		for _, t := range e.ProgramTypes {
			rt.typeImpl.Delete(t.Name)
		}
	}
	rt.extMu.Unlock()
	return nil
}

// Extensions returns the registered extensions sorted by name.
func (rt *Runtime) Extensions() []*Extension {
	rt.extMu.Lock()
	defer rt.extMu.Unlock()
	out := make([]*Extension, 0, len(rt.exts))
	for _, e := range rt.exts {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Attach attaches p to the hook named attachType, or to its program
// type's default hook when attachType is empty. opts are the hook's
// attach options (the extension says what it accepts).
func (p *Program) Attach(attachType string, opts any) (*Link, error) {
	rt := p.rt
	var info *progtype.AttachType
	var ok bool
	if attachType == "" {
		info, ok = rt.types.AttachTypeFor(p.typ.Name, p.section)
		if !ok {
			return nil, fmt.Errorf("program %s (section %s): program type %s has no default attach type; name one (attach types: %s)", p.name, p.section, p.typ.Name, rt.attachTypeNames())
		}
	} else if info, ok = rt.types.AttachTypeByName(attachType); !ok {
		return nil, fmt.Errorf("program %s: no attach type %q is registered (attach types: %s)", p.name, attachType, rt.attachTypeNames())
	}
	if info.ProgramType != p.typ.Name {
		return nil, fmt.Errorf("program %s is of type %s; attach type %s takes programs of type %s", p.name, p.typ.Name, info.Name, info.ProgramType)
	}
	a := rt.attachType(info.Name)
	if a == nil || a.ext == nil {
		return nil, fmt.Errorf("attach type %q has no hook in this runtime", info.Name)
	}
	e := a.ext
	e.links.Add(1)
	l := &Link{prog: p, at: a, opts: opts}
	if e.closing.Load() {
		e.release()
		return nil, fmt.Errorf("attach type %q: extension %q is unregistering", info.Name, e.Name)
	}
	if a.Attach != nil {
		if err := a.Attach(l); err != nil {
			e.release()
			return nil, fmt.Errorf("attaching %s to %s: %w", p.name, info.Name, err)
		}
	}
	rt.linkMu.Lock()
	rt.nextLink++
	l.id = rt.nextLink
	rt.links[l.id] = l
	rt.linkMu.Unlock()
	a.mu.Lock()
	next := append(append([]*Link(nil), a.Links()...), l)
	a.links.Store(&next)
	a.mu.Unlock()
	return l, nil
}

// Links returns the attached links ordered by id.
func (rt *Runtime) Links() []*Link {
	rt.linkMu.Lock()
	out := make([]*Link, 0, len(rt.links))
	for _, l := range rt.links {
		out = append(out, l)
	}
	rt.linkMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (rt *Runtime) attachType(name string) *AttachType {
	rt.extMu.Lock()
	defer rt.extMu.Unlock()
	for _, e := range rt.exts {
		for _, a := range e.AttachTypes {
			if a.Name == name {
				return a
			}
		}
	}
	return nil
}

func (rt *Runtime) attachTypeNames() string {
	var names []string
	for _, a := range rt.types.AttachTypes() {
		names = append(names, a.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprint(names)
}
