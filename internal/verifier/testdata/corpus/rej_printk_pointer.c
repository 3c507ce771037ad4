// expect: reject KindPointerLeak which the format would print
// bpf_printk with %lx of the packet pointer would print its address.
#include "common.h"

SEC("xdp")
int rej_printk_pointer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	bpf_printk("packet at %lx", data);
	return XDP_PASS;
}
