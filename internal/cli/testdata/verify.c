// Programs for the 'ebpfhost verify' tests: one that verifies, one that
// dereferences a map lookup without checking it against NULL, a kprobe
// (a Linux program type), and one in a section no program type handles.
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c verify.c -o verify.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;

struct xdp_md {
	__u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counts SEC(".maps");

SEC("xdp")
int good(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		*n += 1;
	return 2;
}

SEC("xdp")
int unchecked(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);
	*n += 1;
	return 2;
}

SEC("kprobe/do_sys_openat2")
int probe(void *ctx)
{
	__u32 key = 2;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		*n = bpf_ktime_get_ns();
	return 0;
}

SEC("frobnicate")
int odd(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "MIT";
