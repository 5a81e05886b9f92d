/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_MEMRECLAIM_H
#define HT_MEMRECLAIM_H

#include "common.h"

/* What kind of reclaim the task was stalled in (bit mask over the window). */
#define RECLAIM_DIRECT 1 /* global: try_to_free_pages() */
#define RECLAIM_MEMCG 2	 /* memcg limit/high: try_to_free_mem_cgroup_pages() */

/* A window holds the reclaims a thread begins within this long of the window's first one. */
#define RECLAIM_WINDOW_NS 1000000000ULL

/*
 * One thread's reclaim in one window, reported once the window is closed. What every
 * reclaim updates comes first, the task (filled once) last: see struct memreclaim_window.
 */
struct memreclaim_event {
	__u64 ts_ns;	       /* when the window was closed and reported */
	__u64 window_start_ns; /* begin of the window's first reclaim */
	__u64 deltatime_ns;    /* sum of the window's reclaims, each from its begin to its end */
	__u64 max_single_ns;   /* longest single reclaim in the window */
	__u64 nr_reclaimed;    /* pages reclaimed in the window */
	__u32 nr_reclaims;     /* reclaim calls in the window */
	__u32 kinds;	       /* RECLAIM_* */
	struct ht_task task;   /* taken when deltatime reached the threshold */
};

/*
 * The window so far: value of the per-thread map "reclaiming" (key: pid_tgid). A window is
 * closed by the thread's first reclaim that begins after it (in BPF) or, once it is over
 * and the thread is not in reclaim, by the tool's sweep; whichever deletes the entry reports.
 */
struct memreclaim_window {
	/*
	 * The fields a reclaim's begin and end touch share the cache lines of the hash map's
	 * element header (the key): two lines per event, not three, in a program that runs
	 * cache-cold once per reclaim.
	 */
	__u64 begin_ns;	 /* begin of the reclaim in progress, 0 if none */
	__u32 over;	 /* ev.deltatime_ns reached the threshold: ev.task is filled */
	__u32 fill_slot; /* always 0: memreclaim_fill's slot in fill_prog (memreclaim.bpf.c) */
	struct memreclaim_event ev;
};

#endif
