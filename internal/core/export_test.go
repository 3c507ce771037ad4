package core

import "github.com/ebpfhost/ebpfhost/internal/loader"

// LoadUnverified loads a collection without the verifier, for tests of the
// checks the runtime makes itself in checked mode.
func LoadUnverified(rt *Runtime, spec *loader.CollectionSpec) (*Collection, error) {
	return rt.loadCollection(spec, false)
}
