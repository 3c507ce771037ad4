/* SPDX-License-Identifier: MIT */
/*
 * compat/bpf_helpers.h: eBPF for Windows' spelling of bpf_helpers.h, so
 * sources written for eBPF for Windows and its extensions (ntosebpfext)
 * compile unchanged with
 *
 *   clang -O2 -g -target bpf -I include/compat -I include -c prog.c -o prog.o
 *
 * It adds <stdint.h> names and the Windows spellings of the general
 * helpers (memcpy_s, memset, ...) to ebpfhost's bpf_helpers.h.
 */
#ifndef EBPFHOST_COMPAT_BPF_HELPERS_H
#define EBPFHOST_COMPAT_BPF_HELPERS_H

#include "../bpf_helpers.h"

typedef __s8 int8_t;
typedef __u8 uint8_t;
typedef __s16 int16_t;
typedef __u16 uint16_t;
typedef __s32 int32_t;
typedef __u32 uint32_t;
typedef __s64 int64_t;
typedef __u64 uint64_t;
typedef unsigned long size_t;
typedef long intptr_t;
typedef unsigned long uintptr_t;
#ifndef __cplusplus
typedef _Bool bool;
#define true 1
#define false 0
#endif

/* eBPF for Windows names its helper-pointer typedefs this way. */
#define EBPF_HELPER(return_type, name, args) typedef return_type(*name##_t) args

/*
 * Memory and string helpers as eBPF for Windows spells them. memset and
 * memcpy take the C library's argument order and become the helpers.
 */
#define memcpy_s bpf_memcpy_s
#define memmove_s bpf_memmove_s
#define memcmp_s bpf_memcmp_s
#define strncpy_s bpf_strncpy_s
#define strncat_s bpf_strncat_s
#define strnlen_s bpf_strnlen_s
#define memset(dest, value, size) bpf_memset((dest), (size), (value))
#define memcpy(dest, src, size) bpf_memcpy_s((dest), (size), (src), (size))
#define memmove(dest, src, size) bpf_memmove_s((dest), (size), (src), (size))

#endif /* EBPFHOST_COMPAT_BPF_HELPERS_H */
