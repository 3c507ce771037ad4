// expect: accept
// A while loop with two exits, one of them data-dependent (scanning for a
// 0 byte in a map value) and one a counter.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, char[48]);
	__uint(max_entries, 1);
} strings SEC(".maps");

SEC("xdp")
int while_break(struct xdp_md *ctx)
{
	__u32 k = 0;
	char *s = bpf_map_lookup_elem(&strings, &k);
	if (!s)
		return XDP_PASS;
	__u32 n = 0;
	while (n < 48) {
		if (s[n] == 0)
			break;
		n++;
	}
	bump(n & 15);
	return n == 48 ? XDP_DROP : XDP_PASS;
}
