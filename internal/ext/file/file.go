// Package file is the file extension: the "file" program type and its two
// hooks, file_pre and file_post, which run programs before and after
// filesystem operations (the minifilter-style hook eBPF for Windows
// proposed). Programs see a file_md_t (include/file.h) whose data range is
// the path.
//
// Hook semantics:
//
//   - a link runs only for the operations and path prefix its attach
//     options name (AttachOptions), checked before any program runs;
//   - pre: links run in attach order; the first that denies stops the walk
//     and its errno is the verdict; the first bpf_file_redirect of an
//     allowed open is obeyed; a program that fails to run counts as
//     allowing (fail open);
//   - post: every matching link runs; results are ignored.
package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/process"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	source "github.com/ebpfhost/ebpfhost/internal/source/file"
)

// file_md_t layout (include/file.h).
const (
	offPathStart  = 0
	offPathEnd    = 8
	offID         = 16
	offTime       = 24
	offOperation  = 32
	offHook       = 36
	offFlags      = 40
	offMode       = 44
	offPID        = 48
	offTID        = 52
	offUID        = 56
	offGID        = 60
	offInode      = 64
	offDevice     = 72
	offOffset     = 80
	offLength     = 88
	offResult     = 96
	ContextSize   = 104
	MaxPath       = 4096
	maxRedirectTo = 4096
)

// Helper ids.
const (
	HelperGetTargetPath = 65536
	HelperGetImagePath  = 65537
	HelperRedirect      = 65538
)

var pathArgs = []progtype.ArgType{progtype.ArgPtrToCtx, progtype.ArgPtrToWritableMem, progtype.ArgConstSize}

// Info is the file program type.
var Info = &progtype.ProgramType{
	Name:            "file",
	GUID:            "5b1a3b4e-6f2d-4c1e-9a57-0e1f1d2c3b4a",
	ID:              0x10002,
	SectionPrefixes: []string{"file/"},
	Context:         progtype.ContextDescriptor{Size: ContextSize, Data: offPathStart, End: offPathEnd, Meta: -1, PointerSize: 8, MaxData: MaxPath},
	Helpers: []progtype.HelperProto{
		{ID: HelperGetTargetPath, Name: "bpf_file_get_target_path", Ret: progtype.RetInteger, Args: pathArgs},
		{ID: HelperGetImagePath, Name: "bpf_file_get_image_path", Ret: progtype.RetInteger, Args: pathArgs},
		{ID: HelperRedirect, Name: "bpf_file_redirect", Ret: progtype.RetInteger,
			Args: []progtype.ArgType{progtype.ArgPtrToCtx, progtype.ArgPtrToReadableMem, progtype.ArgConstSize}},
	},
}

// The hooks.
var (
	PreInfo = &progtype.AttachType{Name: "file_pre", GUID: "5b1a3b4e-6f2d-4c1e-9a57-0e1f1d2c3b4b",
		ProgramType: "file", SectionPrefixes: []string{"file/pre"}}
	PostInfo = &progtype.AttachType{Name: "file_post", GUID: "5b1a3b4e-6f2d-4c1e-9a57-0e1f1d2c3b4c",
		ProgramType: "file", SectionPrefixes: []string{"file/post"}}
)

// AttachOptions filter the events a link's program runs for.
type AttachOptions struct {
	// Ops are the operations; 0 means those the section names
	// ("file/pre/open,read"), or all.
	Ops source.OpSet
	// Prefix, when set, limits the link to paths that start with it (a
	// plain string prefix: end it with "/" for a directory).
	Prefix string
}

type filter struct {
	ops    source.OpSet
	prefix string
}

func (f *filter) match(ev *source.Event) bool {
	return f.ops.Has(ev.Op) && strings.HasPrefix(ev.Path, f.prefix)
}

// SectionOps reads the operations a section names after "file/pre/" or
// "file/post/": a comma-separated list of operation names. No list means
// every operation.
func SectionOps(section string) (source.OpSet, error) {
	rest := ""
	for _, p := range []string{"file/pre", "file/post"} {
		if strings.HasPrefix(section, p) {
			rest = strings.TrimPrefix(strings.TrimPrefix(section, p), "/")
		}
	}
	if rest == "" {
		return source.AllOps, nil
	}
	var set source.OpSet
	for _, name := range strings.Split(rest, ",") {
		op, ok := source.ParseOp(strings.TrimSpace(name))
		if !ok {
			return 0, fmt.Errorf("section %q: unknown operation %q (open, create, read, write, close, rename, unlink, mkdir, rmdir, setattr, symlink, link)", section, name)
		}
		set = set.With(op)
	}
	return set, nil
}

// Extension hosts the file program type and its hooks. Feed it events with
// Handle.
type Extension struct {
	ext       *core.Extension
	pre, post *core.AttachType

	free chan *frame

	// OnError, when set, is told about every program that failed to run.
	OnError func(l *core.Link, err error)

	invocations, denials, redirects, failures atomic.Uint64
}

// New returns the file extension, ready to register in a runtime.
func New() *Extension {
	x := &Extension{free: make(chan *frame, 64)}
	t := &core.ProgramType{
		ProgramType: Info,
		HelperFuncs: map[int32]interp.Helper{
			HelperGetTargetPath: getTargetPath,
			HelperGetImagePath:  getImagePath,
			HelperRedirect:      redirect,
		},
		NewTestContext: newTestContext,
	}
	attach := func(l *core.Link) error {
		f := &filter{}
		switch o := l.Options().(type) {
		case nil:
		case *AttachOptions:
			f.ops, f.prefix = o.Ops, o.Prefix
		case AttachOptions:
			f.ops, f.prefix = o.Ops, o.Prefix
		default:
			return fmt.Errorf("file hooks take *file.AttachOptions, not %T", o)
		}
		if f.ops == 0 {
			ops, err := SectionOps(l.Program().Section())
			if err != nil {
				return err
			}
			f.ops = ops
		}
		l.Data = f
		return nil
	}
	x.pre = &core.AttachType{AttachType: PreInfo, Attach: attach}
	x.post = &core.AttachType{AttachType: PostInfo, Attach: attach}
	x.ext = &core.Extension{Name: "file", ProgramTypes: []*core.ProgramType{t}, AttachTypes: []*core.AttachType{x.pre, x.post}}
	return x
}

// Core returns what a runtime registers.
func (x *Extension) Core() *core.Extension { return x.ext }

// Interest returns the operations some link watches, before and after:
// sources skip the rest (source.Interest).
func (x *Extension) Interest() (pre, post source.OpSet) {
	for _, l := range x.pre.Links() {
		pre |= l.Data.(*filter).ops
	}
	for _, l := range x.post.Links() {
		post |= l.Data.(*filter).ops
	}
	return pre, post
}

// Stats counts what the hooks did.
type Stats struct {
	Invocations, Denials, Redirects, Failures uint64
}

// Stats returns the hooks' counters.
func (x *Extension) Stats() Stats {
	return Stats{x.invocations.Load(), x.denials.Load(), x.redirects.Load(), x.failures.Load()}
}

// Handle runs the programs attached to the event's hook whose filters
// match, and returns the verdict (for a pre event).
func (x *Extension) Handle(ev *source.Event) source.Verdict {
	hook := x.pre
	if ev.Post {
		hook = x.post
	}
	links := hook.Links()
	var f *frame
	defer func() {
		if f != nil {
			x.recycle(f)
		}
	}()
	var task *core.Task
	var grants []interp.Region
	for _, l := range links {
		if !l.Data.(*filter).match(ev) {
			continue
		}
		if f == nil {
			var err error
			if f, err = x.frame(ev); err != nil {
				x.failures.Add(1)
				if x.OnError != nil {
					x.OnError(nil, fmt.Errorf("building the file context: %w", err))
				}
				return source.Allow
			}
			tid := ev.TID
			if tid == 0 {
				tid = ev.PID
			}
			f.task = core.Task{PID: tid, TGID: ev.PID, UID: ev.UID, GID: ev.GID}
			task = &f.task
			grants = f.grants()
		}
		r0, err := l.Invoke(f.ctx.Addr(), task, f, grants...)
		if err == core.ErrDetached {
			continue
		}
		x.invocations.Add(1)
		if err != nil {
			x.failures.Add(1)
			if x.OnError != nil {
				x.OnError(l, err)
			}
			continue
		}
		if ev.Post {
			continue
		}
		if e := process.Errno(r0); e != 0 {
			x.denials.Add(1)
			return source.Verdict{Errno: e}
		}
	}
	if f != nil && f.redirect != "" {
		x.redirects.Add(1)
		return source.Verdict{Redirect: f.redirect}
	}
	return source.Allow
}

// frame is one context: file_md_t, the path it points to, and what the
// helpers need.
type frame struct {
	regions   [2]interp.Region
	task      core.Task
	ctx, path *mem.Block
	pathLen   int
	ev        *source.Event
	image     string
	imageRead bool
	redirect  string
}

// grants are the memory the context spans, for checked runs; the frame
// keeps the slice, so an event allocates nothing for it.
func (f *frame) grants() []interp.Region {
	f.regions[0] = interp.Region{Addr: f.ctx.Addr(), Size: ContextSize}
	if f.pathLen == 0 {
		return f.regions[:1]
	}
	f.regions[1] = interp.Region{Addr: f.path.Addr(), Size: uint64(f.pathLen)}
	return f.regions[:2]
}

func (x *Extension) frame(ev *source.Event) (*frame, error) {
	var f *frame
	select {
	case f = <-x.free:
	default:
		ctx, err := mem.Alloc(ContextSize)
		if err != nil {
			return nil, err
		}
		path, err := mem.Alloc(MaxPath)
		if err != nil {
			ctx.Free()
			return nil, err
		}
		f = &frame{ctx: ctx, path: path}
	}
	f.ev, f.image, f.imageRead, f.redirect = ev, ev.Image, ev.Image != "", ""
	f.fill(ev)
	return f, nil
}

// fill writes the event into the context.
func (f *frame) fill(ev *source.Event) {
	p := ev.Path
	if len(p) > MaxPath {
		p = p[:MaxPath]
	}
	f.pathLen = copy(f.path.Bytes(), p)
	c := f.ctx.Bytes()
	clear(c)
	le := binary.LittleEndian
	le.PutUint64(c[offPathStart:], f.path.Addr())
	le.PutUint64(c[offPathEnd:], f.path.Addr()+uint64(f.pathLen))
	le.PutUint64(c[offID:], ev.ID)
	le.PutUint64(c[offTime:], ev.Time)
	le.PutUint32(c[offOperation:], uint32(ev.Op))
	if ev.Post {
		le.PutUint32(c[offHook:], 1)
		le.PutUint64(c[offResult:], uint64(ev.Result))
	}
	le.PutUint32(c[offFlags:], ev.Flags)
	le.PutUint32(c[offMode:], ev.Mode)
	le.PutUint32(c[offPID:], ev.PID)
	tid := ev.TID
	if tid == 0 {
		tid = ev.PID
	}
	le.PutUint32(c[offTID:], tid)
	le.PutUint32(c[offUID:], ev.UID)
	le.PutUint32(c[offGID:], ev.GID)
	le.PutUint64(c[offInode:], ev.Ino)
	le.PutUint64(c[offDevice:], ev.Dev)
	le.PutUint64(c[offOffset:], uint64(ev.Offset))
	le.PutUint64(c[offLength:], ev.Length)
}

func (x *Extension) recycle(f *frame) {
	f.ev = nil
	select {
	case x.free <- f:
	default:
		f.free()
	}
}

func (f *frame) free() {
	f.ctx.Free()
	f.path.Free()
}

// Helpers.

func getTargetPath(vm *interp.VM, _, buf, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok || f.ev == nil || f.ev.Target == "" {
		return core.NegErrno(syscall.ENOENT)
	}
	return core.CopyOut(vm, "bpf_file_get_target_path", buf, size, f.ev.Target)
}

func getImagePath(vm *interp.VM, _, buf, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok || f.ev == nil {
		return core.NegErrno(syscall.ENOENT)
	}
	if !f.imageRead {
		f.imageRead = true
		if f.ev.PID != 0 {
			f.image, _ = os.Readlink(filepath.Join("/proc", strconv.FormatUint(uint64(f.ev.PID), 10), "exe"))
		}
	}
	if f.image == "" {
		return core.NegErrno(syscall.ENOENT)
	}
	return core.CopyOut(vm, "bpf_file_get_image_path", buf, size, f.image)
}

func redirect(vm *interp.VM, _, path, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok || f.ev == nil || f.ev.Post || (f.ev.Op != source.Open && f.ev.Op != source.Create) {
		return core.NegErrno(syscall.EINVAL)
	}
	b, ok := core.MemArg(vm, "bpf_file_redirect", path, size, false)
	if !ok {
		return 0
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	p := string(b)
	if !filepath.IsAbs(p) || len(p) > maxRedirectTo {
		return core.NegErrno(syscall.EINVAL)
	}
	if f.redirect == "" {
		f.redirect = filepath.Clean(p)
	}
	return 0
}

// newTestContext builds a file_md_t for a test run: ctx_in gives the
// fields (path_start and path_end must be 0) and data_in the path.
func newTestContext(in *core.TestInput) (*core.TestContext, error) {
	if len(in.Context) > ContextSize {
		return nil, fmt.Errorf("ctx_in is %d bytes; file_md_t is %d", len(in.Context), ContextSize)
	}
	if len(in.Data) > MaxPath {
		return nil, fmt.Errorf("data_in is %d bytes; paths are at most %d", len(in.Data), MaxPath)
	}
	var c [ContextSize]byte
	copy(c[:], in.Context)
	le := binary.LittleEndian
	if le.Uint64(c[offPathStart:]) != 0 || le.Uint64(c[offPathEnd:]) != 0 {
		return nil, errors.New("ctx_in: path_start and path_end must be 0 (data_in is the path)")
	}
	ev := &source.Event{
		ID: le.Uint64(c[offID:]), Time: le.Uint64(c[offTime:]), Op: source.Op(le.Uint32(c[offOperation:])),
		Post: le.Uint32(c[offHook:]) != 0, Flags: le.Uint32(c[offFlags:]), Mode: le.Uint32(c[offMode:]),
		PID: le.Uint32(c[offPID:]), TID: le.Uint32(c[offTID:]), UID: le.Uint32(c[offUID:]), GID: le.Uint32(c[offGID:]),
		Ino: le.Uint64(c[offInode:]), Dev: le.Uint64(c[offDevice:]), Offset: int64(le.Uint64(c[offOffset:])),
		Length: le.Uint64(c[offLength:]), Result: int64(le.Uint64(c[offResult:])), Path: string(in.Data),
	}
	x := &Extension{free: make(chan *frame)}
	f, err := x.frame(ev)
	if err != nil {
		return nil, err
	}
	f.imageRead = true // test runs have no acting process
	return &core.TestContext{
		Addr:   f.ctx.Addr(),
		Grants: f.grants(),
		Hook:   f,
		Finish: func() ([]byte, []byte) {
			out := append([]byte(nil), f.ctx.Bytes()...)
			clear(out[offPathStart : offPathEnd+8])
			return out, []byte(f.redirect)
		},
		Free: f.free,
	}, nil
}
