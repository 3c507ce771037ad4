// A self-contained xdp program for the 'ebpfhost prog' tests: counts
// packets by their first byte and passes them, dropping empty ones.
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c count.c -o count.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;

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
int count(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	if (data + 1 > end)
		return 1; /* XDP_DROP */
	__u32 key = data[0] & 3;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		*n += 1;
	static const char fmt[] = "key %u";
	bpf_trace_printk(fmt, sizeof(fmt), key);
	data[0] = 0xaa;
	return 2; /* XDP_PASS */
}

SEC("xdp")
int second(struct xdp_md *ctx) { return 2; }

char LICENSE[] SEC("license") = "MIT";
