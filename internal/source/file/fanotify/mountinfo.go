package fanotify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// mount is a line of /proc/self/mountinfo (see fanotifyx.ParseMountinfo).
type mount = fanotifyx.Mount

// pseudoFS reports the filesystem types that hold no user files: they are
// not marked when the source watches every filesystem (most refuse the
// marks anyway, and reading /proc would otherwise report the source to
// itself). devtmpfs joins the shared list here: /dev holds device nodes,
// not the files this source reports.
func pseudoFS(fstype string) bool {
	return fanotifyx.IsPseudoFS(fstype) || fstype == "devtmpfs"
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
