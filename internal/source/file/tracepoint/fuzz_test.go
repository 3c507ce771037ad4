package tracepoint

import (
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// FuzzDecode: no ring buffer record, however malformed, makes the decoder
// panic, and its table of operations in flight stays bounded by what it
// was given.
func FuzzDecode(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newDecoder()
		var ev file.Event
		d.decode(b, &ev)
		d.decode(b, &ev)
	})
}
