/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_OOM_H
#define HT_OOM_H

#include "common.h"

struct oom_event {
	struct ht_task trigger; /* current: the task whose allocation ran the OOM killer */
	struct ht_task victim;
	__u64 ts_ns;		 /* bpf_ktime_get_ns() */
	__u64 memcg_usage_pages; /* victim's memcg at the kill, 0 if unknown */
	__u64 memcg_limit_pages;
	__u64 victim_total_vm_pages;
	__u64 victim_anon_pages;
	__u64 victim_file_pages;
	__u64 victim_shmem_pages;
	__s32 victim_oom_score_adj;
	__u32 victim_uid;
	__u8 has_rss; /* the hook could read the victim's mm */
	__u8 has_memcg;
	__u8 pad[6];
};

#endif
