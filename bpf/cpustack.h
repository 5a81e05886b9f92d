/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One CPU's answer to an all-CPU stack capture (softlockup, hungtask: cpus_stack). Written by
 * the perf_event program in common.bpf.h (HT_WANT_CPUS_STACK), read by libcommon/cpustack.c.
 */
#ifndef HT_CPUSTACK_H
#define HT_CPUSTACK_H

#include "common.h"

struct ht_cpu_stack {
	__u64 gen; /* capture request this slot answers */
	__u64 ts_ns;
	__u32 pid; /* what the CPU was running */
	__u32 tid;
	__u32 cpu;
	__u32 user; /* 1: in user mode (no kernel stack) */
	__s32 nr;   /* frames in ips */
	char comm[HT_COMM_LEN];
	__u32 pad;
	__u64 ips[HT_STACK_DEPTH];
};

#endif
