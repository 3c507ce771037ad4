package fanotifyx

import (
	"bytes"
	"strconv"
)

// Status is what the sources take from /proc/<tid>/status: the thread
// group id, the parent's pid and the real user and group ids.
type Status struct {
	Tgid, PPid, UID, GID uint32
}

// StatusField names fields of Status, for ParseStatus to look for.
type StatusField uint8

const (
	StatusTgid StatusField = 1 << iota
	StatusPPid
	StatusUID
	StatusGID
)

// ParseStatus reads the fields in want from the text of /proc/<tid>/status
// ("Tgid:\t7", "PPid:\t1", "Uid:\treal\teffective\tsaved\tfs", "Gid:\t...",
// taking the real ids); ok says all of them were there. It stops reading
// once it has them: the exec source, which needs no group id, must not pay
// for scanning to the "Gid:" line.
func ParseStatus(b []byte, want StatusField) (st Status, ok bool) {
	var have StatusField
	for len(b) > 0 && have&want != want {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, val, found := bytes.Cut(line, []byte{':'})
		if !found {
			continue
		}
		var dst *uint32
		var bit StatusField
		switch string(key) {
		case "Tgid":
			dst, bit = &st.Tgid, StatusTgid
		case "PPid":
			dst, bit = &st.PPid, StatusPPid
		case "Uid":
			dst, bit = &st.UID, StatusUID
		case "Gid":
			dst, bit = &st.GID, StatusGID
		default:
			continue
		}
		if bit&want == 0 {
			continue
		}
		f := bytes.Fields(val)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseUint(string(f[0]), 10, 32); err == nil {
			*dst = uint32(v)
			have |= bit
		}
	}
	return st, have&want == want
}

// Syscall is a line of /proc/<tid>/syscall: the number of the system call
// the thread is blocked in, its six arguments and, if HasSP, the user
// stack pointer.
type Syscall struct {
	NR    int64
	Args  [6]uint64
	SP    uint64
	HasSP bool
}

// ParseSyscall reads "nr 0xarg1 ... 0xarg6 0xsp 0xpc" (proc(5): nr in
// decimal, the rest in hex with the 0x the kernel always prints). ok is
// false for "running", "-1 sp pc" (not in a system call) and anything
// without six arguments; a missing or malformed stack pointer only leaves
// HasSP false.
func ParseSyscall(b []byte) (sc Syscall, ok bool) {
	f := bytes.Fields(b)
	if len(f) < 7 {
		return Syscall{}, false
	}
	nr, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || nr < 0 {
		return Syscall{}, false
	}
	sc.NR = nr
	for i := range sc.Args {
		v, ok := parseHex(f[1+i])
		if !ok {
			return Syscall{}, false
		}
		sc.Args[i] = v
	}
	if len(f) > 7 {
		sc.SP, sc.HasSP = parseHex(f[7])
	}
	return sc, true
}

func parseHex(b []byte) (uint64, bool) {
	s, found := bytes.CutPrefix(b, []byte("0x"))
	if !found {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s), 16, 64)
	return v, err == nil
}
