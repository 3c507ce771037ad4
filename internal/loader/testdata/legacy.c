// Maps declared the old way, as struct bpf_map_def in SEC("maps"), without
// BTF map definitions. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c legacy.c -o legacy.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;

struct bpf_map_def SEC("maps") packets = {
	.type = 2, /* BPF_MAP_TYPE_ARRAY */
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def SEC("maps") flows = {
	.type = 5, /* BPF_MAP_TYPE_PERCPU_HASH */
	.key_size = sizeof(__u64),
	.value_size = sizeof(__u32),
	.max_entries = 256,
	.map_flags = 1, /* BPF_F_NO_PREALLOC */
};

SEC("socket")
int count(void *ctx)
{
	__u32 key = 1;
	__u64 *n = bpf_map_lookup_elem(&packets, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	__u64 flow = (__u64)(unsigned long)ctx;
	__u32 one = 1;
	bpf_map_update_elem(&flows, &flow, &one, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
