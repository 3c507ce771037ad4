// expect: reject KindReturnValue return 0 to 1
// platform: linux
// cgroup_skb programs return 1 (allow) or 0 (drop); 2 means nothing.
#include "bpf_helpers.h"

struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
};

SEC("cgroup_skb/ingress")
int rej_cgroup_return(struct __sk_buff *skb)
{
	if (skb->len > 1000)
		return 2;
	return 1;
}

char LICENSE[] SEC("license") = "MIT";
