package core

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/interp"
	"github.com/ebpfhost/ebpfhost/internal/maps"
	"github.com/ebpfhost/ebpfhost/internal/mem"
)

// Limits of the printf-like helpers, as in Linux.
const (
	maxFormatArgs = 12  // bpf_snprintf
	maxStringArg  = 512 // bytes of a %s argument
	maxFormatLen  = 1024
)

// bpfFormat renders a C printf format the way Linux's bpf_snprintf and
// bpf_trace_printk do: each argument is a 64-bit value, conversions
// without an l/ll modifier use its low 32 bits, %s reads a NUL-terminated
// string from program memory, %pI4, %pi4, %pI6 and %pi6 print the IPv4 or
// IPv6 address the argument points to, and %p prints an address. It
// supports the flags - + space 0 #, width, precision and the conversions
// d i u x X o c s p %. As in Linux, a string that cannot be read prints as
// the empty string and an address that cannot be read as zeros.
func bpfFormat(format string, args []uint64, str func(addr uint64) (string, bool), read func(addr uint64, n int) ([]byte, bool)) (string, error) {
	var out strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			out.WriteByte(c)
			continue
		}
		start := i
		i++
		// Flags, width, precision.
		for i < len(format) && strings.IndexByte("-+ 0#", format[i]) >= 0 {
			i++
		}
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			i++
		}
		if i < len(format) && format[i] == '.' {
			i++
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				i++
			}
		}
		spec := format[start+1 : i] // flags, width and precision
		// Length modifier.
		bits := 32
		switch {
		case strings.HasPrefix(format[i:], "ll"):
			bits, i = 64, i+2
		case strings.HasPrefix(format[i:], "hh"):
			bits, i = 8, i+2
		case i < len(format) && (format[i] == 'l' || format[i] == 'z'):
			bits, i = 64, i+1
		case i < len(format) && format[i] == 'h':
			bits, i = 16, i+1
		}
		if i >= len(format) {
			return "", fmt.Errorf("format ends inside a conversion: %q", format[start:])
		}
		conv := format[i]
		if conv == '%' {
			out.WriteByte('%')
			continue
		}
		if next >= len(args) {
			return "", fmt.Errorf("format %q needs more than the %d arguments given", format, len(args))
		}
		a := args[next]
		next++
		switch conv {
		case 'd', 'i':
			var v int64
			switch bits {
			case 8:
				v = int64(int8(a))
			case 16:
				v = int64(int16(a))
			case 32:
				v = int64(int32(a))
			default:
				v = int64(a)
			}
			fmt.Fprintf(&out, "%"+spec+"d", v)
		case 'u', 'x', 'X', 'o':
			v := a
			if bits < 64 {
				v &= 1<<bits - 1
			}
			verb := map[byte]string{'u': "d", 'x': "x", 'X': "X", 'o': "o"}[conv]
			fmt.Fprintf(&out, "%"+spec+verb, v)
		case 'c':
			fmt.Fprintf(&out, "%"+spec+"c", rune(byte(a)))
		case 'p':
			if i+2 < len(format) && (format[i+1] == 'i' || format[i+1] == 'I') && (format[i+2] == '4' || format[i+2] == '6') {
				ip := make([]byte, 4)
				if format[i+2] == '6' {
					ip = make([]byte, 16)
				}
				if b, ok := read(a, len(ip)); ok {
					copy(ip, b)
				}
				fmt.Fprintf(&out, "%"+spec+"s", formatIP(ip, format[i+1] == 'i'))
				i += 2
				break
			}
			// %pK, %px and friends: print the address.
			for i+1 < len(format) && strings.IndexByte("KxSsBbi46", format[i+1]) >= 0 {
				i++
			}
			fmt.Fprintf(&out, "%"+spec+"s", "0x"+strconv.FormatUint(a, 16))
		case 's':
			s, _ := str(a)
			fmt.Fprintf(&out, "%"+spec+"s", s)
		default:
			return "", fmt.Errorf("unsupported conversion %%%c in %q", conv, format)
		}
	}
	return out.String(), nil
}

// formatIP formats an address as Linux's %pI4 ("192.0.2.1"), %pi4
// ("192.000.002.001"), %pI6 (eight colon-separated groups of four hex
// digits) or %pi6 (the 32 hex digits).
func formatIP(ip []byte, padded bool) string {
	var b strings.Builder
	if len(ip) == 4 {
		for i, x := range ip {
			if i > 0 {
				b.WriteByte('.')
			}
			if padded {
				fmt.Fprintf(&b, "%03d", x)
			} else {
				fmt.Fprintf(&b, "%d", x)
			}
		}
		return b.String()
	}
	for i := 0; i+1 < len(ip); i += 2 {
		if i > 0 && !padded {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x%02x", ip[i], ip[i+1])
	}
	return b.String()
}

// formatReaders returns the memory readers bpfFormat uses for a program:
// they report false for memory the program may not read (as far as the
// mode can tell: in fast mode only NULL is known to be unreadable).
func formatReaders(vm *interp.VM) (func(uint64) (string, bool), func(uint64, int) ([]byte, bool)) {
	str := func(addr uint64) (string, bool) { return cString(vm, addr, maxStringArg) }
	read := func(addr uint64, n int) ([]byte, bool) {
		if !readable(vm, addr, n) {
			return nil, false
		}
		return mem.Slice(addr, n), true
	}
	return str, read
}

// formatArgs reads a helper's format string and renders it.
func formatArgs(vm *interp.VM, helper string, fmtAddr, fmtSize uint64, args []uint64) (string, bool) {
	if fmtSize > maxFormatLen {
		fmtSize = maxFormatLen
	}
	raw, ok := memArg(vm, helper, fmtAddr, fmtSize, false)
	if !ok {
		return "", false
	}
	format := string(raw)
	if i := strings.IndexByte(format, 0); i >= 0 {
		format = format[:i]
	}
	readStr, readMem := formatReaders(vm)
	s, err := bpfFormat(format, args, readStr, readMem)
	if err != nil {
		return "", false // a format Linux refuses: the helper returns -EINVAL, as there
	}
	return s, true
}

// tracePrintk is bpf_trace_printk(fmt, fmt_size, a1, a2, a3): formats and
// appends a line to the runtime's trace stream; returns the bytes written.
func (rt *Runtime) tracePrintk(vm *interp.VM, f, size, a1, a2, a3 uint64) uint64 {
	s, ok := formatArgs(vm, "bpf_trace_printk", f, size, []uint64{a1, a2, a3})
	if !ok {
		return errno(maps.EINVAL)
	}
	inv, _ := vm.Env.(*invocation)
	rec := TraceRecord{CPU: vm.CPU, Message: strings.TrimRight(s, "\n")}
	if inv != nil {
		if inv.task != nil {
			rec.PID, rec.Comm = inv.task.PID, inv.task.Comm
		}
		if inv.prog != nil {
			rec.Program = inv.prog.name
		}
	}
	rt.trace.add(rec)
	return uint64(len(s))
}

// snprintf is bpf_snprintf(str, size, fmt, data, data_len): data holds the
// arguments as 64-bit values. It writes at most size bytes (NUL-terminated)
// and returns the length of the whole formatted string including the NUL.
func snprintf(vm *interp.VM, str, size, f, data, dataLen uint64) uint64 {
	const name = "bpf_snprintf"
	if dataLen%8 != 0 || dataLen/8 > maxFormatArgs {
		return errno(maps.EINVAL)
	}
	raw, ok := memArg(vm, name, data, dataLen, false)
	if !ok {
		return 0
	}
	args := make([]uint64, dataLen/8)
	for i := range args {
		args[i] = binary.LittleEndian.Uint64(raw[i*8:])
	}
	format, ok := cString(vm, f, maxFormatLen)
	if !ok {
		return helperFault(vm, name, "fmt is not a readable string")
	}
	readStr, readMem := formatReaders(vm)
	s, err := bpfFormat(format, args, readStr, readMem)
	if err != nil {
		return errno(maps.EINVAL)
	}
	if size > 0 {
		out, ok := memArg(vm, name, str, size, true)
		if !ok {
			return 0
		}
		n := copy(out[:len(out)-1], s)
		out[n] = 0
	}
	return uint64(len(s) + 1)
}
