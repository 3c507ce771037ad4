package connector

import (
	"bytes"
	"strconv"
)

// userHZ is the unit of the start time in /proc/<pid>/stat: clock ticks
// of USER_HZ, which Linux fixes at 100 on every architecture for this
// interface.
const userHZ = 100

// parseStat takes the parent pid (field 4) and the start time (field 22,
// in USER_HZ ticks since boot) from /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself contain spaces and
// parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (ppid uint32, start uint64, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 22-3+1 {
		return 0, 0, false
	}
	p, err1 := strconv.ParseUint(string(f[4-3]), 10, 32)
	st, err2 := strconv.ParseUint(string(f[22-3]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(p), st, true
}

// parseUID takes the real user id from /proc/<pid>/status
// ("Uid:\treal\teffective\tsaved\tfs").
func parseUID(b []byte) (uint32, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if v, found := bytes.CutPrefix(line, []byte("Uid:")); found {
			f := bytes.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			u, err := strconv.ParseUint(string(f[0]), 10, 32)
			return uint32(u), err == nil
		}
	}
	return 0, false
}

// splitCmdline splits /proc/<pid>/cmdline, the arguments each ending with
// a NUL. A process that rewrote its argument area (setproctitle) may
// leave no final NUL; the text is then one last argument.
func splitCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil // a kernel thread, or a process past its exit
	}
	b = bytes.TrimSuffix(b, []byte{0})
	parts := bytes.Split(b, []byte{0})
	argv := make([]string, len(parts))
	for i, p := range parts {
		argv[i] = string(p)
	}
	return argv
}

// initNamespaces reports whether /proc/self/status and /proc/self/uid_map
// show a process in the initial pid and user namespaces, the only ones
// the kernel sends process events to.
func initNamespaces(status, uidMap []byte) (pidOK, userOK bool) {
	pidOK = true
	for _, line := range bytes.Split(status, []byte{'\n'}) {
		if v, found := bytes.CutPrefix(line, []byte("NSpid:")); found {
			pidOK = len(bytes.Fields(v)) == 1
		}
	}
	f := bytes.Fields(uidMap)
	userOK = len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295"
	return pidOK, userOK
}
