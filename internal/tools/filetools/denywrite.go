package filetools

import (
	"context"
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/ebpfhost/ebpfhost/examples"
	fileext "github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// DenyWriteOptions configure DenyWrite.
type DenyWriteOptions struct {
	Options
	// Prefix is the directory (everything under it) or file to protect.
	Prefix string
	// Errno is what refused operations fail with (default EACCES).
	Errno syscall.Errno
	// OnDeny, when set, is called with every refused operation.
	OnDeny func(*Action)
}

// DenyStats summarise a deny-write run.
type DenyStats struct {
	Runs   uint64             // runs of the program
	Denied uint64             // operations refused
	PerOp  map[file.Op]uint64 // refusals per operation
	// Failures counts program runs that failed (the operation was
	// allowed).
	Failures uint64
}

// The operations the tool attaches file_deny_write.c to under the prefix.
// Not Write: every write through a mount comes from an open, which was
// refused if it was for writing, so reads and writes need no program and
// a FUSE mount passes them to the kernel directly.
var denyPrefixOps = file.OpSet(0).With(file.Open).With(file.Create).With(file.Setattr).With(file.Unlink).
	With(file.Mkdir).With(file.Rmdir).With(file.Symlink)

// Renames and links are checked wherever they start: the program looks at
// both paths.
var denyBothOps = file.OpSet(0).With(file.Rename).With(file.Link)

// DenyWrite refuses every change under Prefix until ctx is done.
func DenyWrite(ctx context.Context, o DenyWriteOptions) (DenyStats, error) {
	st := DenyStats{PerOp: map[file.Op]uint64{}}
	errno, err := errnoArg(o.Errno, syscall.EACCES)
	if err != nil {
		return st, err
	}
	p, err := absPath(o.Prefix)
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Prefix, err)
	}
	if p == "/" {
		return st, fmt.Errorf("refusing every write on the machine is not supported; name a directory")
	}
	prefix := p
	if isDir(p) {
		prefix = dirPrefix(p)
	}
	if len(prefix) > rulePathMax {
		return st, fmt.Errorf("%s: the path is %d bytes; the program matches at most %d", o.Prefix, len(prefix), rulePathMax)
	}
	rule := make([]byte, 16+rulePathMax)
	binary.LittleEndian.PutUint32(rule[0:], uint32(len(prefix)))
	binary.LittleEndian.PutUint32(rule[4:], uint32(errno))
	copy(rule[16:], prefix)

	h, err := newHost(&o.Options, need{deny: true, mount: mountFor(p), paths: []string{mountFor(p)}})
	if err != nil {
		return st, err
	}
	defer h.close()
	c, err := h.load(examples.FileDenyWrite, "file_deny_write.o")
	if err != nil {
		return st, err
	}
	if err := putValue(c, "deny_rules", 0, rule); err != nil {
		return st, err
	}
	if err := h.attach(c, "deny_write", &fileext.AttachOptions{Ops: denyPrefixOps, Prefix: prefix}); err != nil {
		return st, err
	}
	if err := h.attach(c, "deny_write", &fileext.AttachOptions{Ops: denyBothOps}); err != nil {
		return st, err
	}
	ap := &actionPrinter{out: &o.Options, on: o.OnDeny}
	runErr := h.run(ctx, func(ev *file.Event) file.Verdict {
		v := h.x.Handle(ev)
		if v.Errno != 0 && !ev.Post {
			ap.print(ev, v)
		}
		return v
	})
	h.detach()
	for op := file.Op(1); op <= file.MaxOp; op++ {
		v, err := getValue(c, "deny_counts", uint32(op))
		if err != nil {
			break
		}
		if n := binary.LittleEndian.Uint64(v); n > 0 {
			st.PerOp[op] = n
			st.Denied += n
		}
	}
	xs := h.x.Stats()
	st.Runs, st.Failures = xs.Invocations, xs.Failures
	return st, runErr
}
