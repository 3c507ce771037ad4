// expect: accept
// bpf_printk with a format string in .rodata and bpf_snprintf into a
// stack buffer.
#include "common.h"

SEC("xdp")
int printk(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	bpf_printk("packet of %u bytes on queue %u", len, ctx->rx_queue_index);
	char out[32];
	__u64 args[2] = { len, ctx->ingress_ifindex };
	static const char fmt[] = "len=%llu if=%llu";
	bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args));
	return out[0] == 'l' ? XDP_PASS : XDP_DROP;
}
