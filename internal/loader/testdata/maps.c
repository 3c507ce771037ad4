// BTF-defined maps (SEC(".maps")) of every kind the loader tests look at:
// plain hash, per-CPU array, LRU hash, LPM trie, ring buffer and queue maps,
// a pinned map, a map-in-map whose inner template and initial inner maps
// are declared with __array(values, ...), and a program array filled with a
// program of the same object. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c maps.c -o maps.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#define LIBBPF_PIN_BY_NAME 1
#define BPF_F_NO_PREALLOC 1

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_tail_call)(void *ctx, void *prog_array, __u32 index) = (void *)12;
static long (*bpf_map_push_elem)(void *map, const void *value, __u64 flags) = (void *)87;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counts SEC(".maps");

struct {
	__uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} stats SEC(".maps");

struct {
	__uint(type, 9); /* BPF_MAP_TYPE_LRU_HASH */
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 128);
} recent SEC(".maps");

struct prefix {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, 11); /* BPF_MAP_TYPE_LPM_TRIE */
	__type(key, struct prefix);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} prefixes SEC(".maps");

struct {
	__uint(type, 27); /* BPF_MAP_TYPE_RINGBUF */
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, 22); /* BPF_MAP_TYPE_QUEUE */
	__type(value, __u32);
	__uint(max_entries, 16);
} pending SEC(".maps");

struct inner {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
};

struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, 12); /* BPF_MAP_TYPE_ARRAY_OF_MAPS */
	__type(key, __u32);
	__uint(max_entries, 3);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

int tail(void *ctx);

struct {
	__uint(type, 3); /* BPF_MAP_TYPE_PROG_ARRAY */
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 2);
	__array(values, int(void *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail },
};

SEC("xdp")
int classify(void *ctx)
{
	__u32 zero = 0, two = 2;
	void *inner = bpf_map_lookup_elem(&outer, &two);
	if (!inner)
		return 1;
	__u32 *v = bpf_map_lookup_elem(inner, &zero);
	if (!v)
		return 1;
	__u64 one = 1;
	bpf_map_update_elem(&counts, v, &one, 0);
	__u64 *s = bpf_map_lookup_elem(&stats, &zero);
	if (s)
		*s += 1;
	__u64 now = *v;
	bpf_map_update_elem(&recent, &now, v, 0);
	struct prefix p = { 32, *v };
	if (bpf_map_lookup_elem(&prefixes, &p))
		bpf_map_push_elem(&pending, v, 0);
	bpf_ringbuf_output(&events, v, sizeof(*v), 0);
	bpf_tail_call(ctx, &jumps, 1);
	return 2;
}

SEC("xdp")
int tail(void *ctx)
{
	return 2;
}

char LICENSE[] SEC("license") = "GPL";
