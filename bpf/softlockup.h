/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_SOFTLOCKUP_H
#define HT_SOFTLOCKUP_H

#include "common.h"

#define SOFTLOCKUP_EARLY 1  /* our detector: no context switch for >= threshold, in kernel */
#define SOFTLOCKUP_KERNEL 2 /* the kernel's own "BUG: soft lockup" report */

#define SOFTLOCKUP_MSG_LEN 128

struct softlockup_event {
	__u64 ts_ns;
	__u64 stuck_ns;	 /* early: time since the CPU's last context switch */
	__u64 cgroup_id; /* current's memory cgroup */
	__u32 source;	 /* SOFTLOCKUP_* */
	__u32 cpu;	 /* where the hook ran */
	__u32 pid;	 /* current there (tgid) */
	__u32 tid;
	__s32 nr; /* frames in ips */
	__u32 pad;
	char comm[HT_COMM_LEN];
	char msg[SOFTLOCKUP_MSG_LEN]; /* kernel: the report's text */
	__u64 ips[HT_STACK_DEPTH];
};

#endif
