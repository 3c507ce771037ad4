package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/ebpfhost/ebpfhost/internal/maps"
)

// supportedMapTypes are the map types ebpfhost implements, in the order
// error messages list them.
var supportedMapTypes = []maps.Type{
	maps.Hash, maps.Array, maps.ProgArray, maps.PerCPUHash, maps.PerCPUArray,
	maps.LRUHash, maps.LRUPerCPUHash, maps.LPMTrie, maps.ArrayOfMaps,
	maps.HashOfMaps, maps.Queue, maps.Stack, maps.RingBuf,
}

// linuxMapTypes names Linux's map types (enum bpf_map_type) so that an
// object using one ebpfhost lacks gets a message naming it the way its C
// source does (BPF_MAP_TYPE_ + the upper-cased name).
var linuxMapTypes = []string{
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
	"percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash",
	"lpm_trie", "array_of_maps", "hash_of_maps", "devmap", "sockmap", "cpumap",
	"xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
	"percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
	"struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
	"user_ringbuf", "cgrp_storage", "arena",
}

func mapTypeName(t uint32) string {
	if int64(t) < int64(len(linuxMapTypes)) {
		return "BPF_MAP_TYPE_" + strings.ToUpper(linuxMapTypes[t])
	}
	return "not a Linux map type"
}

func supportedList() string {
	var b strings.Builder
	for i, t := range supportedMapTypes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d)", t, uint32(t))
	}
	return b.String()
}

// checkType reports whether ebpfhost implements the map type.
func checkType(t ebpf.MapType) error {
	for _, s := range supportedMapTypes {
		if uint32(s) == uint32(t) {
			return nil
		}
	}
	return fmt.Errorf("type %d (%s) is not supported by ebpfhost; supported types: %s", uint32(t), mapTypeName(uint32(t)), supportedList())
}

// convertMap translates one of cilium/ebpf's map specs, checking what
// ebpfhost cannot honour.
func (l *loader) convertMap(name string, ms *ebpf.MapSpec) (*MapSpec, error) {
	section := l.mapSections[name]
	if section == "" && isDataSection(name) {
		// cilium/ebpf names data section maps after their section.
		section = name
	}
	if name == ".kconfig" {
		section = ".kconfig"
	}
	fail := func(format string, args ...any) error {
		where := fmt.Sprintf("%s: map %s", l.name, name)
		if section != "" {
			where += fmt.Sprintf(" (section %s)", section)
		}
		return fmt.Errorf(where+": "+format, args...)
	}
	if name == ".kconfig" {
		return nil, fail("the object reads Linux kernel configuration through extern __kconfig variables, which ebpfhost does not provide")
	}
	if err := checkType(ms.Type); err != nil {
		return nil, fail("%v", err)
	}
	if ms.Extra != nil {
		extra := make([]byte, ms.Extra.Size())
		n, _ := ms.Extra.ReadAt(extra, 0)
		if bytes.ContainsFunc(extra[:n], func(r rune) bool { return r != 0 }) {
			return nil, fail("the map definition has %d bytes after map_flags that the loader does not understand (struct bpf_map_def has five unsigned int fields: type, key_size, value_size, max_entries, map_flags)", n)
		}
	}
	var pin Pinning
	switch ms.Pinning {
	case ebpf.PinNone:
		pin = PinNone
	case ebpf.PinByName:
		pin = PinByName
	default:
		return nil, fail("pinning %d is not supported (only LIBBPF_PIN_NONE 0 and LIBBPF_PIN_BY_NAME 1 are)", uint32(ms.Pinning))
	}
	out := &MapSpec{
		Spec: maps.Spec{
			Name:       name,
			Type:       maps.Type(ms.Type),
			KeySize:    ms.KeySize,
			ValueSize:  ms.ValueSize,
			MaxEntries: ms.MaxEntries,
			Flags:      ms.Flags,
		},
		Pinning: pin,
		Section: section,
		// cilium/ebpf freezes the maps of constant data sections after
		// writing their contents; the runtime must do the same.
		Frozen: isDataSection(name) && strings.HasPrefix(name, ".rodata"),
	}
	if out.Type == maps.RingBuf {
		// Like libbpf, round a ring buffer's size up to a power of two of
		// at least a page, which is what the map requires.
		out.MaxEntries = ringbufSize(out.MaxEntries)
	}
	if ms.InnerMap != nil {
		if out.Type != maps.ArrayOfMaps && out.Type != maps.HashOfMaps {
			return nil, fail("only array_of_maps and hash_of_maps have an inner map template, but this map is %s", out.Type)
		}
		if err := checkType(ms.InnerMap.Type); err != nil {
			return nil, fail("inner map template: %v", err)
		}
		if t := maps.Type(ms.InnerMap.Type); t == maps.ArrayOfMaps || t == maps.HashOfMaps {
			return nil, fail("inner map template: maps of maps cannot be nested")
		}
		out.InnerMap = &maps.Spec{
			Name:       ms.InnerMap.Name,
			Type:       maps.Type(ms.InnerMap.Type),
			KeySize:    ms.InnerMap.KeySize,
			ValueSize:  ms.InnerMap.ValueSize,
			MaxEntries: ms.InnerMap.MaxEntries,
			Flags:      ms.InnerMap.Flags,
		}
	} else if out.Type == maps.ArrayOfMaps || out.Type == maps.HashOfMaps {
		return nil, fail("a %s needs an inner map template: declare it with __array(values, struct { ... })", out.Type)
	}
	for i, kv := range ms.Contents {
		key, err := toBytes(kv.Key)
		if err != nil {
			return nil, fail("initial entry %d: key: %v", i, err)
		}
		if len(key) != int(out.KeySize) {
			return nil, fail("initial entry %d: key is %d bytes, the map's keys are %d", i, len(key), out.KeySize)
		}
		entry := KV{Key: key}
		if ref, ok := kv.Value.(string); ok {
			// cilium/ebpf names the map or program a value refers to.
			entry.Ref = ref
		} else {
			entry.Value, err = toBytes(kv.Value)
			if err != nil {
				return nil, fail("initial entry %d: value: %v", i, err)
			}
			if len(entry.Value) != int(out.ValueSize) {
				return nil, fail("initial entry %d: value is %d bytes, the map's values are %d", i, len(entry.Value), out.ValueSize)
			}
		}
		out.Contents = append(out.Contents, entry)
	}
	return out, nil
}

// isDataSection matches the sections cilium/ebpf turns into array maps.
func isDataSection(name string) bool {
	return name == ".bss" || strings.HasPrefix(name, ".data") || strings.HasPrefix(name, ".rodata")
}

// toBytes encodes an initial key or value as cilium/ebpf hands it over:
// byte slices as they are, integers little-endian at their own width.
func toBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return bytes.Clone(v), nil
	case uint8, int8, uint16, int16, uint32, int32, uint64, int64:
		return binary.Append(nil, binary.LittleEndian, v)
	case nil:
		// Queues and stacks have no keys.
		return nil, nil
	}
	return nil, fmt.Errorf("the parser produced a Go %T, which the loader cannot turn into bytes", v)
}

// ringbufSize rounds n up to a power of two no smaller than 4096.
func ringbufSize(n uint32) uint32 {
	size := uint32(4096)
	for size < n && size < 1<<31 {
		size <<= 1
	}
	return size
}
