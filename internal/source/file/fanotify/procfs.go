package fanotify

import (
	"bytes"
	"strconv"
	"strings"
)

// procStatus is what the source takes from /proc/<tid>/status.
type procStatus struct {
	Tgid, PPid, UID, GID uint32
}

// parseStatus reads the thread group id, parent, and real user and group
// ids from /proc/<tid>/status ("Tgid:\t7", "Uid:\treal\teffective...").
// ok says all four were there.
func parseStatus(b []byte) (st procStatus, ok bool) {
	const all = 15
	have := 0
	for len(b) > 0 && have != all {
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
		var bit int
		switch string(key) {
		case "Tgid":
			dst, bit = &st.Tgid, 1
		case "PPid":
			dst, bit = &st.PPid, 2
		case "Uid":
			dst, bit = &st.UID, 4
		case "Gid":
			dst, bit = &st.GID, 8
		default:
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
	return st, have == all
}

// sysCall is a line of /proc/<tid>/syscall: the number of the system call
// the thread is blocked in, its six arguments and the user stack pointer.
type sysCall struct {
	NR   int64
	Args [6]uint64
	SP   uint64
}

// parseSyscall reads "nr arg1 ... arg6 sp pc" (numbers in hex but nr);
// ok is false for "running", "-1 sp pc" (not in a system call) and
// anything else.
func parseSyscall(b []byte) (sc sysCall, ok bool) {
	f := strings.Fields(string(b))
	if len(f) < 8 {
		return sc, false
	}
	nr, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || nr < 0 {
		return sc, false
	}
	sc.NR = nr
	for i := range 7 {
		v, err := strconv.ParseUint(strings.TrimPrefix(f[i+1], "0x"), 16, 64)
		if err != nil {
			return sc, false
		}
		if i < 6 {
			sc.Args[i] = v
		} else {
			sc.SP = v
		}
	}
	return sc, true
}

// parseFdinfoPos reads the "pos:" line of /proc/<pid>/fdinfo/<fd>.
func parseFdinfoPos(b []byte) (int64, bool) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "pos:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
