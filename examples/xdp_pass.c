// SPDX-License-Identifier: MIT
//go:build ignore

/*
 * xdp_pass.c: the smallest useful program. It lets every packet through.
 *
 * It is what the benchmarks run to measure the cost of one invocation, in
 * ebpfhost and in the Linux kernel alike (the object is the same).
 *
 * Build (in examples/):
 *   clang -O2 -g -target bpf -I ../include -c xdp_pass.c -o xdp_pass.o
 *
 * (The go:build line at the top keeps the go tool, to which examples/ is a
 * package of Go tests, from taking this file for cgo source.)
 */
#include "bpf_helpers.h"
#include "xdp.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "MIT";
