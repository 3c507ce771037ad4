// Package progtype is the program-information store of ebpfhost: what the
// loader, the verifier and the runtime know about a program type without
// running anything. It plays the role of eBPF for Windows' program
// information providers: a program type has a name, GUID and numeric id, the
// ELF section prefixes that select it, a context descriptor, and the
// prototypes of the helpers its programs may call beyond the general ones.
//
// Everything here is plain data so that it can be exported to disk and
// verified by a process that does not host the extension.
package progtype

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ArgType classifies a helper argument the way eBPF for Windows and PREVAIL
// do; the verifier checks each argument against it.
type ArgType uint8

// Argument types.
const (
	ArgNone                   ArgType = iota // no argument at this position
	ArgAnything                              // any scalar or pointer
	ArgConstSize                             // size, > 0, of the preceding memory argument
	ArgConstSizeOrZero                       // size, >= 0, of the preceding memory argument
	ArgPtrToCtx                              // the program's context
	ArgPtrToMap                              // a map
	ArgPtrToMapOfPrograms                    // a prog_array map
	ArgPtrToMapKey                           // readable memory of the map's key size
	ArgPtrToMapValue                         // readable memory of the map's value size
	ArgPtrToReadableMem                      // readable memory of the size in the next argument
	ArgPtrToReadableMemOrNull                // the same, or NULL
	ArgPtrToWritableMem                      // writable memory of the size in the next argument
	ArgPtrToWritableMemOrNull                // the same, or NULL
	ArgPtrToFunc                             // a function of the program (a callback)
	ArgPtrToAllocMem                         // memory a helper allocated (a ring buffer reservation)
	ArgPtrToConstStr                         // a NUL-terminated string in read-only memory
)

var argNames = [...]string{
	"none", "anything", "const_size", "const_size_or_zero", "ptr_to_ctx", "ptr_to_map",
	"ptr_to_map_of_programs", "ptr_to_map_key", "ptr_to_map_value", "ptr_to_readable_mem",
	"ptr_to_readable_mem_or_null", "ptr_to_writable_mem", "ptr_to_writable_mem_or_null",
	"ptr_to_func", "ptr_to_alloc_mem", "ptr_to_const_str",
}

func (a ArgType) String() string {
	if int(a) < len(argNames) {
		return argNames[a]
	}
	return fmt.Sprintf("arg_type(%d)", uint8(a))
}

// RetType classifies what a helper returns.
type RetType uint8

// Return types.
const (
	RetInteger             RetType = iota // a number
	RetVoid                               // nothing meaningful
	RetPtrToMapValueOrNull                // a map value of the map argument, or NULL (for map-in-map: an inner map)
	RetPtrToAllocMemOrNull                // memory of the size given by the size argument, or NULL
)

var retNames = [...]string{"integer", "void", "ptr_to_map_value_or_null", "ptr_to_alloc_mem_or_null"}

func (r RetType) String() string {
	if int(r) < len(retNames) {
		return retNames[r]
	}
	return fmt.Sprintf("ret_type(%d)", uint8(r))
}

// HelperProto is what the verifier knows about a helper.
type HelperProto struct {
	ID   int32
	Name string
	Ret  RetType
	Args []ArgType // up to five, r1 first
	// ChangesPacket helpers may move or resize the packet
	// (bpf_xdp_adjust_head, bpf_skb_store_bytes, ...): every packet
	// pointer a program holds is invalid after the call.
	ChangesPacket bool
}

// ContextDescriptor describes a program type's context (what r1 points to
// on entry): its size and where, if anywhere, the pointers to the start and
// end of its variable-length data and metadata sit. Offsets are -1 when
// absent. PointerSize is the width of those fields (8 for native contexts,
// 4 for Linux contexts such as xdp_md whose fields are 32-bit).
type ContextDescriptor struct {
	Size        int
	Data        int
	End         int
	Meta        int
	PointerSize int
	// Writable lists the fields programs may store numbers into (tc's
	// skb->mark, sock_ops' reply); the rest of the context is read-only.
	Writable []Range
	// MaxData, when not 0, is the most bytes the data region [data, end)
	// ever spans; the runtime must never hand a program more. The
	// verifier then knows end - data is in [0, MaxData], so a length a
	// program computes from the two pointers has a proven bound.
	MaxData uint32
}

// Range is a byte range of a context.
type Range struct{ Offset, Size int }

// IsWritable reports whether [off, off+size) lies inside one writable field.
func (c *ContextDescriptor) IsWritable(off, size int) bool {
	for _, r := range c.Writable {
		if off >= r.Offset && off+size <= r.Offset+r.Size {
			return true
		}
	}
	return false
}

// ProgramType is one program type.
type ProgramType struct {
	Name string
	// GUID identifies the type across platforms (eBPF for Windows' program
	// type GUID); empty for Linux-only types.
	GUID string
	// ID is the numeric type: Linux's enum bpf_prog_type value for Linux
	// types, or a value from 0x10000 up for ebpfhost's own.
	ID uint32
	// SectionPrefixes select the type for an ELF section: a prefix "xdp"
	// matches "xdp" and "xdp/anything"; a prefix ending in "/" matches any
	// section that starts with it.
	SectionPrefixes []string
	Context         ContextDescriptor
	// Helpers are the program-type-specific helpers (ids from 0x10000) in
	// addition to the general ones.
	Helpers []HelperProto
	// ReturnMin and ReturnMax bound what a program of this type may return
	// (inclusive, as signed 64-bit values); both zero means any value.
	ReturnMin, ReturnMax int64
}

// Matches reports whether section selects this program type.
func (t *ProgramType) Matches(section string) bool {
	for _, p := range t.SectionPrefixes {
		if matchPrefix(p, section) {
			return true
		}
	}
	return false
}

func matchPrefix(prefix, section string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(section, prefix)
	}
	return section == prefix || strings.HasPrefix(section, prefix+"/")
}

// Helper returns the prototype of helper id for programs of this type:
// the type's own helpers first, then the general ones.
func (t *ProgramType) Helper(id int32) (HelperProto, bool) {
	for _, h := range t.Helpers {
		if h.ID == id {
			return h, true
		}
	}
	return GeneralHelper(id)
}

// AttachType is a hook programs of one program type attach to (eBPF for
// Windows' attach type, provided by a hook provider).
type AttachType struct {
	Name string
	// GUID identifies the attach type across platforms; empty when it has
	// none.
	GUID string
	// ProgramType names the program type whose programs attach here.
	ProgramType string
	// SectionPrefixes, when set, select this attach type for programs of
	// those sections; otherwise it is the default for its program type
	// when it is the only one.
	SectionPrefixes []string
}

// Registry maps sections to program types and attach types. Extensions
// register their types in it; it is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	types   map[string]*ProgramType
	attachs map[string]*AttachType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]*ProgramType{}, attachs: map[string]*AttachType{}}
}

// RegisterAttachType adds an attach type. Its name and GUID must be new and
// its program type registered.
func (r *Registry) RegisterAttachType(a *AttachType) error {
	if a.Name == "" || a.ProgramType == "" {
		return fmt.Errorf("attach type needs a name and a program type")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.types[a.ProgramType]; !ok {
		return fmt.Errorf("attach type %q: program type %q is not registered", a.Name, a.ProgramType)
	}
	for _, o := range r.attachs {
		switch {
		case o.Name == a.Name:
			return fmt.Errorf("attach type %q is already registered", a.Name)
		case a.GUID != "" && o.GUID == a.GUID:
			return fmt.Errorf("attach type %q: GUID %s is already used by %q", a.Name, a.GUID, o.Name)
		}
	}
	r.attachs[a.Name] = a
	return nil
}

// UnregisterAttachType removes an attach type.
func (r *Registry) UnregisterAttachType(name string) {
	r.mu.Lock()
	delete(r.attachs, name)
	r.mu.Unlock()
}

// AttachTypes returns the registered attach types sorted by name.
func (r *Registry) AttachTypes() []*AttachType {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*AttachType, 0, len(r.attachs))
	for _, a := range r.attachs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AttachTypeByName returns a registered attach type.
func (r *Registry) AttachTypeByName(name string) (*AttachType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.attachs[name]
	return a, ok
}

// AttachTypeFor returns the attach type a program of type progType from
// section attaches to by default: the one whose section prefix matches, or
// else the only attach type of the program type.
func (r *Registry) AttachTypeFor(progType, section string) (*AttachType, bool) {
	var only *AttachType
	n := 0
	for _, a := range r.AttachTypes() {
		if a.ProgramType != progType {
			continue
		}
		for _, p := range a.SectionPrefixes {
			if matchPrefix(p, section) {
				return a, true
			}
		}
		only = a
		n++
	}
	return only, n == 1
}

// Register adds a program type. Its name, id and GUID must be new, and none
// of its section prefixes may be claimed by another type already.
func (r *Registry) Register(t *ProgramType) error {
	if t.Name == "" || len(t.SectionPrefixes) == 0 {
		return fmt.Errorf("program type needs a name and at least one section prefix")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.types {
		switch {
		case o.Name == t.Name:
			return fmt.Errorf("program type %q is already registered", t.Name)
		case o.ID == t.ID:
			return fmt.Errorf("program type %q: id %d is already used by %q", t.Name, t.ID, o.Name)
		case t.GUID != "" && o.GUID == t.GUID:
			return fmt.Errorf("program type %q: GUID %s is already used by %q", t.Name, t.GUID, o.Name)
		}
		for _, p := range t.SectionPrefixes {
			for _, q := range o.SectionPrefixes {
				if p == q {
					return fmt.Errorf("program type %q: section prefix %q is already claimed by %q", t.Name, p, o.Name)
				}
			}
		}
	}
	r.types[t.Name] = t
	return nil
}

// Unregister removes a program type.
func (r *Registry) Unregister(name string) {
	r.mu.Lock()
	delete(r.types, name)
	r.mu.Unlock()
}

// ForSection returns the program type a section selects. When several
// prefixes match, the longest wins ("xdp/frags" over "xdp").
func (r *Registry) ForSection(section string) (*ProgramType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *ProgramType
	bestLen := -1
	for _, t := range r.types {
		for _, p := range t.SectionPrefixes {
			if matchPrefix(p, section) && len(p) > bestLen {
				best, bestLen = t, len(p)
			}
		}
	}
	return best, best != nil
}

// ByName returns a registered program type.
func (r *Registry) ByName(name string) (*ProgramType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Types returns the registered program types sorted by name.
func (r *Registry) Types() []*ProgramType {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*ProgramType, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Sections lists the section prefixes of every registered type, for error
// messages that tell users what would have worked.
func (r *Registry) Sections() []string {
	var out []string
	for _, t := range r.Types() {
		out = append(out, t.SectionPrefixes...)
	}
	sort.Strings(out)
	return out
}

// MarshalText writes an argument type by name, so that stored program
// information stays readable and survives renumbering.
func (a ArgType) MarshalText() ([]byte, error) {
	if int(a) >= len(argNames) {
		return nil, fmt.Errorf("unknown helper argument type %d", uint8(a))
	}
	return []byte(argNames[a]), nil
}

// UnmarshalText reads an argument type by name.
func (a *ArgType) UnmarshalText(b []byte) error {
	for i, n := range argNames {
		if n == string(b) {
			*a = ArgType(i)
			return nil
		}
	}
	return fmt.Errorf("unknown helper argument type %q (known: %s)", b, strings.Join(argNames[:], ", "))
}

// MarshalText writes a return type by name.
func (r RetType) MarshalText() ([]byte, error) {
	if int(r) >= len(retNames) {
		return nil, fmt.Errorf("unknown helper return type %d", uint8(r))
	}
	return []byte(retNames[r]), nil
}

// UnmarshalText reads a return type by name.
func (r *RetType) UnmarshalText(b []byte) error {
	for i, n := range retNames {
		if n == string(b) {
			*r = RetType(i)
			return nil
		}
	}
	return fmt.Errorf("unknown helper return type %q (known: %s)", b, strings.Join(retNames[:], ", "))
}
