package store

import (
	"testing"

	"github.com/ebpfhost/ebpfhost/internal/ext/builtin"
)

// FuzzDecode: no stored file, however malformed, makes the reader panic,
// and whatever it accepts encodes again to a file it reads the same.
func FuzzDecode(f *testing.F) {
	for _, x := range builtin.New().Extensions() {
		for _, t := range x.ProgramTypes {
			w, err := progTypeToWire(t.ProgramType)
			if err != nil {
				f.Fatal(err)
			}
			b, err := encode(KindProgramType, Origin{Extension: x.Name, ExportedBy: "fuzz"}, w, nil)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
		for _, a := range x.AttachTypes {
			b, err := encode(KindAttachType, Origin{Extension: x.Name, ExportedBy: "fuzz"}, nil, attachToWire(a.AttachType))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decode(data)
		if err != nil {
			return
		}
		if e.ProgramType != nil {
			w, err := progTypeToWire(e.ProgramType)
			if err != nil {
				t.Fatalf("accepted a program type it cannot write: %v", err)
			}
			b, err := encode(KindProgramType, Origin{}, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := decode(b)
			if err != nil || !Equal(e.ProgramType, e2.ProgramType) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
