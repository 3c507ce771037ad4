package fanotifyx

import (
	"bytes"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo, the fields the sources'
// markers need.
type Mount struct {
	ID           int    // mount id, unique while the mount exists
	Major, Minor uint32 // device of the filesystem (superblock)
	Root         string // the directory of the filesystem mounted here ("/" for a whole filesystem)
	Point        string // mount point, relative to the reading process's root
	FSType       string
}

// ParseMountinfo reads /proc/<pid>/mountinfo (proc(5)): "id parent
// major:minor root point options [optional fields...] - fstype source
// superoptions". Lines it cannot parse are skipped: a mount a marker does
// not know about is reported missing by its caller, never a crash.
func ParseMountinfo(data []byte) []Mount {
	var out []Mount
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
		out = append(out, Mount{
			ID: id, Major: uint32(ma), Minor: uint32(mi),
			Root: unescapeOctal(f[3]), Point: unescapeOctal(f[4]), FSType: f[sep+1],
		})
	}
	return out
}

// unescapeOctal undoes the kernel's \ooo escapes (\040 for a space, \011,
// \012, \134) in mountinfo paths.
func unescapeOctal(s string) string {
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

// IsPseudoFS reports whether filesystems of type fstype hold neither
// programs nor user files (procfs, sysfs, cgroups...). The sources leave
// them unmarked, or do not count them as missed when the kernel refuses
// their marks (procfs refuses permission marks). devtmpfs is not in the
// list: /dev can hold files and programs; a source that skips it says so
// itself.
func IsPseudoFS(fstype string) bool { return pseudoFS[fstype] }

var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "pstore": true,
	"configfs": true, "mqueue": true, "fusectl": true, "binfmt_misc": true,
	"efivarfs": true, "nsfs": true, "selinuxfs": true, "autofs": true,
	"rpc_pipefs": true, "nfsd": true, "hugetlbfs": true,
}
