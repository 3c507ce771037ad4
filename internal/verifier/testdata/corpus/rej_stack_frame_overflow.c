// expect: reject KindOutOfBounds outside the 512-byte stack frame
// Inline assembly stores 520 bytes below the frame pointer: a frame
// holds 512 (clang itself refuses larger C locals).
#include "common.h"

SEC("xdp")
int rej_stack_frame_overflow(struct xdp_md *ctx)
{
	asm volatile("r1 = 0; *(u64 *)(r10 - 520) = r1;" ::: "r1");
	return XDP_PASS;
}
