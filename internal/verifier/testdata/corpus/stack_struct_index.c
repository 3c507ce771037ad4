// expect: accept
// An array of structs on the stack, indexed by a value from the packet
// after a bounds check, written through a pointer a function returns.
#include "common.h"

struct entry {
	__u32 key;
	__u32 hits;
};

static __noinline struct entry *slot(struct entry *table, __u32 i)
{
	if (i >= 8)
		return 0;
	return &table[i];
}

SEC("xdp")
int stack_struct_index(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct entry table[8] = {};
	if (data + 1 > data_end)
		return XDP_PASS;
	__u8 b = *(__u8 *)data;
	struct entry *e = slot(table, b & 15);
	if (!e)
		return XDP_PASS;
	e->key = b;
	e->hits++;
	bump(table[b & 7].hits & 15);
	return XDP_PASS;
}
