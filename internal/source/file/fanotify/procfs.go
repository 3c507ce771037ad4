package fanotify

import (
	"strconv"
	"strings"

	"github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"
)

// statusFields are what the source takes from /proc/<tid>/status: the
// thread group id, parent, and real user and group ids.
const statusFields = fanotifyx.StatusTgid | fanotifyx.StatusPPid | fanotifyx.StatusUID | fanotifyx.StatusGID

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
