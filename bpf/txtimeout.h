/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_TXTIMEOUT_H
#define HT_TXTIMEOUT_H

#include "common.h"

#define TXT_NAME_LEN 16 /* IFNAMSIZ */
#define TXT_DRIVER_LEN 32

struct txtimeout_event {
	struct ht_task task;  /* current: usually the timer softirq's host task */
	__u64 ts_ns;	      /* bpf_ktime_get_ns() */
	__u64 jiffies;	      /* at the event */
	__u64 trans_start;    /* netdev_queue->trans_start (jiffies) */
	__u64 queue_state;    /* netdev_queue->state bits (__QUEUE_STATE_*) */
	__u64 dev;	      /* struct net_device * as the tracepoint passed it */
	__u32 hz;	      /* CONFIG_HZ, 0 if unknown */
	__u32 watchdog_timeo; /* dev->watchdog_timeo (jiffies) */
	__u32 netns_inum;
	__s32 ifindex;
	__s32 queue_index;
	__u32 num_tx_queues;
	__u8 has_dev;	/* dev pointer readable: ifindex, netns, timeo */
	__u8 has_queue; /* queue_index within num_tx_queues: state, trans_start */
	__u8 pad[6];
	char ifname[TXT_NAME_LEN];
	char driver[TXT_DRIVER_LEN];
};

#endif
