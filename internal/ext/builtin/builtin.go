// Package builtin lists the extensions that ship with ebpfhost, so that
// the runtime registers them and tools that only verify (ebpfhost verify)
// know the same program types without starting a runtime.
package builtin

import (
	"context"

	"github.com/ebpfhost/ebpfhost/internal/core"
	"github.com/ebpfhost/ebpfhost/internal/ext/file"
	"github.com/ebpfhost/ebpfhost/internal/ext/process"
	"github.com/ebpfhost/ebpfhost/internal/ext/xdp"
	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// Set is one instance of each built-in extension. Extensions keep state
// (their hooks' links), so each runtime gets its own Set.
type Set struct {
	XDP     *core.Extension
	Process *process.Extension
	File    *file.Extension
}

// New returns a fresh set of the built-in extensions.
func New() *Set {
	return &Set{
		XDP:     &core.Extension{Name: "xdp", ProgramTypes: []*core.ProgramType{xdp.Type()}},
		Process: process.New(),
		File:    file.New(),
	}
}

// Extensions returns the set's extensions in registration order.
func (s *Set) Extensions() []*core.Extension {
	return []*core.Extension{s.XDP, s.Process.Core(), s.File.Core()}
}

// Register registers every extension of the set in rt; on error none stays
// registered.
func (s *Set) Register(rt *core.Runtime) error {
	var done []string
	for _, x := range s.Extensions() {
		if err := rt.RegisterExtension(x); err != nil {
			for _, n := range done {
				rt.UnregisterExtension(context.Background(), n) // nothing is attached yet
			}
			return err
		}
		done = append(done, x.Name)
	}
	return nil
}

// Registry returns a registry with the built-in program types and attach
// types, for verifying objects without a runtime.
func Registry() *progtype.Registry {
	r := progtype.NewRegistry()
	for _, x := range New().Extensions() {
		for _, t := range x.ProgramTypes {
			if err := r.Register(t.ProgramType); err != nil {
				panic("builtin: " + err.Error())
			}
		}
		for _, a := range x.AttachTypes {
			if err := r.RegisterAttachType(a.AttachType); err != nil {
				panic("builtin: " + err.Error())
			}
		}
	}
	return r
}
