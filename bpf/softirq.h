/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_SOFTIRQ_H
#define HT_SOFTIRQ_H

#include "common.h"

/* One late scheduler tick: the gap since the previous tick (or the tick's restart) on that CPU. */
struct softirq_event {
	__u64 now_ns;	  /* bpf_ktime_get_ns() at the late tick */
	__u64 offtime_ns; /* since the previous tick, or since the tick restarted after idle */
	__u64 expires_ns; /* the late tick's programmed expiry (hrtimer), 0 if unknown */
	__u64 cgroup_id;  /* the interrupted task's memory cgroup */
	__u32 cpu;
	__u32 pid; /* the task the late tick interrupted (tgid) */
	__u32 tid;
	__s32 nr; /* frames in ips */
	char comm[HT_COMM_LEN];
	__u64 ips[HT_STACK_DEPTH];
};

#endif
