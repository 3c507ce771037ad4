package tracepoint

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

// The record the kernel program sends (struct record in bpf/process.c).
// Offsets are checked against the object's BTF by a test.
const (
	offTime       = 0
	offKind       = 8
	offFlags      = 9
	offImageLen   = 10
	offArgvLen    = 12
	offPID        = 16
	offPPID       = 20
	offCreatorPID = 24
	offCreatorTID = 28
	offUID        = 32
	offStatus     = 36
	offData       = 40

	recExec = 1
	recExit = 2

	flagArgvTruncated = 1 << 0
	flagArgvFault     = 1 << 1
	flagImageFilename = 1 << 2
	flagCreator       = 1 << 3

	// argvMax is ARGV_MAX in process.c: the bytes of command line sent per exec.
	argvMax = 32 << 10
)

// live is what the decoder remembers about a process between its exec and
// its exit, so that Exit events can name the image and its start.
type live struct {
	image   string
	created time.Time
}

// decoder turns records into events. It belongs to one Run, on one
// goroutine, so it needs no locks.
type decoder struct {
	// bootToWall is added to the kernel's boot clock to get Unix time in
	// nanoseconds.
	bootToWall func() int64
	// images interns image paths: the same few executables start over and
	// over, and sharing their strings keeps decoding to one allocation per
	// event plus the command line.
	images map[string]string
	// procs remembers live processes by pid.
	procs map[uint32]live
	// truncated counts command lines cut at argvMax.
	truncated func()
}

// Both maps are bounded: a lost Exit record would otherwise leave a procs
// entry behind forever. Clearing them only costs some Images on later Exits
// and a few repeated allocations.
const (
	maxImages = 4096
	maxProcs  = 1 << 17
)

func newDecoder(bootToWall func() int64, truncated func()) *decoder {
	return &decoder{
		bootToWall: bootToWall,
		images:     make(map[string]string),
		procs:      make(map[uint32]live),
		truncated:  truncated,
	}
}

// decode fills ev from one record and reports whether it was a record of a
// known kind and size.
func (d *decoder) decode(raw []byte, ev *process.Event) bool {
	if len(raw) < offData {
		return false
	}
	le := binary.LittleEndian
	imageLen := int(le.Uint16(raw[offImageLen:]))
	argvLen := int(le.Uint32(raw[offArgvLen:]))
	if len(raw) < offData+imageLen+argvLen {
		return false
	}
	flags := raw[offFlags]
	t := time.Unix(0, int64(le.Uint64(raw[offTime:]))+d.bootToWall())
	*ev = process.Event{
		PID:  le.Uint32(raw[offPID:]),
		PPID: le.Uint32(raw[offPPID:]),
		UID:  le.Uint32(raw[offUID:]),
	}
	if flags&flagCreator != 0 {
		ev.CreatorPID = le.Uint32(raw[offCreatorPID:])
		ev.CreatorTID = le.Uint32(raw[offCreatorTID:])
	}
	switch raw[offKind] {
	case recExec:
		ev.Op = process.Create
		ev.Created = t
		data := raw[offData:]
		ev.Image = d.image(ev.PID, data[:imageLen], flags&flagImageFilename != 0)
		if flags&flagArgvFault == 0 {
			ev.Argv = splitArgv(data[imageLen : imageLen+argvLen])
		}
		if flags&flagArgvTruncated != 0 {
			d.truncated()
		}
		if len(d.procs) >= maxProcs {
			clear(d.procs)
		}
		d.procs[ev.PID] = live{image: ev.Image, created: t}
	case recExit:
		ev.Op = process.Exit
		ev.Exited = t
		status := le.Uint32(raw[offStatus:])
		if sig := status & 0x7f; sig != 0 {
			ev.Signal = sig
			ev.ExitCode = 128 + sig
		} else {
			ev.ExitCode = status >> 8 & 0xff
		}
		if p, ok := d.procs[ev.PID]; ok {
			ev.Image = p.image
			ev.Created = p.created
			delete(d.procs, ev.PID)
		}
	default:
		return false
	}
	return true
}

// image returns the executable's path as a shared string. name is the
// kernel's resolved path, or, when fromFilename is set, the name execve was
// given, which may be relative: that is made absolute from /proc while the
// process still exists.
func (d *decoder) image(pid uint32, name []byte, fromFilename bool) string {
	if fromFilename && !filepath.IsAbs(string(name)) {
		dir := "/proc/" + strconv.FormatUint(uint64(pid), 10)
		if exe, err := os.Readlink(dir + "/exe"); err == nil && filepath.IsAbs(exe) {
			return d.intern([]byte(exe))
		}
		if cwd, err := os.Readlink(dir + "/cwd"); err == nil && filepath.IsAbs(cwd) {
			return d.intern([]byte(filepath.Join(cwd, string(name))))
		}
	}
	return d.intern(name)
}

func (d *decoder) intern(b []byte) string {
	if s, ok := d.images[string(b)]; ok {
		return s
	}
	if len(d.images) >= maxImages {
		clear(d.images)
	}
	s := string(b)
	d.images[s] = s
	return s
}

// splitArgv splits the NUL-separated command line into arguments sharing
// one string. The final NUL ends the last argument; a command line cut at
// argvMax has none, and its last argument is the part that fit.
func splitArgv(b []byte) []string {
	if len(b) == 0 {
		return []string{}
	}
	b = bytes.TrimSuffix(b, []byte{0})
	all := string(b)
	argv := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for {
		i := strings.IndexByte(all, 0)
		if i < 0 {
			return append(argv, all)
		}
		argv = append(argv, all[:i])
		all = all[i+1:]
	}
}
