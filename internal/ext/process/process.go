// Package process is the process extension: the "process" program type
// and hook of ntosebpfext (eBPF for Windows' process create/delete
// notifications), on Linux. Programs see a process_md_t for every program
// start (exec) and process exit; on a start they may refuse it.
//
// The layout, GUIDs, helper ids and hook semantics are ntosebpfext's, so
// programs written for it run unchanged:
//
//   - several programs may attach; they run in attach order;
//   - on a create, the first program that denies stops the walk and its
//     verdict is the hook's; a program that fails to run counts as allowing
//     (fail open: a broken monitor must not stop the machine);
//   - on a delete every program runs and results are ignored.
//
// What Linux contributes (the command line joined by single spaces, the
// Unix SID S-1-22-1-<uid> as the token, "Unix User" as the account
// domain) is described in docs/process.md.
package process

import (
	"encoding/binary"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
	source "github.com/ebpfhost/ebpfhost/internal/source/process"
)

// process_md_t layout (x86-64, 144 bytes).
const (
	offCommandStart   = 0
	offCommandEnd     = 8
	offProcessID      = 16
	offParentID       = 24
	offCreatingPID    = 32
	offCreatingTID    = 40
	offCreationTime   = 48
	offExitTime       = 56
	offExitCode       = 64
	offOperation      = 68
	offTokenSIDSize   = 72
	offTokenSID       = 76
	tokenSIDMax       = 68
	ContextSize       = 144
	maxCommandLineLen = 1 << 20
)

// Helper ids (ntosebpfext's PROCESS_EXT_HELPER_FN_BASE + n).
const (
	HelperGetImagePath     = 65536
	HelperGetAccountName   = 65537
	HelperGetAccountDomain = 65538
)

// AccountDomain is what bpf_process_get_account_domain reports for every
// Linux user: the domain Samba and Windows give Unix accounts.
const AccountDomain = "Unix User"

var helperArgs = []progtype.ArgType{progtype.ArgPtrToCtx, progtype.ArgPtrToWritableMem, progtype.ArgConstSize}

// Info is the process program type.
var Info = &progtype.ProgramType{
	Name:            "process",
	GUID:            "22ea7b37-1043-4d0d-b60d-cafa1c7b638e",
	ID:              0x10001,
	SectionPrefixes: []string{"process"},
	Context:         progtype.ContextDescriptor{Size: ContextSize, Data: offCommandStart, End: offCommandEnd, Meta: -1, PointerSize: 8, MaxData: maxCommandLineLen},
	Helpers: []progtype.HelperProto{
		{ID: HelperGetImagePath, Name: "bpf_process_get_image_path", Ret: progtype.RetInteger, Args: helperArgs},
		{ID: HelperGetAccountName, Name: "bpf_process_get_account_name", Ret: progtype.RetInteger, Args: helperArgs},
		{ID: HelperGetAccountDomain, Name: "bpf_process_get_account_domain", Ret: progtype.RetInteger, Args: helperArgs},
	},
}

// AttachInfo is the process hook.
var AttachInfo = &progtype.AttachType{
	Name:            "process",
	GUID:            "66e20687-9805-4458-a0db-38e220d31685",
	ProgramType:     "process",
	SectionPrefixes: []string{"process"},
}

// Extension hosts the process program type and hook in a runtime. Feed it
// events with Handle (a source.Handler).
type Extension struct {
	ext  *core.Extension
	hook *core.AttachType

	free chan *frame // recycled contexts; their memory is off-heap

	// OnError, when set, is told about every program that failed to run
	// (the hook allowed the exec regardless).
	OnError func(l *core.Link, err error)

	invocations, denials, failures atomic.Uint64
}

// New returns the process extension, ready to register in a runtime.
func New() *Extension {
	x := &Extension{free: make(chan *frame, 64)}
	t := &core.ProgramType{
		ProgramType: Info,
		HelperFuncs: map[int32]interp.Helper{
			HelperGetImagePath:     getImagePath,
			HelperGetAccountName:   getAccountName,
			HelperGetAccountDomain: getAccountDomain,
		},
		NewTestContext: newTestContext,
	}
	x.hook = &core.AttachType{AttachType: AttachInfo}
	x.ext = &core.Extension{Name: "process", ProgramTypes: []*core.ProgramType{t}, AttachTypes: []*core.AttachType{x.hook}}
	return x
}

// Core returns what a runtime registers (core.Runtime.RegisterExtension).
func (x *Extension) Core() *core.Extension { return x.ext }

// Stats counts what the hook did.
type Stats struct {
	Invocations uint64 // program runs
	Denials     uint64 // creates refused
	Failures    uint64 // runs that failed (counted as allowing)
}

// Stats returns the hook's counters.
func (x *Extension) Stats() Stats {
	return Stats{x.invocations.Load(), x.denials.Load(), x.failures.Load()}
}

// Attached reports whether any program is attached, so that event sources
// can stay idle until one is.
func (x *Extension) Attached() bool { return len(x.hook.Links()) > 0 }

// Handle runs the attached programs on an event and returns the hook's
// verdict: for a create, the first denial; otherwise Allow.
func (x *Extension) Handle(ev *source.Event) source.Verdict {
	links := x.hook.Links()
	if len(links) == 0 {
		return source.Allow
	}
	f, err := x.frame(ev)
	if err != nil {
		x.failures.Add(1)
		if x.OnError != nil {
			x.OnError(nil, fmt.Errorf("building the process context: %w", err))
		}
		return source.Allow
	}
	defer x.recycle(f)
	// Process events carry no group id; the uid stands in for it.
	f.task = core.Task{PID: ev.PID, TGID: ev.PID, UID: ev.UID, GID: ev.UID, Comm: comm(ev.Image)}
	task := &f.task
	grants := f.grants()
	for _, l := range links {
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
		if ev.Op != source.Create {
			continue
		}
		if e := Errno(r0); e != 0 {
			x.denials.Add(1)
			return source.Verdict{Errno: e}
		}
	}
	return source.Allow
}

// Errno turns a program's return value into the errno its verdict means: 0
// allows (as does any positive value); -1..-4095 deny with that errno; any
// other negative value (an NTSTATUS such as 0xC0000022) denies with EPERM.
// Only the low 32 bits count: process programs return an int.
func Errno(r0 uint64) int32 {
	v := int32(r0)
	switch {
	case v >= 0:
		return 0
	case v >= -4095:
		return -v
	}
	return int32(syscall.EPERM)
}

// comm is the 15-byte task name Linux would report for an image.
func comm(image string) string {
	c := filepath.Base(image)
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

// frame is one context: process_md_t, the command line it points to, and
// what the helpers report.
type frame struct {
	regions [2]interp.Region
	task    core.Task
	ctx     *mem.Block
	cmd     *mem.Block // nil until a command line needs it
	cmdLen  int
	image   string
	uid     uint32
	hasUID  bool
}

// grants are the memory the context spans, for checked runs; the frame
// keeps the slice, so an event allocates nothing for it.
func (f *frame) grants() []interp.Region {
	f.regions[0] = interp.Region{Addr: f.ctx.Addr(), Size: ContextSize}
	if f.cmdLen == 0 {
		return f.regions[:1]
	}
	f.regions[1] = interp.Region{Addr: f.cmd.Addr(), Size: uint64(f.cmdLen)}
	return f.regions[:2]
}

func (x *Extension) frame(ev *source.Event) (*frame, error) {
	var f *frame
	select {
	case f = <-x.free:
	default:
		blk, err := mem.Alloc(ContextSize)
		if err != nil {
			return nil, err
		}
		f = &frame{ctx: blk}
	}
	cmd := ""
	if ev.Op == source.Create {
		cmd = strings.Join(ev.Argv, " ")
		if len(cmd) > maxCommandLineLen {
			cmd = cmd[:maxCommandLineLen]
		}
	}
	if err := f.setCommand([]byte(cmd)); err != nil {
		x.recycle(f)
		return nil, err
	}
	f.image, f.uid, f.hasUID = ev.Image, ev.UID, true
	c := f.ctx.Bytes()
	clear(c[offProcessID:])
	le := binary.LittleEndian
	le.PutUint64(c[offProcessID:], uint64(ev.PID))
	le.PutUint64(c[offParentID:], uint64(ev.PPID))
	le.PutUint64(c[offCreatingPID:], uint64(ev.CreatorPID))
	le.PutUint64(c[offCreatingTID:], uint64(ev.CreatorTID))
	le.PutUint64(c[offCreationTime:], FileTime(ev.Created))
	if ev.Op == source.Exit {
		le.PutUint64(c[offExitTime:], FileTime(ev.Exited))
		le.PutUint32(c[offExitCode:], ev.ExitCode)
	}
	c[offOperation] = byte(ev.Op)
	sid := UnixSID(ev.UID)
	le.PutUint32(c[offTokenSIDSize:], uint32(len(sid)))
	copy(c[offTokenSID:offTokenSID+tokenSIDMax], sid)
	return f, nil
}

// setCommand places the command line and points the context at it. An
// empty command line is an empty range at a valid address.
func (f *frame) setCommand(cmd []byte) error {
	if f.cmd == nil || f.cmd.Len() < len(cmd) {
		size := 4096
		for size < len(cmd) {
			size *= 2
		}
		blk, err := mem.Alloc(size)
		if err != nil {
			return err
		}
		if f.cmd != nil {
			f.cmd.Free()
		}
		f.cmd = blk
	}
	copy(f.cmd.Bytes(), cmd)
	f.cmdLen = len(cmd)
	le := binary.LittleEndian
	c := f.ctx.Bytes()
	le.PutUint64(c[offCommandStart:], f.cmd.Addr())
	le.PutUint64(c[offCommandEnd:], f.cmd.Addr()+uint64(len(cmd)))
	return nil
}

func (x *Extension) recycle(f *frame) {
	if f.cmd != nil && f.cmd.Len() > 64<<10 {
		f.cmd.Free() // do not keep a rare huge command line's memory
		f.cmd = nil
	}
	select {
	case x.free <- f:
	default:
		f.free()
	}
}

func (f *frame) free() {
	f.ctx.Free()
	if f.cmd != nil {
		f.cmd.Free()
	}
}

// FileTime converts a time to a Windows FILETIME (100 ns intervals since
// 1601-01-01 UTC), the unit of process_md_t's times. The zero time is 0.
func FileTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return uint64(t.UnixNano()/100 + epochDiff)
}

// UnixSID is the binary SID S-1-22-1-<uid> Windows and Samba use for a Unix
// user: revision 1, two sub-authorities, identifier authority 22.
func UnixSID(uid uint32) []byte {
	sid := []byte{1, 2, 0, 0, 0, 0, 0, 22}
	sid = binary.LittleEndian.AppendUint32(sid, 1)
	return binary.LittleEndian.AppendUint32(sid, uid)
}

// sidUID returns the uid of a Unix SID.
func sidUID(sid []byte) (uint32, bool) {
	if len(sid) != 16 || sid[0] != 1 || sid[1] != 2 || string(sid[2:8]) != "\x00\x00\x00\x00\x00\x16" ||
		binary.LittleEndian.Uint32(sid[8:]) != 1 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(sid[12:]), true
}

// Helpers. Each is (ctx, buf, size) and returns the bytes written or a
// negative errno: -EINVAL when buf is too small, -ENOENT when there is
// nothing to report. Like ntosebpfext, no NUL is added.

func getImagePath(vm *interp.VM, ctx, buf, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok {
		return 0
	}
	return core.CopyOut(vm, "bpf_process_get_image_path", buf, size, f.image)
}

func getAccountName(vm *interp.VM, ctx, buf, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok || !f.hasUID {
		return core.NegErrno(syscall.ENOENT)
	}
	name, ok := userName(f.uid)
	if !ok {
		return core.NegErrno(syscall.ENOENT)
	}
	return core.CopyOut(vm, "bpf_process_get_account_name", buf, size, name)
}

func getAccountDomain(vm *interp.VM, ctx, buf, size, _, _ uint64) uint64 {
	f, ok := core.HookData(vm).(*frame)
	if !ok || !f.hasUID {
		return core.NegErrno(syscall.ENOENT)
	}
	return core.CopyOut(vm, "bpf_process_get_account_domain", buf, size, AccountDomain)
}

var userNames sync.Map // uid -> string ("" when unknown)

// userName looks a uid up once (in /etc/passwd without cgo) and caches it:
// helpers run on every event and must not read files each time.
func userName(uid uint32) (string, bool) {
	if v, ok := userNames.Load(uid); ok {
		return v.(string), v.(string) != ""
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	userNames.Store(uid, name)
	return name, name != ""
}

// newTestContext builds a process_md_t for a test run: ctx_in gives the
// fields (command_start and command_end must be 0) and data_in the command
// line. The account helpers answer for the uid of a Unix SID in ctx_in;
// the image path is empty.
func newTestContext(in *core.TestInput) (*core.TestContext, error) {
	if len(in.Context) > ContextSize {
		return nil, fmt.Errorf("ctx_in is %d bytes; process_md_t is %d", len(in.Context), ContextSize)
	}
	var c [ContextSize]byte
	copy(c[:], in.Context)
	le := binary.LittleEndian
	if le.Uint64(c[offCommandStart:]) != 0 || le.Uint64(c[offCommandEnd:]) != 0 {
		return nil, fmt.Errorf("ctx_in: command_start and command_end must be 0 (data_in is the command line)")
	}
	if len(in.Data) > maxCommandLineLen {
		return nil, fmt.Errorf("data_in is %d bytes; command lines are at most %d", len(in.Data), maxCommandLineLen)
	}
	blk, err := mem.Alloc(ContextSize)
	if err != nil {
		return nil, err
	}
	f := &frame{ctx: blk}
	if err := f.setCommand(in.Data); err != nil {
		f.free()
		return nil, err
	}
	b := blk.Bytes()
	copy(b[offProcessID:], c[offProcessID:])
	if n := le.Uint32(c[offTokenSIDSize:]); n <= tokenSIDMax {
		f.uid, f.hasUID = sidUID(c[offTokenSID : offTokenSID+int(n)])
	}
	return &core.TestContext{
		Addr:   blk.Addr(),
		Grants: f.grants(),
		Hook:   f,
		Finish: func() ([]byte, []byte) {
			out := append([]byte(nil), b...)
			clear(out[offCommandStart : offCommandEnd+8])
			return out, append([]byte(nil), f.cmd.Bytes()[:f.cmdLen]...)
		},
		Free: f.free,
	}, nil
}
