package fanotify

import "bytes"

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
