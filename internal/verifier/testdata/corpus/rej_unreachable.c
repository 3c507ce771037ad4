// expect: reject KindUnreachable no path from the program's entry
// Inline assembly jumps over an instruction no path reaches.
#include "common.h"

SEC("xdp")
int rej_unreachable(struct xdp_md *ctx)
{
	int r;
	asm volatile("%0 = 2; goto +1; %0 = 1;" : "=r"(r));
	return r;
}
