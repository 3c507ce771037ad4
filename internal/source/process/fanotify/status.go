package fanotify

import (
	"bytes"
	"strconv"
)

// procStatus is what the source takes from /proc/<tid>/status.
type procStatus struct {
	Tgid, PPid, UID uint32
}

// parseStatus takes the thread group id, the parent pid and the real user
// id from the text of /proc/<tid>/status ("Tgid:\t7", "PPid:\t1" and
// "Uid:\treal\teffective\tsaved\tfs"); ok says all three were there.
func parseStatus(b []byte) (st procStatus, ok bool) {
	const want = 7
	have := 0
	for len(b) > 0 && have != want {
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
	return st, have == want
}

// statField returns field n (1-based, as proc(5) numbers them) of
// /proc/<pid>/stat, counting after the command name, which is in
// parentheses and may contain spaces and parentheses; "" if missing.
func statField(b []byte, n int) string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || n < 3 {
		return ""
	}
	f := bytes.Fields(b[i+1:])
	if n-3 >= len(f) {
		return ""
	}
	return string(f[n-3])
}
