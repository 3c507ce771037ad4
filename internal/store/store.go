// Package store is ebpfhost's program-information store: the program types
// and attach types of the extensions a host runs, written to a directory so
// that a process that does not host those extensions (ebpfhost verify, or
// any other tool) can still verify objects for them. It plays the role of
// eBPF for Windows' eBPF store and of ntosebpfext's export_program_info
// tool.
//
// # On disk
//
// The store is a directory (DefaultDir unless $EBPFHOST_STORE or the caller
// names another) holding one JSON file per program type,
// "program-type.NAME.json", and one per attach type,
// "attach-type.NAME.json" (NAME with bytes outside [A-Za-z0-9._-] written
// as %XX). Every file carries the format version, its kind, and who wrote
// it:
//
//	{
//	  "format": 1,
//	  "kind": "program_type",
//	  "extension": "process",
//	  "exported_by": "ebpfhost 0.1.0-dev",
//	  "program_type": {
//	    "name": "process",
//	    "guid": "22ea7b37-1043-4d0d-b60d-cafa1c7b638e",
//	    "id": 65537,
//	    "section_prefixes": ["process"],
//	    "context": {"size": 144, "data": 0, "end": 8, "meta": -1, "pointer_size": 8, "writable": [], "max_data": 0},
//	    "helpers": [
//	      {"id": 65536, "name": "bpf_process_get_image_path", "return": "integer",
//	       "args": ["ptr_to_ctx", "ptr_to_writable_mem", "const_size"], "changes_packet": false}
//	    ],
//	    "return_min": 0,
//	    "return_max": 0
//	  }
//	}
//
//	{
//	  "format": 1,
//	  "kind": "attach_type",
//	  "extension": "process",
//	  "exported_by": "ebpfhost 0.1.0-dev",
//	  "attach_type": {
//	    "name": "process",
//	    "guid": "66e20687-9805-4458-a0db-38e220d31685",
//	    "program_type": "process",
//	    "section_prefixes": ["process"]
//	  }
//	}
//
// Argument and return types are written by name (progtype's MarshalText),
// so files stay readable and survive renumbering. Every field is written
// and every field is required when reading: a missing field is an error,
// never a zero (a missing "meta" read as 0 would grant a context field).
// Unknown fields and unknown format versions are errors too, since a field
// this reader does not know could be a restriction it would fail to apply.
//
// Files are replaced atomically (a temporary file in the same directory,
// synced, then renamed over the old one), so a reader sees the old file or
// the new one, never a mix. Program types are written before the attach
// types that name them, and Clear removes attach types first.
//
// Helper implementations are code and are not stored: a program type read
// from the store is for verification only.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/progtype"
)

// FormatVersion is the version of the file format this package writes and
// the only one it reads.
const FormatVersion = 1

// DefaultDir is where the store lives unless EnvDir or the caller names
// another directory.
const DefaultDir = "/var/lib/ebpfhost/store"

// EnvDir is the environment variable that overrides DefaultDir.
const EnvDir = "EBPFHOST_STORE"

// maxFileSize bounds what Load reads from one file; stored program
// information is a few kilobytes.
const maxFileSize = 4 << 20

// maxNameLen bounds type names, so that file names stay under the usual
// 255-byte limit even when every byte is escaped.
const maxNameLen = 80

// Dir returns the store directory to use when the caller names none:
// $EBPFHOST_STORE when set, else DefaultDir.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// Kind is what a store file holds.
type Kind string

// Kinds of store files.
const (
	KindProgramType Kind = "program_type"
	KindAttachType  Kind = "attach_type"
)

func (k Kind) String() string {
	switch k {
	case KindProgramType:
		return "program type"
	case KindAttachType:
		return "attach type"
	}
	return string(k)
}

func (k Kind) filePrefix() string {
	if k == KindAttachType {
		return "attach-type."
	}
	return "program-type."
}

// Origin says who exported an entry. Both fields are informational.
type Origin struct {
	// Extension is the extension that registers the type in its host.
	Extension string
	// ExportedBy names the program that wrote the file ("ebpfhost 0.1.0").
	ExportedBy string
}

// Entry is one stored program type or attach type.
type Entry struct {
	Kind Kind
	Name string
	File string // the file's path
	Origin
	ProgramType *progtype.ProgramType // set for KindProgramType
	AttachType  *progtype.AttachType  // set for KindAttachType
}

// FileError is a store file that could not be read or is malformed.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("store file %s: %v", e.File, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// The JSON documents. Their field names are the on-disk format: changing
// one changes FormatVersion.
type fileDoc struct {
	Format      int           `json:"format"`
	Kind        Kind          `json:"kind"`
	Extension   string        `json:"extension"`
	ExportedBy  string        `json:"exported_by"`
	ProgramType *wireProgType `json:"program_type,omitempty"`
	AttachType  *wireAttach   `json:"attach_type,omitempty"`
}

type wireProgType struct {
	Name            string       `json:"name"`
	GUID            string       `json:"guid"`
	ID              uint32       `json:"id"`
	SectionPrefixes []string     `json:"section_prefixes"`
	Context         wireContext  `json:"context"`
	Helpers         []wireHelper `json:"helpers"`
	ReturnMin       int64        `json:"return_min"`
	ReturnMax       int64        `json:"return_max"`
}

type wireContext struct {
	Size        int         `json:"size"`
	Data        int         `json:"data"`
	End         int         `json:"end"`
	Meta        int         `json:"meta"`
	PointerSize int         `json:"pointer_size"`
	Writable    []wireRange `json:"writable"`
	MaxData     uint32      `json:"max_data"`
}

type wireRange struct {
	Offset int `json:"offset"`
	Size   int `json:"size"`
}

type wireHelper struct {
	ID            int32    `json:"id"`
	Name          string   `json:"name"`
	Return        string   `json:"return"`
	Args          []string `json:"args"`
	ChangesPacket bool     `json:"changes_packet"`
}

type wireAttach struct {
	Name            string   `json:"name"`
	GUID            string   `json:"guid"`
	ProgramType     string   `json:"program_type"`
	SectionPrefixes []string `json:"section_prefixes"`
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// orNil makes empty lists decode as nil, whatever the file said.
func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func progTypeToWire(t *progtype.ProgramType) (*wireProgType, error) {
	w := &wireProgType{
		Name: t.Name, GUID: t.GUID, ID: t.ID,
		SectionPrefixes: nonNil(append([]string(nil), t.SectionPrefixes...)),
		Context: wireContext{
			Size: t.Context.Size, Data: t.Context.Data, End: t.Context.End, Meta: t.Context.Meta,
			PointerSize: t.Context.PointerSize, Writable: []wireRange{}, MaxData: t.Context.MaxData,
		},
		Helpers:   []wireHelper{},
		ReturnMin: t.ReturnMin, ReturnMax: t.ReturnMax,
	}
	for _, r := range t.Context.Writable {
		w.Context.Writable = append(w.Context.Writable, wireRange{r.Offset, r.Size})
	}
	for _, h := range t.Helpers {
		ret, err := h.Ret.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("helper %d (%s): %v", h.ID, h.Name, err)
		}
		wh := wireHelper{ID: h.ID, Name: h.Name, Return: string(ret), Args: []string{}, ChangesPacket: h.ChangesPacket}
		for i, a := range h.Args {
			b, err := a.MarshalText()
			if err != nil {
				return nil, fmt.Errorf("helper %d (%s), argument %d: %v", h.ID, h.Name, i+1, err)
			}
			wh.Args = append(wh.Args, string(b))
		}
		w.Helpers = append(w.Helpers, wh)
	}
	return w, nil
}

func (w *wireProgType) toProgType() (*progtype.ProgramType, error) {
	t := &progtype.ProgramType{
		Name: w.Name, GUID: w.GUID, ID: w.ID,
		SectionPrefixes: orNil(w.SectionPrefixes),
		Context: progtype.ContextDescriptor{
			Size: w.Context.Size, Data: w.Context.Data, End: w.Context.End, Meta: w.Context.Meta,
			PointerSize: w.Context.PointerSize, MaxData: w.Context.MaxData,
		},
		ReturnMin: w.ReturnMin, ReturnMax: w.ReturnMax,
	}
	for _, r := range w.Context.Writable {
		t.Context.Writable = append(t.Context.Writable, progtype.Range{Offset: r.Offset, Size: r.Size})
	}
	for _, wh := range w.Helpers {
		h := progtype.HelperProto{ID: wh.ID, Name: wh.Name, ChangesPacket: wh.ChangesPacket}
		if err := h.Ret.UnmarshalText([]byte(wh.Return)); err != nil {
			return nil, fmt.Errorf("helper %d (%s): %v", wh.ID, wh.Name, err)
		}
		for i, s := range wh.Args {
			var a progtype.ArgType
			if err := a.UnmarshalText([]byte(s)); err != nil {
				return nil, fmt.Errorf("helper %d (%s), argument %d: %v", wh.ID, wh.Name, i+1, err)
			}
			h.Args = append(h.Args, a)
		}
		t.Helpers = append(t.Helpers, h)
	}
	return t, nil
}

func attachToWire(a *progtype.AttachType) *wireAttach {
	return &wireAttach{Name: a.Name, GUID: a.GUID, ProgramType: a.ProgramType,
		SectionPrefixes: nonNil(append([]string(nil), a.SectionPrefixes...))}
}

func (w *wireAttach) toAttach() *progtype.AttachType {
	return &progtype.AttachType{Name: w.Name, GUID: w.GUID, ProgramType: w.ProgramType,
		SectionPrefixes: orNil(w.SectionPrefixes)}
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s has no name", what)
	case len(name) > maxNameLen:
		return fmt.Errorf("%s name %.20q... is longer than %d bytes", what, name, maxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return fmt.Errorf("%s name %q has a control character or invalid UTF-8", what, name)
		}
	}
	return nil
}

func checkGUID(guid string) error {
	if guid != "" && !guidRE.MatchString(guid) {
		return fmt.Errorf("GUID %q is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", guid)
	}
	return nil
}

func checkSections(prefixes []string, need bool) error {
	if need && len(prefixes) == 0 {
		return errors.New("no section prefixes")
	}
	seen := map[string]bool{}
	for _, p := range prefixes {
		if p == "" {
			return errors.New("an empty section prefix")
		}
		if seen[p] {
			return fmt.Errorf("section prefix %q listed twice", p)
		}
		seen[p] = true
	}
	return nil
}

// validateProgType checks what the verifier relies on: the context's
// fields lie inside it, helpers are distinct and take at most five
// arguments, the return range is a range.
func validateProgType(t *progtype.ProgramType) error {
	if err := checkName("program type", t.Name); err != nil {
		return err
	}
	if err := checkGUID(t.GUID); err != nil {
		return err
	}
	if err := checkSections(t.SectionPrefixes, true); err != nil {
		return err
	}
	c := t.Context
	if c.Size < 0 {
		return fmt.Errorf("context size %d is negative", c.Size)
	}
	ptrs := c.Data >= 0 || c.End >= 0 || c.Meta >= 0
	switch {
	case c.PointerSize != 0 && c.PointerSize != 4 && c.PointerSize != 8:
		return fmt.Errorf("context pointer size %d is not 4 or 8", c.PointerSize)
	case ptrs && c.PointerSize == 0:
		return errors.New("context has data pointers but pointer size 0")
	case (c.Data >= 0) != (c.End >= 0):
		return fmt.Errorf("context has data at %d and end at %d: both or neither must be present (-1)", c.Data, c.End)
	}
	for _, f := range []struct {
		name string
		off  int
	}{{"data", c.Data}, {"end", c.End}, {"meta", c.Meta}} {
		if f.off < -1 || f.off >= 0 && f.off+c.PointerSize > c.Size {
			return fmt.Errorf("context field %s at offset %d does not fit a %d-byte pointer in a %d-byte context (use -1 for none)", f.name, f.off, c.PointerSize, c.Size)
		}
	}
	for _, r := range c.Writable {
		if r.Offset < 0 || r.Size <= 0 || r.Offset+r.Size > c.Size {
			return fmt.Errorf("writable context range at offset %d, size %d is not inside the %d-byte context", r.Offset, r.Size, c.Size)
		}
	}
	ids := map[int32]bool{}
	for _, h := range t.Helpers {
		if err := checkName(fmt.Sprintf("helper %d", h.ID), h.Name); err != nil {
			return err
		}
		if ids[h.ID] {
			return fmt.Errorf("helper id %d is listed twice", h.ID)
		}
		ids[h.ID] = true
		if len(h.Args) > 5 {
			return fmt.Errorf("helper %d (%s) has %d arguments; eBPF passes at most 5", h.ID, h.Name, len(h.Args))
		}
	}
	if t.ReturnMin > t.ReturnMax {
		return fmt.Errorf("return range [%d, %d] is empty", t.ReturnMin, t.ReturnMax)
	}
	return nil
}

func validateAttach(a *progtype.AttachType) error {
	if err := checkName("attach type", a.Name); err != nil {
		return err
	}
	if err := checkGUID(a.GUID); err != nil {
		return err
	}
	if err := checkName(fmt.Sprintf("attach type %s: program type", a.Name), a.ProgramType); err != nil {
		return err
	}
	return checkSections(a.SectionPrefixes, false)
}

// escapeName makes a type name safe as part of a file name.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// FileName returns the name of the file that stores the type name of kind.
func FileName(kind Kind, name string) string {
	return kind.filePrefix() + escapeName(name) + ".json"
}

// kindOf returns the kind a file name says it holds.
func kindOf(file string) (Kind, bool) {
	if !strings.HasSuffix(file, ".json") {
		return "", false
	}
	for _, k := range []Kind{KindProgramType, KindAttachType} {
		if strings.HasPrefix(file, k.filePrefix()) && len(file) > len(k.filePrefix())+len(".json") {
			return k, true
		}
	}
	return "", false
}

// tempPrefix starts the names of files being written; List ignores them
// and Clear removes them once they are old.
func tempPrefix(file string) string { return "." + file + ".tmp-" }

func isTemp(file string) bool {
	if !strings.HasPrefix(file, ".") {
		return false
	}
	i := strings.LastIndex(file, ".tmp-")
	if i < 0 {
		return false
	}
	_, ok := kindOf(file[1:i])
	return ok
}

func encode(kind Kind, o Origin, pt *wireProgType, at *wireAttach) ([]byte, error) {
	doc := fileDoc{Format: FormatVersion, Kind: kind, Extension: o.Extension, ExportedBy: o.ExportedBy, ProgramType: pt, AttachType: at}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Export writes types and attachs to the store in dir (created when
// missing), replacing stored types of the same names. See ExportWith.
func Export(dir string, types []*progtype.ProgramType, attachs []*progtype.AttachType) error {
	_, err := ExportWith(dir, Origin{}, types, attachs)
	return err
}

// ExportWith writes types and attachs to the store in dir, recording o in
// each file, and returns the entries written. Everything is checked before
// anything is written; each file then replaces its predecessor atomically.
// Program types are written before attach types. Stored types of other
// names are left alone.
func ExportWith(dir string, o Origin, types []*progtype.ProgramType, attachs []*progtype.AttachType) ([]Entry, error) {
	type pending struct {
		e    Entry
		data []byte
	}
	var todo []pending
	names := map[string]bool{}
	bad := func(kind Kind, name string, err error) error {
		if o.Extension != "" {
			return fmt.Errorf("extension %s: %s %q: %v", o.Extension, kind, name, err)
		}
		return fmt.Errorf("%s %q: %v", kind, name, err)
	}
	for _, t := range types {
		if err := validateProgType(t); err != nil {
			return nil, bad(KindProgramType, t.Name, err)
		}
		if names["p"+t.Name] {
			return nil, bad(KindProgramType, t.Name, errors.New("given twice"))
		}
		names["p"+t.Name] = true
		w, err := progTypeToWire(t)
		if err != nil {
			return nil, bad(KindProgramType, t.Name, err)
		}
		b, err := encode(KindProgramType, o, w, nil)
		if err != nil {
			return nil, bad(KindProgramType, t.Name, err)
		}
		todo = append(todo, pending{Entry{Kind: KindProgramType, Name: t.Name, Origin: o, ProgramType: t}, b})
	}
	for _, a := range attachs {
		if err := validateAttach(a); err != nil {
			return nil, bad(KindAttachType, a.Name, err)
		}
		if names["a"+a.Name] {
			return nil, bad(KindAttachType, a.Name, errors.New("given twice"))
		}
		names["a"+a.Name] = true
		b, err := encode(KindAttachType, o, nil, attachToWire(a))
		if err != nil {
			return nil, bad(KindAttachType, a.Name, err)
		}
		todo = append(todo, pending{Entry{Kind: KindAttachType, Name: a.Name, Origin: o, AttachType: a}, b})
	}
	if err := mkdirPublic(dir); err != nil {
		return nil, fmt.Errorf("creating the store directory %s: %w", dir, unwrapPath(err))
	}
	var done []Entry
	for _, p := range todo {
		file := FileName(p.e.Kind, p.e.Name)
		p.e.File = filepath.Join(dir, file)
		if err := writeAtomic(dir, file, p.data); err != nil {
			return done, fmt.Errorf("writing %s %s to %s: %w", p.e.Kind, p.e.Name, p.e.File, err)
		}
		done = append(done, p.e)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the renames durable; a failure here loses nothing already visible
		d.Close()
	}
	return done, nil
}

// mkdirPublic creates dir and its missing parents readable by everyone
// whatever the umask, so that unprivileged processes can verify against a
// store root exported.
func mkdirPublic(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("a file of that name exists")}
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirPublic(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another exporter made it
		}
		return err
	}
	return os.Chmod(dir, 0o755)
}

// unwrapPath drops the path of a *fs.PathError, for messages that already
// name the file (and should not name a temporary one).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeAtomic replaces dir/file with data: readers see the old content or
// the new, never part of it.
func writeAtomic(dir, file string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix(file)+"*")
	if err != nil {
		return unwrapPath(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return unwrapPath(err)
	}
	if err = f.Chmod(0o644); err != nil {
		return unwrapPath(err)
	}
	if err = f.Sync(); err != nil {
		return unwrapPath(err)
	}
	if err = f.Close(); err != nil {
		return unwrapPath(err)
	}
	if err = os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			return le.Err
		}
		return err
	}
	return nil
}

// List reads every file of the store in dir: program types sorted by
// name, then attach types sorted by name. Files that cannot be read or are
// malformed are left out and reported in the error (errors.Join of
// *FileError), alongside the entries that could be read. A missing
// directory is an error wrapping fs.ErrNotExist. Other files in dir are
// ignored.
func List(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the store %s: %w", dir, unwrapPath(err))
	}
	var entries []Entry
	var errs []error
	for _, de := range des {
		kind, ok := kindOf(de.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, de.Name())
		e, err := readFile(path, kind, de.Name())
		if err != nil {
			errs = append(errs, &FileError{File: path, Err: err})
			continue
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.Kind != b.Kind {
			return a.Kind == KindProgramType
		}
		return a.Name < b.Name
	})
	return entries, errors.Join(errs...)
}

// Load returns the program types and attach types stored in dir; errors
// are List's (what could be read is returned with them).
func Load(dir string) ([]*progtype.ProgramType, []*progtype.AttachType, error) {
	entries, err := List(dir)
	var types []*progtype.ProgramType
	var attachs []*progtype.AttachType
	for _, e := range entries {
		if e.ProgramType != nil {
			types = append(types, e.ProgramType)
		} else {
			attachs = append(attachs, e.AttachType)
		}
	}
	return types, attachs, err
}

func readFile(path string, kind Kind, base string) (Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return Entry{}, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Entry{}, unwrapPath(err)
	}
	if len(data) > maxFileSize {
		return Entry{}, fmt.Errorf("larger than %d bytes; not a store file", maxFileSize)
	}
	e, err := decode(data)
	if err != nil {
		return Entry{}, err
	}
	e.File = path
	if e.Kind != kind {
		return Entry{}, fmt.Errorf("holds a %s, but its name says %s", e.Kind, kind)
	}
	if want := FileName(e.Kind, e.Name); want != base {
		return Entry{}, fmt.Errorf("holds %s %q, which belongs in %s", e.Kind, e.Name, want)
	}
	return e, nil
}

// decode parses and checks one store file.
func decode(data []byte) (Entry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Entry{}, errors.New("the file is empty")
	}
	var head struct {
		Format json.RawMessage `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Entry{}, jsonError(data, err)
	}
	if head.Format == nil {
		return Entry{}, errors.New(`no "format" field: not an ebpfhost store file`)
	}
	var version int
	if err := json.Unmarshal(head.Format, &version); err != nil {
		return Entry{}, fmt.Errorf(`"format" is %s, not a version number`, head.Format)
	}
	switch {
	case version > FormatVersion:
		return Entry{}, fmt.Errorf("format version %d is newer than this ebpfhost reads (%d): use the ebpfhost that exported it, or export again with this one", version, FormatVersion)
	case version != FormatVersion:
		return Entry{}, fmt.Errorf("unknown format version %d (this ebpfhost reads version %d): export again with this ebpfhost", version, FormatVersion)
	}

	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return Entry{}, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Entry{}, errors.New("data after the JSON object")
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return Entry{}, jsonError(data, err)
	}
	if err := checkPresent(generic, reflect.TypeOf(doc), ""); err != nil {
		return Entry{}, err
	}

	e := Entry{Kind: doc.Kind, Origin: Origin{Extension: doc.Extension, ExportedBy: doc.ExportedBy}}
	switch doc.Kind {
	case KindProgramType:
		if doc.ProgramType == nil || doc.AttachType != nil {
			return Entry{}, errors.New(`a "program_type" file needs a "program_type" object and no "attach_type"`)
		}
		t, err := doc.ProgramType.toProgType()
		if err != nil {
			return Entry{}, fmt.Errorf("program type %q: %v", doc.ProgramType.Name, err)
		}
		if err := validateProgType(t); err != nil {
			return Entry{}, fmt.Errorf("program type %q: %v", t.Name, err)
		}
		e.Name, e.ProgramType = t.Name, t
	case KindAttachType:
		if doc.AttachType == nil || doc.ProgramType != nil {
			return Entry{}, errors.New(`an "attach_type" file needs an "attach_type" object and no "program_type"`)
		}
		a := doc.AttachType.toAttach()
		if err := validateAttach(a); err != nil {
			return Entry{}, fmt.Errorf("attach type %q: %v", a.Name, err)
		}
		e.Name, e.AttachType = a.Name, a
	default:
		return Entry{}, fmt.Errorf(`unknown kind %q (want "program_type" or "attach_type")`, doc.Kind)
	}
	return e, nil
}

// jsonError says where in the file JSON went wrong.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || err.Error() == "unexpected end of JSON input":
		return errors.New("invalid JSON: the file ends early (truncated?)")
	case errors.As(err, &se):
		line, col := position(data, se.Offset-1) // Offset counts the offending byte
		return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := position(data, te.Offset)
		field := te.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Errorf("line %d, column %d: %s is a JSON %s; it must be %s", line, col, field, te.Value, jsonTypeName(te.Type))
	}
	return fmt.Errorf("invalid store file: %v", err)
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("a whole number that fits %s", t.Kind())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a non-negative whole number that fits %s", t.Kind())
	}
	return t.String()
}

func position(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// checkPresent requires every field of the document type t (except those
// tagged omitempty) to be present in v, the file decoded generically, and
// non-null unless it is a list. encoding/json would otherwise leave a
// missing field zero, and a zero offset or size is a claim about the
// context, not an absence.
func checkPresent(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch; decoding already reported it
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" {
				continue
			}
			full := name
			if path != "" {
				full = path + "." + name
			}
			fv, present := m[name]
			if !present {
				if opts == "omitempty" {
					continue
				}
				return fmt.Errorf("missing field %q", full)
			}
			if fv == nil {
				if f.Type.Kind() == reflect.Slice || opts == "omitempty" {
					continue
				}
				return fmt.Errorf("field %q is null", full)
			}
			if err := checkPresent(fv, f.Type, full); err != nil {
				return err
			}
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, x := range l {
			p := fmt.Sprintf("%s[%d]", path, i)
			if x == nil {
				return fmt.Errorf("%s is null", p)
			}
			if err := checkPresent(x, t.Elem(), p); err != nil {
				return err
			}
		}
	}
	return nil
}

// MarshalJSON writes the entry as its file does, with the file's path
// added as "file".
func (e Entry) MarshalJSON() ([]byte, error) {
	var pt *wireProgType
	var at *wireAttach
	if e.ProgramType != nil {
		var err error
		if pt, err = progTypeToWire(e.ProgramType); err != nil {
			return nil, err
		}
	}
	if e.AttachType != nil {
		at = attachToWire(e.AttachType)
	}
	return json.Marshal(struct {
		File string `json:"file"`
		fileDoc
	}{e.File, fileDoc{Format: FormatVersion, Kind: e.Kind, Extension: e.Extension, ExportedBy: e.ExportedBy, ProgramType: pt, AttachType: at}})
}

// Equal reports whether two program types carry the same information
// (empty and nil lists are the same).
func Equal(a, b *progtype.ProgramType) bool {
	wa, err1 := progTypeToWire(a)
	wb, err2 := progTypeToWire(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(wa, wb)
}

// EqualAttach reports whether two attach types carry the same information.
func EqualAttach(a, b *progtype.AttachType) bool {
	return reflect.DeepEqual(attachToWire(a), attachToWire(b))
}

// tempMaxAge is how old a temporary file must be before Clear takes it for
// the leftover of an interrupted export rather than one in progress.
const tempMaxAge = 10 * time.Minute

// Clear removes the store's files from dir, attach types first, and
// returns the paths removed. Only files the store writes are touched
// (program-type.*.json, attach-type.*.json, and temporary files of
// interrupted exports); the directory and anything else in it stay. A
// missing directory is an error wrapping fs.ErrNotExist.
func Clear(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the store %s: %w", dir, unwrapPath(err))
	}
	var attach, prog, temp []string
	for _, de := range des {
		name := de.Name()
		if de.IsDir() {
			continue
		}
		if k, ok := kindOf(name); ok {
			if k == KindAttachType {
				attach = append(attach, name)
			} else {
				prog = append(prog, name)
			}
		} else if isTemp(name) {
			if info, err := de.Info(); err == nil && time.Since(info.ModTime()) > tempMaxAge {
				temp = append(temp, name)
			}
		}
	}
	var removed []string
	var errs []error
	for _, name := range append(append(attach, prog...), temp...) {
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing %s: %w", p, unwrapPath(err)))
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// Note is something AddTo left out, and why.
type Note struct {
	Entry Entry
	// Differs is set when a registered type of the same name exists and
	// differs from the stored one (an identical one is not a note).
	Differs bool
	Err     error
}

func (n Note) Error() string {
	return fmt.Sprintf("%s %s in %s: %v", n.Entry.Kind, n.Entry.Name, n.Entry.File, n.Err)
}

// AddTo registers stored entries in r, program types before attach types,
// and returns those it added. A stored type whose name r already has is
// not added: the registered one wins, being the code this process runs
// (the store may have been written by an older build); when the two
// differ a Note says so. Stored types that clash with registered ones in
// another way (id, GUID or section prefix already taken, attach type of an
// unknown program type) are left out with a Note too.
func AddTo(r *progtype.Registry, entries []Entry) (added []Entry, notes []Note) {
	for _, e := range entries {
		if e.ProgramType == nil {
			continue
		}
		if have, ok := r.ByName(e.Name); ok {
			if !Equal(have, e.ProgramType) {
				notes = append(notes, Note{Entry: e, Differs: true,
					Err: errors.New("differs from the program type of that name this ebpfhost hosts; using the hosted one")})
			}
			continue
		}
		if err := r.Register(e.ProgramType); err != nil {
			notes = append(notes, Note{Entry: e, Err: fmt.Errorf("not used: %v", err)})
			continue
		}
		added = append(added, e)
	}
	for _, e := range entries {
		if e.AttachType == nil {
			continue
		}
		if have, ok := r.AttachTypeByName(e.Name); ok {
			if !EqualAttach(have, e.AttachType) {
				notes = append(notes, Note{Entry: e, Differs: true,
					Err: errors.New("differs from the attach type of that name this ebpfhost hosts; using the hosted one")})
			}
			continue
		}
		if err := r.RegisterAttachType(e.AttachType); err != nil {
			notes = append(notes, Note{Entry: e, Err: fmt.Errorf("not used: %v", err)})
			continue
		}
		added = append(added, e)
	}
	return added, notes
}
