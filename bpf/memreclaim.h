/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_MEMRECLAIM_H
#define HT_MEMRECLAIM_H

#include "common.h"

/* What kind of reclaim the task was stalled in (bit mask over the window). */
#define RECLAIM_DIRECT 1 /* global: try_to_free_pages() */
#define RECLAIM_MEMCG 2	 /* memcg limit/high: try_to_free_mem_cgroup_pages() */

struct memreclaim_event {
	struct ht_task task;
	__u64 ts_ns;	       /* when the threshold was crossed */
	__u64 window_start_ns; /* start of the 1 s window */
	__u64 deltatime_ns;    /* reclaim time within the window */
	__u64 max_single_ns;   /* longest single reclaim in the window */
	__u64 nr_reclaimed;    /* pages reclaimed in the window */
	__u32 nr_reclaims;     /* reclaim calls in the window */
	__u32 kinds;	       /* RECLAIM_* */
};

#endif
