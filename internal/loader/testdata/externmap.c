// A program using a map that is declared extern and defined nowhere in the
// object: loading must fail naming the program, its section and the map.
// Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c externmap.c -o externmap.o
typedef unsigned int __u32;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

extern struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} missing_map __attribute__((section(".maps")));

SEC("xdp")
int uses_missing(void *ctx)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&missing_map, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
