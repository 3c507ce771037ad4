// expect: reject KindPointerLeak into the context
// platform: linux
// A tc program stores the packet's address in skb->mark (a field it may
// write): the address would leave the program.
#include "bpf_helpers.h"

struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
};

SEC("tc")
int rej_ctx_pointer_leak(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	skb->mark = (__u32)(long)data;
	return 0;
}

char LICENSE[] SEC("license") = "MIT";
