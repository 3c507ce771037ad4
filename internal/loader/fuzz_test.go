package loader

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load, which must never panic: a panic
// in the loader is a bug, and one inside cilium/ebpf or debug/elf must come
// back as a *ParserPanicError. Run with:
//
//	go test -run XXX -fuzz FuzzLoad -fuzztime 5m ./internal/loader/
//
// With LOADER_FUZZ_PANIC_LOG=FILE, recovered parser panics are appended to
// FILE (value and stack) so that they can be reported upstream; a recovered
// panic that started in ebpfhost's own code fails the run.
func FuzzLoad(f *testing.F) {
	objs, err := filepath.Glob("testdata/*.o")
	if err != nil || len(objs) == 0 {
		f.Fatalf("no objects in testdata: %v", err)
	}
	for _, obj := range objs {
		data := readFile(f, obj)
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:64])
	}
	f.Add([]byte{})
	f.Add([]byte(elfMagic))
	f.Add([]byte("MZ\x90\x00"))
	f.Add([]byte("int main(void) { return 0; }\n"))

	panicLog := os.Getenv("LOADER_FUZZ_PANIC_LOG")
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := Load(bytes.NewReader(b), "fuzz.o")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.o: ") {
				t.Fatalf("error %q does not start with the file name", err)
			}
			var pe *ParserPanicError
			if errors.As(err, &pe) {
				if ours(pe.Stack) {
					t.Fatalf("panic in ebpfhost code: %v\n%s", pe.Value, pe.Stack)
				}
				if panicLog != "" {
					logPanic(t, panicLog, pe, b)
				}
			}
			return
		}
		checkInvariants(t, cs)
	})
}

// ours reports whether the function that panicked, the first frame after
// the runtime's panic machinery, belongs to ebpfhost.
func ours(stack []byte) bool {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			for _, next := range lines[i+1:] {
				if strings.HasPrefix(next, "\t") || strings.HasPrefix(next, "runtime.") {
					continue
				}
				return strings.HasPrefix(next, "github.com/ebpfhost/")
			}
		}
	}
	return false
}

func logPanic(t *testing.T, path string, pe *ParserPanicError, input []byte) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "=== %v (while %s), input %d bytes %q\n%s\n", pe.Value, pe.What, len(input), input, pe.Stack)
}

func TestOurs(t *testing.T) {
	stack := "goroutine 1 [running]:\nruntime/debug.Stack()\n\t/x.go:1\npanic({0x1, 0x2})\n\t/p.go:2\n%s\n\t/y.go:3\n"
	for frame, want := range map[string]bool{
		"github.com/ebpfhost/ebpfhost/isa.Decode(...)":         true,
		"github.com/cilium/ebpf/btf.readTypes(...)":            false,
		"runtime.panicIndex(...)\ndebug/elf.(*File).Symbols()": false,
	} {
		if got := ours([]byte(fmt.Sprintf(stack, frame))); got != want {
			t.Errorf("ours(%q) = %v, want %v", frame, got, want)
		}
	}
}
