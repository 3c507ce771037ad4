// A map of a type ebpfhost does not implement (BPF_MAP_TYPE_PERF_EVENT_ARRAY):
// loading must fail naming the map, its section and the type. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c perfmap.c -o perfmap.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;

struct {
	__uint(type, 4); /* BPF_MAP_TYPE_PERF_EVENT_ARRAY */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

SEC("kprobe/sys_open")
int trace_open(void *ctx)
{
	__u32 value = 42;
	bpf_perf_event_output(ctx, &perf_events, 0xffffffffULL, &value, sizeof(value));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
