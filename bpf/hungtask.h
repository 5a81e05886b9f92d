/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_HUNGTASK_H
#define HT_HUNGTASK_H

#include "common.h"

/* sched:sched_process_hang: one task the kernel's hung-task detector found blocked. */
struct hungtask_event {
	__u64 ts_ns;
	__u64 cgroup_id; /* the hung task's memory cgroup; 0: not read by this hook flavor */
	__u32 pid;	 /* tgid of the hung task */
	__u32 tid;
	__s32 nr; /* frames in ips; -1: not captured by this hook flavor */
	__u32 pad;
	char comm[HT_COMM_LEN];
	__u64 ips[HT_STACK_DEPTH];
};

/* One task in uninterruptible sleep, written by the iter/task program. */
struct hungtask_dtask {
	__u32 pid;
	__u32 tid;
	__u64 wait_ns; /* time since it last ran (rq clock), 0 if unknown */
	__u32 state;   /* task->__state */
	__s32 nr;      /* frames in ips */
	char comm[HT_COMM_LEN];
	__u64 ips[HT_STACK_DEPTH];
};

#endif
