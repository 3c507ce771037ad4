package fanotify

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// MaxArgvBytes bounds the command line a Create carries: the arguments'
// bytes plus one terminating NUL each. Linux itself accepts up to a
// quarter of the stack limit (usually 2 MiB) and 128 KiB per argument; a
// longer command line is cut here, its last argument partly, and counted
// by Source.Truncated.
const MaxArgvBytes = 1 << 20

// An exec's arguments at FAN_OPEN_EXEC_PERM time exist only in the memory
// of the process calling execve or execveat: the kernel opens the program
// (the permission event) before it copies them. That process is blocked
// in the system call until the event is answered, so
// /proc/<tid>/syscall names the call and its arguments, and
// /proc/<tid>/mem lets the source read the argv array and its strings.

// execCall describes how to find argv in one system call.
type execCall struct {
	argvArg int // index of the argv pointer among the six arguments
	ptrSize int // 8 for native 64-bit callers, 4 for 32-bit (compat) ones
}

// execCalls maps the system call numbers /proc/<tid>/syscall shows for
// execve and execveat, by the architecture this binary runs on, including
// the numbers of 32-bit programs on a 64-bit kernel (their pointers are 4
// bytes). Others (x32, unknown architectures) give no argv.
var execCalls = map[string]map[int64]execCall{
	"amd64": {
		59:  {1, 8}, // execve(filename, argv, envp)
		322: {2, 8}, // execveat(dirfd, filename, argv, envp, flags)
		11:  {1, 4}, // i386 execve
		358: {2, 4}, // i386 execveat
	},
	"arm64": {
		221: {1, 8},
		281: {2, 8},
		11:  {1, 4}, // arm (compat) execve
		387: {2, 4}, // arm (compat) execveat
	},
	"riscv64": {221: {1, 8}, 281: {2, 8}},
	"loong64": {221: {1, 8}, 281: {2, 8}},
	"386":     {11: {1, 4}, 358: {2, 4}},
	"arm":     {11: {1, 4}, 387: {2, 4}},
}

// argvPointer finds the argv pointer of an exec system call on arch.
func argvPointer(arch string, nr int64, args [6]uint64) (ptr uint64, ptrSize int, ok bool) {
	c, ok := execCalls[arch][nr]
	if !ok {
		return 0, 0, false
	}
	ptr = args[c.argvArg]
	if c.ptrSize == 4 {
		ptr &= 0xffffffff
	}
	return ptr, c.ptrSize, true
}

const memPage = 4096

// memReader reads another process's memory through a ReadAt of
// /proc/<tid>/mem, a page at a time: reads never cross a page boundary, so
// an unmapped page fails alone, and consecutive strings on one page (argv
// strings usually are) cost one read.
type memReader struct {
	readAt func(p []byte, off int64) (int, error)
	base   uint64 // address of the cached page
	n      int    // bytes valid in page; 0: nothing cached
	page   [memPage]byte
}

var errFault = errors.New("fanotify: unreadable memory in the exec's arguments")

// at returns the bytes from addr to the end of its page.
func (m *memReader) at(addr uint64) ([]byte, error) {
	base := addr &^ (memPage - 1)
	if m.n == 0 || m.base != base {
		if base > 1<<62 {
			return nil, errFault
		}
		m.n = 0
		n, err := m.readAt(m.page[:], int64(base))
		if n <= 0 {
			if err == nil {
				err = errFault
			}
			return nil, err
		}
		m.base, m.n = base, n
	}
	off := int(addr - base)
	if off >= m.n {
		return nil, errFault
	}
	return m.page[off:m.n], nil
}

// read fills p from addr.
func (m *memReader) read(addr uint64, p []byte) error {
	for len(p) > 0 {
		b, err := m.at(addr)
		if err != nil {
			return err
		}
		n := copy(p, b)
		p, addr = p[n:], addr+uint64(n)
	}
	return nil
}

// cstring appends the NUL-terminated string at addr to dst, at most max
// bytes of it; complete is false when it was cut.
func (m *memReader) cstring(dst []byte, addr uint64, max int) (out []byte, complete bool, err error) {
	for {
		b, err := m.at(addr)
		if err != nil {
			return dst, false, err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 && i <= max {
			return append(dst, b[:i]...), true, nil
		}
		if len(b) >= max {
			return append(dst, b[:max]...), false, nil
		}
		dst = append(dst, b...)
		max -= len(b)
		addr += uint64(len(b))
	}
}

// readArgv reads the argument vector at ptr (an array of ptrSize-byte
// pointers ending with a null one) through readAt, at most limit bytes
// counting one NUL per argument. truncated says the limit cut it. An
// unreadable pointer or string is an error: argv is then unknown, not
// shortened.
func readArgv(readAt func(p []byte, off int64) (int, error), ptr uint64, ptrSize int, limit int) (argv []string, truncated bool, err error) {
	if ptr == 0 {
		// execve(path, NULL, envp): Linux runs the program with no
		// arguments at all.
		return []string{}, false, nil
	}
	ptrs := &memReader{readAt: readAt}
	strs := &memReader{readAt: readAt}
	var buf []byte
	var p [8]byte
	used := 0
	argv = []string{}
	for i := uint64(0); ; i++ {
		if err := ptrs.read(ptr+i*uint64(ptrSize), p[:ptrSize]); err != nil {
			return nil, false, err
		}
		var s uint64
		if ptrSize == 4 {
			s = uint64(binary.NativeEndian.Uint32(p[:]))
		} else {
			s = binary.NativeEndian.Uint64(p[:])
		}
		if s == 0 {
			return argv, false, nil
		}
		if used >= limit {
			return argv, true, nil
		}
		var complete bool
		buf, complete, err = strs.cstring(buf[:0], s, limit-used-1)
		if err != nil {
			return nil, false, err
		}
		argv = append(argv, string(buf))
		used += len(buf) + 1
		if !complete {
			return argv, true, nil
		}
	}
}
