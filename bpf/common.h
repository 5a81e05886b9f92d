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

/*
 * Containers (HT_WANT_CONTAINERS in common.bpf.h): the path of a cgroup, taken in the kernel
 * from its kernfs names when an event first names it, so that a container that the event
 * itself ends (an OOM kill of a --rm container) is still attributed after its cgroup is gone.
 */
#define HT_CGROUP_DEPTH 8 /* levels below the hierarchy's root kept */
#define HT_CGROUP_NAME 96 /* bytes per level: "cri-containerd-<64 hex>.scope" fits */

/* Names in fixed slots: the kernel side reads each at a constant offset (cheap to verify). */
struct ht_cgroup_path {
	__u32 depth;	 /* levels in names[], leaf first */
	__u32 truncated; /* deeper than HT_CGROUP_DEPTH (the outer levels are missing), or a
			  * name of HT_CGROUP_NAME - 1 bytes or more (maybe cut) */
	char names[HT_CGROUP_DEPTH][HT_CGROUP_NAME];
};

/* ht_verdicts: whether events of a cgroup or network namespace pass --cgroup/--container */
#define HT_VERDICT_PASS 1
#define HT_VERDICT_DROP 2
/* a task outside any container: its packet's network namespace's verdict decides */
#define HT_VERDICT_NETNS_OF_TASK 3
#define HT_VERDICT_NETNS (1ULL << 63) /* key bit: a netns inum rather than a cgroup id */

/* A memory cgroup was made (cgroup:cgroup_mkdir), with the path the tracepoint hands over. */
#define HT_CGROUP_EVENT_PATH 504
struct ht_cgroup_event {
	__u64 id;			 /* kernfs node id: the cgroupfs inode */
	char path[HT_CGROUP_EVENT_PATH]; /* below the hierarchy's root; cut if it fills this */
};

#endif
