// expect: accept
// Memory helpers on the stack and on map values: bpf_memset, bpf_memcpy_s,
// bpf_memcmp_s, bpf_strncmp with a string in .rodata, and
// bpf_get_current_comm into a buffer.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, char[32]);
	__uint(max_entries, 2);
} names SEC(".maps");

SEC("xdp")
int helpers_memory(struct xdp_md *ctx)
{
	char buf[16];
	char comm[16];
	__u32 k = 0;
	bpf_memset(buf, sizeof(buf), 'x');
	bpf_get_current_comm(comm, sizeof(comm));
	char *name = bpf_map_lookup_elem(&names, &k);
	if (!name)
		return XDP_PASS;
	bpf_memcpy_s(name, 32, buf, sizeof(buf));
	bpf_memcpy_s(name + 16, 16, comm, sizeof(comm));
	if (bpf_memcmp_s(name, 16, buf, sizeof(buf)) != 0)
		return XDP_DROP;
	if (bpf_strncmp(comm, sizeof(comm), "init") == 0)
		return XDP_TX;
	return XDP_PASS;
}
