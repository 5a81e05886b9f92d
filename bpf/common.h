/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by every BPF program and its user-space tool. Fixed-width types only. */
#ifndef HT_COMMON_H
#define HT_COMMON_H

#define HT_COMM_LEN 16
#define HT_NODENAME_LEN 65 /* __NEW_UTS_LEN + 1 */
#define HT_STACK_DEPTH 64

/* Identity of a task as the tools report it. */
struct ht_task {
	__u32 pid; /* tgid: what ps calls PID */
	__u32 tid;
	__u64 memcg_css; /* task->cgroups->subsys[memory_cgrp_id] */
	__u64 memcg_id;	 /* that css's cgroup id: the cgroupfs inode */
	char comm[HT_COMM_LEN];
	char nodename[HT_NODENAME_LEN]; /* UTS hostname: a container's own hostname */
	__u8 pad[7];
};

#endif
