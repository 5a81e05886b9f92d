// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-txtimeout: report NETDEV WATCHDOG transmit timeouts (net:net_dev_xmit_timeout): the
 * device, the stuck queue, its driver, and how long the queue had not transmitted.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "huatuo.h"
#include "txtimeout.h"
#include "txtimeout.skel.h"

static const char doc[] =
	"Report transmit queue timeouts (the NETDEV WATCHDOG \"transmit queue N timed out\" "
	"path): device, queue, driver, queue state and time since its last transmit.\n"
	"\v"
	"Examples:\n"
	"  huatuo-txtimeout                   # table of TX timeouts until Ctrl-C\n"
	"  huatuo-txtimeout -j | jq .         # one JSON object per timeout\n"
	"  huatuo-txtimeout --dev eth0 -c 1   # wait for one timeout on eth0\n"
	"  huatuo-txtimeout --check           # which hook this kernel offers\n";

static const char *target_dev;

static const struct ht_option options[] = {
	HT_IFNAME("dev", "IFNAME", &target_dev,
		  "Only this network device (filtered in the kernel)"),
	{ 0 },
};

static const struct ht_hook hooks[] = {
	{ .name = "net_dev_xmit_timeout",
	  .progs = { "txtimeout_btf", "txtimeout_raw", "txtimeout_tp" } },
	{ 0 },
};

/* include/linux/netdevice.h: enum netdev_queue_state_t */
static const char *const queue_state_names[] = { "drv_xoff", "stack_xoff", "frozen" };

static void queue_state_string(uint64_t state, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(queue_state_names) && off < len; i++)
		if (state & (1ULL << i))
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "",
					queue_state_names[i]);
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct txtimeout_event *e = data;
	char ifname[TXT_NAME_LEN * 3 + 1], driver[TXT_DRIVER_LEN * 3 + 1], state[48];
	char pifname[TXT_NAME_LEN], pdriver[TXT_DRIVER_LEN], age_s[24] = "-";
	int64_t age_ms = -1;
	cJSON *d;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	ht_utf8_sanitize(e->ifname, sizeof(e->ifname), ifname, sizeof(ifname));
	ht_utf8_sanitize(e->driver, sizeof(e->driver), driver, sizeof(driver));
	queue_state_string(e->queue_state, state, sizeof(state));
	if (e->has_queue && e->hz && e->jiffies >= e->trans_start) {
		age_ms = (int64_t)((e->jiffies - e->trans_start) * 1000 / e->hz);
		snprintf(age_s, sizeof(age_s), "%lld", (long long)age_ms);
	}

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "ifname", ifname);
	cJSON_AddNumberToObject(d, "queue_index", e->queue_index);
	cJSON_AddStringToObject(d, "driver", driver);
	/* HUATUO's later names for the same two strings */
	cJSON_AddStringToObject(d, "device_name", ifname);
	cJSON_AddStringToObject(d, "driver_name", driver);
	if (e->has_dev) {
		cJSON_AddNumberToObject(d, "ifindex", e->ifindex);
		ht_json_add_u64(d, "netns", e->netns_inum);
		cJSON_AddNumberToObject(d, "num_tx_queues", e->num_tx_queues);
		if (e->hz)
			cJSON_AddNumberToObject(d, "watchdog_timeo_ms",
						(double)e->watchdog_timeo * 1000 / e->hz);
	}
	if (e->has_queue) {
		ht_json_add_u64(d, "queue_state", e->queue_state);
		cJSON_AddStringToObject(d, "queue_state_flags", state);
		if (age_ms >= 0)
			ht_json_add_s64(d, "trans_start_age_ms", age_ms);
	}

	ht_printable(ifname, strlen(ifname), pifname, sizeof(pifname));
	ht_printable(driver, strlen(driver), pdriver, sizeof(pdriver));
	return ht_emit(env, d, NULL, "auto", "%-16s %5d %-16s %10s %s", pifname[0] ? pifname : "-",
		       e->queue_index, pdriver[0] ? pdriver : "-", age_s, state[0] ? state : "-");
}

HT_SKEL_OPS(txtimeout);

static void configure(void *skel, struct ht_env *env)
{
	(void)env;
	if (target_dev)
		memcpy((char *)((struct txtimeout_bpf *)skel)->rodata->target_dev, target_dev,
		       strlen(target_dev));
}

/*
 * --dev names a device this namespace does not have: it may be created later, or live in
 * another namespace (the name is matched in all of them). Say so once; keep watching.
 */
static int start(struct ht_env *env)
{
	if (target_dev && !if_nametoindex(target_dev))
		ht_warn(env,
			"--dev %s: no such device in this network namespace (yet): reporting its "
			"timeouts when it appears (the name is matched in every namespace)",
			target_dev);
	return 0;
}

static const struct ht_tool tool = {
	.tracer_name = "netdev_txqueue_timeout",
	.what = "TX queue timeouts",
	.doc = doc,
	.options = options,
	.skel = &txtimeout_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.kconfig_hz = true, /* extern CONFIG_HZ __kconfig */
	.start = start,
	.header = { "%-16s %5s %-16s %10s %s",
		    { "IFNAME", "QUEUE", "DRIVER", "AGE(ms)", "STATE" } },
	.on_event = handle_event,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
