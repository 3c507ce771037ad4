// An object with a map and a global variable but no program: loading must
// fail saying so. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c noprog.c -o noprog.o
typedef unsigned int __u32;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} lonely SEC(".maps");

__u32 unused_global = 1;

char LICENSE[] SEC("license") = "GPL";
