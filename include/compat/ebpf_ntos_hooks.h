/* SPDX-License-Identifier: MIT */
/*
 * compat/ebpf_ntos_hooks.h: ntosebpfext's hook header name, for sources
 * written for it. The process program type itself is in ../process.h.
 */
#ifndef EBPFHOST_COMPAT_EBPF_NTOS_HOOKS_H
#define EBPFHOST_COMPAT_EBPF_NTOS_HOOKS_H

#include "bpf_helpers.h"
#include "../process.h"

/* Helper ids as ntosebpfext's enum names them. */
#define BPF_FUNC_process_get_image_path (PROCESS_EXT_HELPER_FN_BASE + 1)
#define BPF_FUNC_process_get_account_name (PROCESS_EXT_HELPER_FN_BASE + 2)
#define BPF_FUNC_process_get_account_domain (PROCESS_EXT_HELPER_FN_BASE + 3)

#endif /* EBPFHOST_COMPAT_EBPF_NTOS_HOOKS_H */
