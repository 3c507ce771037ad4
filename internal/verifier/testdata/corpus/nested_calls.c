// expect: accept
// bpf-to-bpf calls four deep: each level passes a pointer into its own
// stack (and the caller's) down, and the deepest one writes through it.
#include "common.h"

struct acc {
	__u64 sum;
	__u64 count;
};

static __noinline int level4(struct acc *a, __u64 x)
{
	a->sum += x;
	a->count++;
	return a->count > 3;
}

static __noinline int level3(struct acc *a, __u64 *scratch, __u64 x)
{
	*scratch = x * 2;
	return level4(a, *scratch + 1);
}

static __noinline int level2(struct acc *a, __u64 x)
{
	__u64 local = 0;
	int r = level3(a, &local, x);
	return r + (local > 100);
}

static __noinline int level1(struct acc *a, void *data, void *data_end)
{
	__u8 *p = data;
	int r = 0;
	for (int i = 0; i < 4; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		r += level2(a, p[i]);
	}
	return r;
}

SEC("xdp")
int nested_calls(struct xdp_md *ctx)
{
	struct acc a = {};
	int r = level1(&a, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	bump(a.count & 15);
	return r > 1 ? XDP_DROP : XDP_PASS;
}
