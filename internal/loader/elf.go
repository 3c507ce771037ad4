package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDataSection is the largest global data section (.bss, .data*,
// .rodata*) the loader accepts. A .bss section takes no room in the file,
// so without a limit a few bytes of header could make the loader allocate
// gigabytes. Linux refuses array map values larger than a few MiB
// (KMALLOC_MAX_SIZE), so no object that works there comes near this.
const MaxDataSection = 64 << 20

const elfMagic = "\x7fELF"

// checkELF looks at the ELF headers before cilium/ebpf does, to turn the
// common mistakes (not an object file, an object for another architecture,
// a truncated file) into messages that say what is wrong, and to refuse
// headers that would make the parser allocate far more than the file holds.
// It returns the section of each symbol in a map section.
func (l *loader) checkELF(r io.ReaderAt) (map[string]string, error) {
	var hdr [64]byte // the size of an ELF64 header
	n, err := r.ReadAt(hdr[:], 0)
	if n < len(hdr) && err != nil && err != io.EOF {
		return nil, l.errorf("%v", err)
	}
	b := hdr[:n]
	switch {
	case n == 0:
		return nil, l.errorf("empty file: an eBPF object is an ELF file built with clang -target bpf")
	case !bytes.HasPrefix(b, []byte(elfMagic)):
		if strings.HasPrefix(elfMagic, string(b)) {
			return nil, l.errorf("truncated ELF file: only %d bytes", n)
		}
		return nil, l.errorf("not an ELF file: %s; eBPF objects are ELF files built with clang -O2 -g -target bpf -c prog.c -o prog.o", describe(b))
	case n < 20:
		return nil, l.errorf("truncated ELF file: only %d bytes, the ELF header alone is 64", n)
	}

	var bo binary.ByteOrder
	switch elf.Data(b[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil, l.errorf("malformed ELF file: invalid data encoding %d in the ELF header", b[elf.EI_DATA])
	}
	machine := elf.Machine(bo.Uint16(b[18:]))
	if machine != elf.EM_BPF && machine != elf.EM_NONE { // old LLVM versions left EM_NONE
		return nil, l.errorf("ELF object for %s, not eBPF: eBPF objects are built with clang -target bpf (found machine %s, want EM_BPF)", machineName(machine), machine)
	}
	if elf.Class(b[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return nil, l.errorf("%s ELF file: eBPF objects are 64-bit ELF files built with clang -target bpf", elf.Class(b[elf.EI_CLASS]))
	}
	if bo == binary.BigEndian {
		return nil, l.errorf("big-endian eBPF object (clang -target bpfeb, or -target bpf on a big-endian machine): ebpfhost runs little-endian eBPF; build with clang -target bpfel")
	}
	if n < len(hdr) {
		return nil, l.errorf("truncated ELF file: only %d bytes, the ELF header alone is %d", n, len(hdr))
	}

	var f *elf.File
	err = l.guard("reading the ELF headers", func() error {
		var err error
		f, err = elf.NewFile(r)
		return err
	})
	if err != nil {
		if _, ok := err.(*ParserPanicError); ok {
			return nil, err
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, l.errorf("malformed or truncated ELF file: the ELF headers point past the end of the file (%v)", err)
		}
		return nil, l.errorf("malformed or truncated ELF file: %v", err)
	}
	for _, s := range f.Sections {
		if err := l.checkSection(r, s); err != nil {
			return nil, err
		}
	}

	var syms []elf.Symbol
	err = l.guard("reading the ELF symbols", func() error {
		var err error
		syms, err = f.Symbols()
		return err
	})
	if err != nil {
		// cilium/ebpf reads the symbols too and says what is wrong.
		return nil, nil
	}
	sections := map[string]string{}
	for _, s := range syms {
		if int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		if sec := f.Sections[s.Section].Name; sec == ".maps" || strings.HasPrefix(sec, "maps") {
			sections[s.Name] = sec
		}
	}
	return sections, nil
}

// checkSection refuses sections that would make the parser read past the
// end of the file or allocate memory the file does not account for.
func (l *loader) checkSection(r io.ReaderAt, s *elf.Section) error {
	switch {
	case s.Type == elf.SHT_NULL:
		return nil
	case s.Flags&elf.SHF_COMPRESSED != 0 && !strings.HasPrefix(s.Name, ".debug"):
		return l.errorf("section %q is compressed (SHF_COMPRESSED); only debug sections may be (rebuild without compressing sections)", s.Name)
	case s.Type == elf.SHT_NOBITS:
		if isDataSection(s.Name) && s.Size > MaxDataSection {
			return l.errorf("section %s is %d bytes; global data sections are limited to %d bytes", s.Name, s.Size, MaxDataSection)
		}
		return nil
	}
	size := s.FileSize
	if size == 0 {
		return nil
	}
	end := s.Offset + size
	var one [1]byte
	if end < s.Offset || end > 1<<62 {
		return l.errorf("malformed ELF file: section %q has offset %d and size %d, past any file", s.Name, s.Offset, size)
	}
	if _, err := r.ReadAt(one[:], int64(end-1)); err != nil {
		return l.errorf("truncated ELF file: section %q (bytes %d to %d) extends past the end of the file", s.Name, s.Offset, end)
	}
	return nil
}

// machineName names the architectures whose objects are most often passed
// by mistake the way their users call them.
func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86-64"
	case elf.EM_386:
		return "32-bit x86"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "32-bit ARM"
	case elf.EM_RISCV:
		return "RISC-V"
	case elf.EM_PPC64:
		return "64-bit PowerPC"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_MIPS:
		return "MIPS"
	case elf.EM_LOONGARCH:
		return "LoongArch"
	}
	return "another architecture"
}

// signatures are the starts of files most likely to be given instead of an
// eBPF object.
var signatures = []struct{ prefix, what string }{
	{"MZ", "a Windows PE executable, DLL or driver"},
	{"\xcf\xfa\xed\xfe", "a 64-bit Mach-O binary"},
	{"\xce\xfa\xed\xfe", "a 32-bit Mach-O binary"},
	{"\xca\xfe\xba\xbe", "a universal Mach-O binary or a Java class file"},
	{"!<arch>\n", "an ar archive (a static library; extract its .o files)"},
	{"BC\xc0\xde", "LLVM bitcode (compile with -c, not -emit-llvm)"},
	{"\xde\xc0\x17\x0b", "LLVM bitcode (compile with -c, not -emit-llvm)"},
	{"\x1f\x8b", "gzip-compressed data"},
	{"\x28\xb5\x2f\xfd", "zstd-compressed data"},
	{"\xfd7zXZ\x00", "xz-compressed data"},
	{"PK\x03\x04", "a zip archive"},
	{"\x00asm", "a WebAssembly module"},
}

// describe says what a file that is not ELF appears to be, from its first
// bytes.
func describe(b []byte) string {
	for _, s := range signatures {
		if bytes.HasPrefix(b, []byte(s.prefix)) {
			return fmt.Sprintf("it starts with %q, the signature of %s", s.prefix, s.what)
		}
	}
	if isText(b) {
		return fmt.Sprintf("it is text, starting with %q (source code must be compiled into an object first)", firstLine(b))
	}
	if len(b) > 16 {
		b = b[:16]
	}
	return fmt.Sprintf("its first bytes are % x where an ELF file starts with 7f 45 4c 46 (\"\\x7fELF\")", b)
}

func isText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			// A rune cut off at the end of the header is still text.
			return !utf8.FullRune(b) && len(b) < utf8.UTFMax
		}
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
		b = b[size:]
	}
	return true
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
