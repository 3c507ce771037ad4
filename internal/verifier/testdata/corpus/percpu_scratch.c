// expect: accept
// A per-CPU array used as scratch space larger than the stack: a 1 KiB
// value filled from the packet with bpf_memcpy_s (its length bounded by
// the packet-length tracking) and handed to a hash map.
#include "common.h"

#define SCRATCH 1024

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__uint(value_size, SCRATCH);
	__uint(max_entries, 1);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__uint(value_size, SCRATCH);
	__uint(max_entries, 16);
} saved SEC(".maps");

SEC("xdp")
int percpu_scratch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	char *buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return XDP_PASS;
	__u64 len = data_end - data;
	if (len > SCRATCH - 1)
		len = SCRATCH - 1;
	if (len == 0)
		return XDP_PASS;
	bpf_memcpy_s(buf, SCRATCH - 1, data, len);
	buf[SCRATCH - 1] = 0;
	__u32 key = ctx->rx_queue_index & 15;
	bpf_map_update_elem(&saved, &key, buf, BPF_ANY);
	return XDP_PASS;
}
