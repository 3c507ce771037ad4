package core

import (
	"fmt"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/mem"
)

// defaultTestContext is the context of program types without a test-run
// hook: ctx_in copied into runtime memory of the type's context size (or
// ctx_in's size when the type declares none). Data is not supported.
func defaultTestContext(t *ProgramType, in *TestInput) (*TestContext, error) {
	if len(in.Data) > 0 {
		return nil, fmt.Errorf("program type %q takes no data_in for test runs", t.Name)
	}
	size := t.Context.Size
	if size == 0 {
		size = len(in.Context)
	}
	if len(in.Context) > size {
		return nil, fmt.Errorf("ctx_in is %d bytes, the %s context is %d", len(in.Context), t.Name, size)
	}
	if size == 0 {
		return &TestContext{Free: func() {}}, nil
	}
	return CopyContext(in.Context, size)
}

// CopyContext places ctx in runtime memory of size bytes (zero-padded) and
// returns it as a test context whose output is the memory's final content.
// Program types use it for contexts without pointers.
func CopyContext(ctx []byte, size int) (*TestContext, error) {
	blk, err := mem.Alloc(size)
	if err != nil {
		return nil, err
	}
	copy(blk.Bytes(), ctx)
	return &TestContext{
		Addr:   blk.Addr(),
		Grants: []interp.Region{{Addr: blk.Addr(), Size: uint64(size), Writable: true}},
		Finish: func() ([]byte, []byte) { return append([]byte(nil), blk.Bytes()...), nil },
		Free:   func() { blk.Free() },
	}, nil
}
