// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-txtimeout kernel side. net:net_dev_xmit_timeout(dev, queue_index) fires from
 * dev_watchdog() when a stopped TX queue has not moved for dev->watchdog_timeo jiffies (only
 * devices with ndo_tx_timeout are watched). Every read goes through bpf_probe_read_kernel
 * (BPF_CORE_READ), so a bogus dev pointer (synthetic BPF_PROG_TEST_RUN input) reads as zeroes.
 */
#include "common.bpf.h"
#include "txtimeout.h"

extern int CONFIG_HZ __kconfig __weak;

const volatile char target_dev[TXT_NAME_LEN] = {}; /* --dev: "" = every device */

static __always_inline bool wanted(const char *ifname)
{
	if (!target_dev[0])
		return true;
	for (int i = 0; i < TXT_NAME_LEN; i++) {
		if (ifname[i] != target_dev[i])
			return false;
		if (!ifname[i])
			break;
	}
	return true;
}

/*
 * The kernel structs this file reads, with just the fields it reads (as common.bpf.h's ___ht
 * ones): vmlinux.h's net_device would put ~600 types in the object's BTF, which the kernel
 * checks at every start.
 */
struct device_driver___ht {
	const char *name;
} __attribute__((preserve_access_index));

struct device___ht {
	struct device___ht *parent;
	struct device_driver___ht *driver;
} __attribute__((preserve_access_index));

struct netdev_queue___ht {
	unsigned long trans_start;
	unsigned long state;
} __attribute__((preserve_access_index));

struct net_device___ht {
	char name[16];
	struct netdev_queue___ht *_tx;
	int ifindex;
	struct possible_net_t___ht nd_net;
	unsigned int num_tx_queues;
	int watchdog_timeo;
	struct device___ht dev;
} __attribute__((preserve_access_index));

/* The tracepoint's own driver string: netdev_drivername(dev) = dev->dev.parent->driver->name. */
static __always_inline void read_driver(struct txtimeout_event *e, struct net_device___ht *dev)
{
	struct device___ht *parent = BPF_CORE_READ(dev, dev.parent);
	const char *name;

	if (!parent)
		return;
	name = BPF_CORE_READ(parent, driver, name);
	if (name)
		bpf_probe_read_kernel_str(e->driver, sizeof(e->driver), name);
}

static __always_inline void read_queue(struct txtimeout_event *e, struct net_device___ht *dev,
				       int queue_index)
{
	struct netdev_queue___ht *txq;

	e->num_tx_queues = BPF_CORE_READ(dev, num_tx_queues);
	if (queue_index < 0 || (__u32)queue_index >= e->num_tx_queues || queue_index >= 4096)
		return;
	txq = BPF_CORE_READ(dev, _tx);
	if (!txq)
		return;
	txq = (void *)txq + (__u64)queue_index * bpf_core_type_size(struct netdev_queue___ht);
	e->queue_state = BPF_CORE_READ(txq, state);
	e->trans_start = BPF_CORE_READ(txq, trans_start);
	e->has_queue = 1;
}

/* A zeroed event stamped now, or NULL (the loss is counted). */
static __always_inline struct txtimeout_event *new_event(void)
{
	struct txtimeout_event *e = ht_reserve(sizeof(*e));

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->jiffies = bpf_jiffies64();
	e->hz = CONFIG_HZ;
	return e;
}

/* Submit @e if its device is wanted, with the task that timed the queue out. */
static __always_inline int finish(void *ctx, struct txtimeout_event *e)
{
	if (!wanted(e->ifname)) {
		ht_discard(e);
		return 0;
	}
	ht_fill_task(&e->task, (struct task_struct *)bpf_get_current_task());
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

static __always_inline int report(void *ctx, struct net_device___ht *dev, int queue_index)
{
	struct txtimeout_event *e = new_event();

	if (!e)
		return 0;
	e->dev = (__u64)dev;
	e->queue_index = queue_index;
	if (bpf_core_read_str(e->ifname, sizeof(e->ifname), &dev->name) > 0) {
		e->has_dev = 1;
		e->ifindex = BPF_CORE_READ(dev, ifindex);
		e->watchdog_timeo = BPF_CORE_READ(dev, watchdog_timeo);
		e->netns_inum = BPF_CORE_READ(dev, nd_net.net, ns.inum);
		read_driver(e, dev);
		read_queue(e, dev, queue_index);
	}
	return finish(ctx, e);
}

HT_TP_BTF_RAW("net_dev_xmit_timeout", txtimeout_btf, txtimeout_raw, struct net_device *dev,
	      int queue_index)
{
	return report(ctx, (struct net_device___ht *)dev, queue_index);
}

/* Classic tracepoint: only the strings and the queue index the event format carries. */
SEC("tracepoint/net/net_dev_xmit_timeout")
int txtimeout_tp(struct trace_event_raw_net_dev_xmit_timeout *args)
{
	struct txtimeout_event *e = new_event();

	if (!e)
		return 0;
	e->queue_index = BPF_CORE_READ(args, queue_index);
	ht_read_data_loc_str(e->ifname, sizeof(e->ifname), args,
			     BPF_CORE_READ(args, __data_loc_name));
	ht_read_data_loc_str(e->driver, sizeof(e->driver), args,
			     BPF_CORE_READ(args, __data_loc_driver));
	return finish(args, e);
}
