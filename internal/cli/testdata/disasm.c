// A small program for the disassembler tests: a map lookup, a global
// variable, a bpf-to-bpf call and a bounded loop, compiled with
//   clang -O2 -g -target bpf -c disasm.c -o disasm.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counts SEC(".maps");

volatile __u64 scale = 3;

static __attribute__((noinline)) __u64 weigh(__u64 x)
{
	return x * scale;
}

SEC("xdp")
int count_packets(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&counts, &key);
	if (!value)
		return 0;
	__u64 sum = 0;
	for (int i = 0; i < 4; i++)
		sum += weigh(i);
	*value += sum;
	return 2; /* XDP_PASS */
}

char LICENSE[] SEC("license") = "MIT";
