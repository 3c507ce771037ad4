package fanotify

import "github.com/ebpfhost/ebpfhost/internal/source/file"

// step is one operation a notification stands for. The kernel merges
// events on the same name by the same process while they wait to be read,
// so one record can say "created, written, closed and deleted"; steps
// puts those in the only order they can have happened in.
type step uint8

const (
	stepCreate step = iota + 1
	stepMovedTo
	stepOpen
	stepAccess
	stepModify
	stepAttrib
	stepClose
	stepMovedFrom
	stepDelete
	stepRename // FAN_RENAME: both names in one record, never merged
)

// steps lists what mask says happened, in order. With FAN_REPORT_TARGET_FID
// only events on the same inode merge, so a name created and deleted
// (CREATE|DELETE) was created first; without it the order of a create and
// a delete of the same name by one process is a guess (create first).
// Opens, reads, writes and closes of directories (listing them) are left
// out.
func steps(mask uint64) []step {
	if mask&fanRename != 0 {
		return []step{stepRename}
	}
	dir := mask&fanOnDir != 0
	var out []step
	add := func(bit uint64, s step, onDir bool) {
		if mask&bit != 0 && (onDir || !dir) {
			out = append(out, s)
		}
	}
	add(fanCreate, stepCreate, true)
	add(fanMovedTo, stepMovedTo, true)
	add(fanOpen, stepOpen, false)
	add(fanAccess, stepAccess, false)
	add(fanModify, stepModify, false)
	add(fanAttrib, stepAttrib, true)
	add(fanCloseWrite|fanCloseNoWrite, stepClose, false)
	add(fanMovedFrom, stepMovedFrom, true)
	add(fanDelete, stepDelete, true)
	return out
}

// stepOp is the file operation of a step; moves are Renames.
func stepOp(s step, dir bool) file.Op {
	switch s {
	case stepCreate:
		if dir {
			return file.Mkdir
		}
		return file.Create
	case stepOpen:
		return file.Open
	case stepAccess:
		return file.Read
	case stepModify:
		return file.Write
	case stepAttrib:
		return file.Setattr
	case stepClose:
		return file.Close
	case stepDelete:
		if dir {
			return file.Rmdir
		}
		return file.Unlink
	}
	return file.Rename
}
