// Package builtin lists the program types that ship with ebpfhost, so that
// the runtime registers them and tools that only verify (ebpfhost verify)
// know the same types without starting a runtime.
package builtin

import (
	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/xdp"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// ProgramTypes returns the built-in program types.
func ProgramTypes() []*core.ProgramType {
	return []*core.ProgramType{xdp.Type()}
}

// Registry returns a registry with the built-in program types' information,
// for verifying objects without a runtime.
func Registry() *progtype.Registry {
	r := progtype.NewRegistry()
	for _, t := range ProgramTypes() {
		if err := r.Register(t.ProgramType); err != nil {
			panic("builtin: " + err.Error())
		}
	}
	return r
}
