// expect: reject KindPointerLeak returns a pointer
// The program returns the address of the packet as its verdict.
#include "common.h"

SEC("xdp")
int rej_return_pointer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	return (long)data;
}
