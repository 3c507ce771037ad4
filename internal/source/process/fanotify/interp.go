package fanotify

import (
	"bytes"
	"encoding/binary"
)

// The limits the kernel applies when it loads an image; a file outside
// them fails to exec, so it will not open an interpreter either.
const (
	binprmBufSize = 256      // BINPRM_BUF_SIZE: how much of a "#!" line the kernel reads
	maxPhdrsSize  = 64 << 10 // load_elf_phdrs refuses program headers larger than this
	pathMax       = 4096     // PT_INTERP longer than PATH_MAX is refused
	ptInterp      = 3
)

// readAtFunc reads len(p) bytes at off, or fewer at the end of the file.
type readAtFunc func(p []byte, off int64) (int, error)

// interpreter returns the file the kernel will open for execution next
// when it runs this image: the ELF interpreter (PT_INTERP, usually
// ld-linux) of a dynamically linked program, or the interpreter named on
// a script's "#!" line. It returns ok false for images that run by
// themselves (static programs, the loader itself) and for anything it
// cannot read or parse; the caller then expects no continuation.
func interpreter(read readAtFunc) (name string, ok bool) {
	// One read usually covers an ELF program's headers and its PT_INTERP
	// string too (they come first in the file), so the head serves the
	// later reads when it can.
	var head [headSize]byte
	n, _ := read(head[:], 0)
	b := head[:max(n, 0)]
	if name, ok := scriptInterpreter(b); ok {
		return name, true
	}
	return elfInterpreter(b, func(p []byte, off int64) (int, error) {
		if off >= 0 && off+int64(len(p)) <= int64(len(b)) {
			return copy(p, b[off:]), nil
		}
		return read(p, off)
	})
}

// headSize is how much of an image interpreter reads first.
const headSize = 4096

// scriptInterpreter parses a "#!" line as fs/binfmt_script.c does: blanks
// after "#!" are skipped and the interpreter's name ends at a blank, a
// NUL, a newline or the end of the kernel's 256-byte buffer.
func scriptInterpreter(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '#' || b[1] != '!' {
		return "", false
	}
	line := b[2:min(len(b), binprmBufSize)]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimLeft(line, " \t")
	if i := bytes.IndexAny(line, " \t\x00"); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 {
		return "", false
	}
	return string(line), true
}

// elfInterpreter finds the first PT_INTERP program header of an ELF file
// whose first bytes are head, with the kernel's sanity limits.
func elfInterpreter(head []byte, read readAtFunc) (string, bool) {
	if len(head) < 52 || string(head[:4]) != "\x7fELF" {
		return "", false
	}
	var bo binary.ByteOrder
	switch head[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return "", false
	}
	var phoff uint64
	var phentsize, phnum, want int
	switch head[4] {
	case 1: // ELFCLASS32
		phoff = uint64(bo.Uint32(head[28:]))
		phentsize = int(bo.Uint16(head[42:]))
		phnum = int(bo.Uint16(head[44:]))
		want = 32
	case 2: // ELFCLASS64
		if len(head) < 64 {
			return "", false
		}
		phoff = bo.Uint64(head[32:])
		phentsize = int(bo.Uint16(head[54:]))
		phnum = int(bo.Uint16(head[56:]))
		want = 56
	default:
		return "", false
	}
	size := phentsize * phnum
	if phentsize != want || phnum == 0 || size > maxPhdrsSize || phoff > 1<<62 {
		return "", false
	}
	phdrs := make([]byte, size)
	if n, _ := read(phdrs, int64(phoff)); n != size {
		return "", false
	}
	for i := 0; i < phnum; i++ {
		ph := phdrs[i*phentsize : (i+1)*phentsize]
		if bo.Uint32(ph) != ptInterp {
			continue
		}
		var off, filesz uint64
		if want == 32 {
			off, filesz = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
		} else {
			off, filesz = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
		}
		if filesz < 2 || filesz > pathMax || off > 1<<62 {
			return "", false
		}
		s := make([]byte, filesz)
		if n, _ := read(s, int64(off)); uint64(n) != filesz || s[filesz-1] != 0 {
			return "", false
		}
		s = s[:filesz-1]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		if len(s) == 0 {
			return "", false
		}
		return string(s), true
	}
	return "", false
}
