package fanotify

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo (proc(5)): "id parent
// major:minor root point options [optional...] - fstype source super".
type mount struct {
	ID           int
	Major, Minor uint32
	Root         string // the directory of the filesystem mounted here ("/" for a whole filesystem)
	Point        string // where, relative to this process's root
	FSType       string
}

// parseMountinfo reads the mount table; lines it cannot parse are skipped.
func parseMountinfo(data string) []mount {
	var out []mount
	for line := range strings.SplitSeq(data, "\n") {
		f := strings.Fields(line)
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
			ID: id, Major: uint32(ma), Minor: uint32(mi),
			Root: unescapeOctal(f[3]), Point: unescapeOctal(f[4]), FSType: f[sep+1],
		})
	}
	return out
}

// unescapeOctal undoes the kernel's \ooo escapes (space, tab, newline,
// backslash) in mountinfo paths.
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

// pseudoFS lists filesystem types that hold no user files: they are not
// marked when the source watches every filesystem (most refuse the marks
// anyway, and reading /proc would otherwise report the source to itself).
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "pstore": true,
	"configfs": true, "mqueue": true, "fusectl": true, "binfmt_misc": true,
	"efivarfs": true, "nsfs": true, "selinuxfs": true, "autofs": true,
	"rpc_pipefs": true, "nfsd": true, "hugetlbfs": true, "devtmpfs": true,
}

// under reports whether p is dir or inside it (both clean and absolute).
func under(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir) && p[len(dir)] == '/'
}

// underAny reports whether p is under one of dirs; no dirs means
// everywhere.
func underAny(p string, dirs []string) bool {
	if len(dirs) == 0 {
		return true
	}
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}

// cleanPaths makes the watched paths absolute and clean, and drops those
// inside another.
func cleanPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		p, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		// Events name files by their real paths.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		} else if !os.IsNotExist(err) {
			return nil, err
		}
		out = append(out, p)
	}
	slices.Sort(out)
	var kept []string
	for _, p := range out {
		if len(kept) == 0 || !underAny(p, kept) {
			kept = append(kept, p)
		}
	}
	return kept, nil
}
