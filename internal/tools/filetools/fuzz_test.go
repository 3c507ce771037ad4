package filetools

import "testing"

// FuzzDecode: no ring buffer record, however malformed, makes the decoder
// panic.
func FuzzDecode(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b)
	})
}
