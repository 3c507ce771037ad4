package fanotify

import (
	"bytes"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo, the fields the marker needs.
type mount struct {
	ID     int    // mount id, unique while the mount exists
	Major  uint32 // device of the filesystem (superblock)
	Minor  uint32
	Point  string // mount point, relative to this process's root
	FSType string
}

// parseMountinfo reads /proc/<pid>/mountinfo (proc(5)): "id parent
// major:minor root point options [optional fields...] - fstype source
// superoptions". Lines it cannot parse are skipped: a mount the marker
// does not know about is reported missing by the caller's count, never a
// crash.
func parseMountinfo(data []byte) []mount {
	var out []mount
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		f := strings.Fields(string(line))
		if len(f) < 7 {
			continue
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		maj, min, ok := strings.Cut(f[2], ":")
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(maj, 10, 32)
		mi, err2 := strconv.ParseUint(min, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		out = append(out, mount{
			ID:     id,
			Major:  uint32(ma),
			Minor:  uint32(mi),
			Point:  unescapeMountinfo(f[4]),
			FSType: f[sep+1],
		})
	}
	return out
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// noExecFS lists filesystem types that hold no programs to run, so that a
// mount of one that cannot be marked (procfs refuses permission marks) does
// not make the source claim it misses executables.
var noExecFS = map[string]bool{
	"proc": true, "sysfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "pstore": true,
	"configfs": true, "mqueue": true, "fusectl": true, "binfmt_misc": true,
	"efivarfs": true, "nsfs": true, "selinuxfs": true, "autofs": true,
	"rpc_pipefs": true, "nfsd": true, "hugetlbfs": true,
}
