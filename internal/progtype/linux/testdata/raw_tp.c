// A raw tracepoint on sched_switch: the arguments are the tracepoint's own
// (preempt, prev, next, prev_state), as u64 args[] in the context. It counts
// switches to each pid, reading next->pid with bpf_probe_read_kernel.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c raw_tp.c -o raw_tp.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* Offset of pid in struct task_struct for one kernel build (see kprobe.c). */
#define TASK_PID 0x5a0

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;

struct {
	__uint(type, 9); /* BPF_MAP_TYPE_LRU_HASH */
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} switches SEC(".maps");

SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	char *next = (char *)ctx->args[2];
	__u32 pid = 0;
	if (bpf_probe_read_kernel(&pid, sizeof(pid), next + TASK_PID) < 0 || pid == 0)
		return 0;
	__u64 *n = bpf_map_lookup_elem(&switches, &pid);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&switches, &pid, &one, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
