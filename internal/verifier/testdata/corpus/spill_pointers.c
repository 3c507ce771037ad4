// expect: accept
// More pointers live across helper calls than there are callee-saved
// registers: clang spills map value and packet pointers to the stack and
// reloads them, and they must still be pointers after the reload.
#include "common.h"

SEC("xdp")
int spill_pointers(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	if ((void *)(p + 8) > data_end)
		return XDP_PASS;
	__u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3, k4 = 4;
	__u64 *a = bpf_map_lookup_elem(&counters, &k0);
	__u64 *b = bpf_map_lookup_elem(&counters, &k1);
	__u64 *c = bpf_map_lookup_elem(&counters, &k2);
	__u64 *d = bpf_map_lookup_elem(&counters, &k3);
	__u64 *e = bpf_map_lookup_elem(&counters, &k4);
	__u64 t = bpf_ktime_get_ns();
	if (!a || !b || !c || !d || !e)
		return XDP_PASS;
	*a += p[0] + t;
	*b += p[1];
	*c += p[2];
	*d += p[3];
	*e += p[4] + p[7];
	return XDP_PASS;
}
