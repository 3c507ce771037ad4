// A perf_event program (a sampling profiler): for each sample it records
// the interrupted instruction pointer and the counter's value, read with
// bpf_perf_prog_read_value, in a hash map keyed by pid.
//
// Self-contained; built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c perf_event.c -o perf_event.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct bpf_perf_event_data {
	struct pt_regs regs;
	__u64 sample_period;
	__u64 addr;
};

struct bpf_perf_event_value {
	__u64 counter, enabled, running;
};

struct sample {
	__u64 ip;
	__u64 period;
	__u64 counter;
};

static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_perf_prog_read_value)(struct bpf_perf_event_data *ctx, struct bpf_perf_event_value *buf, __u32 size) = (void *)56;

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__type(key, __u32);
	__type(value, struct sample);
	__uint(max_entries, 1024);
} last_sample SEC(".maps");

SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	struct bpf_perf_event_value v;
	struct sample s = {};
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	s.ip = ctx->regs.ip;
	s.period = ctx->sample_period;
	if (bpf_perf_prog_read_value(ctx, &v, sizeof(v)) == 0)
		s.counter = v.counter;
	bpf_map_update_elem(&last_sample, &pid, &s, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
