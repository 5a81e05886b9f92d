// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-netdev: report NIC link changes (admin up/down, carrier up/down, MTU, devices coming
 * and going) from rtnetlink link notifications, after a baseline line per device.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "huatuo.h"
#include "netlink.h"

#define MAX_DEVS 64
#define HEADER_FMT "%-16s %-6s %-28s %-6s %-17s %s"
#define HEADER_COLS "IFNAME", "INDEX", "STATUS", "MTU", "MAC", "START"
#define ROW_FMT "%-16s %-6d %-28s %-6u %-17s %s"
#define NETNS_CHECK_NS (200 * NSEC_PER_MSEC) /* how often --netns's path is checked */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h: driver signals L1 up (carrier) */
#endif

struct netdev_state {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned int flags;
	unsigned int mtu;
	struct ht_drvinfo drv;
};

struct netdev_ctx {
	const char *devs[MAX_DEVS];
	int ndevs;
	struct ht_netns_arg netns;
	struct stat netns_st; /* what netns.path named when we entered it */
	bool netns_gone;
	bool snapshot; /* --snapshot: the state now, tracer_type manual, then exit */
	struct netdev_state *state;
	size_t nstate;
	int err; /* from the netlink callback: -errno stops the loop */
};

static struct netdev_ctx nd;

static const char doc[] =
	"Report network device link changes (admin up/down, carrier up/down, MTU, device removal) "
	"from rtnetlink, after one baseline line per device.\n"
	"\v"
	"Examples:\n"
	"  huatuo-netdev                        # table of link changes until Ctrl-C\n"
	"  huatuo-netdev -j | jq .tracer_data   # one JSON object per change\n"
	"  huatuo-netdev --dev eth0 --dev eth1  # only these devices\n"
	"  huatuo-netdev --netns blue           # the netns of 'ip netns add blue'\n"
	"  huatuo-netdev --netns /proc/1234/ns/net -c 1\n"
	"  huatuo-netdev --snapshot -j        # every device's state now, then exit\n";

static const struct ht_option options[] = {
	HT_IFNAMES("dev", "NAME", nd.devs, &nd.ndevs,
		   "Only this device (repeatable; default every device but loopback). A device "
		   "that does not exist yet is reported when it appears"),
	HT_NETNS_PATH("netns", "NAME|PATH", &nd.netns,
		      "Watch the devices of another network namespace: a name from 'ip netns add' "
		      "or a path such as /proc/PID/ns/net; the tool ends when that name is deleted"),
	HT_FLAG("snapshot", &nd.snapshot,
		"Print every device's state now (tracer_type manual) and exit"),
	{ 0 },
};

/* ---- device state ---- */

static bool wanted(const char *name, unsigned int flags)
{
	if (!nd.ndevs)
		return !(flags & IFF_LOOPBACK);
	for (int i = 0; i < nd.ndevs; i++)
		if (!strcmp(nd.devs[i], name))
			return true;
	return false;
}

static struct netdev_state *find_state(int ifindex)
{
	for (size_t i = 0; i < nd.nstate; i++)
		if (nd.state[i].ifindex == ifindex)
			return &nd.state[i];
	return NULL;
}

static struct netdev_state *add_state(struct rtnl_link *link)
{
	struct netdev_state *s = realloc(nd.state, (nd.nstate + 1) * sizeof(*s));

	if (!s)
		return NULL;
	nd.state = s;
	s = &s[nd.nstate++];
	memset(s, 0, sizeof(*s));
	s->ifindex = rtnl_link_get_ifindex(link);
	snprintf(s->name, sizeof(s->name), "%s", rtnl_link_get_name(link) ?: "");
	s->flags = rtnl_link_get_flags(link);
	s->mtu = rtnl_link_get_mtu(link);
	ht_ethtool_drvinfo(s->name, &s->drv);
	return s;
}

static void del_state(struct netdev_state *s)
{
	*s = nd.state[--nd.nstate];
}

/* ---- reporting ---- */

/* "linkstatus_adminup,linkstatus_carrierdown" for the bits of @mask, as set in @flags. */
static void fmt_status(unsigned int mask, unsigned int flags, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (mask & IFF_UP)
		used += (size_t)snprintf(buf + used, len - used, "linkstatus_admin%s",
					 flags & IFF_UP ? "up" : "down");
	if ((mask & IFF_LOWER_UP) && used < len)
		snprintf(buf + used, len - used, "%slinkstatus_carrier%s", used ? "," : "",
			 flags & IFF_LOWER_UP ? "up" : "down");
}

/*
 * The table's STATUS column: "removed"; else "added" for a device that appeared, the
 * linkstatus list without its "linkstatus_" prefixes, and "mtu OLD->NEW" for an MTU change,
 * comma-joined.
 */
static const char *table_status(const char *action, const char *status, unsigned int old_mtu,
				unsigned int mtu, char *buf, size_t len)
{
	const char *p = status;
	size_t used = 0;

	if (!strcmp(action, "remove"))
		return "removed";
	if (!strcmp(action, "add"))
		used = (size_t)snprintf(buf, len, "added%s", *status ? "," : "");
	while (*p && used < len - 1) {
		if (!strncmp(p, "linkstatus_", 11))
			p += 11;
		buf[used++] = *p++;
	}
	buf[used] = '\0';
	if (old_mtu && used < len)
		snprintf(buf + used, len - used, "%smtu %u->%u", used ? "," : "", old_mtu, mtu);
	return buf[0] ? buf : "-";
}

static int report(struct ht_env *env, const struct netdev_state *s, struct rtnl_link *link,
		  const char *action, const char *status, unsigned int old_mtu, bool start)
{
	struct nl_addr *addr = link ? rtnl_link_get_addr(link) : NULL;
	char mac[64] = "", shown[160];
	cJSON *d = cJSON_CreateObject();

	if (!d)
		return -ENOMEM;
	if (addr)
		ht_fmt_mac(nl_addr_get_binary_addr(addr), nl_addr_get_len(addr), mac, sizeof(mac));
	ht_json_add_bytes(d, "ifname", s->name, sizeof(s->name));
	cJSON_AddNumberToObject(d, "index", s->ifindex);
	cJSON_AddStringToObject(d, "linkstatus", status);
	cJSON_AddStringToObject(d, "mac", mac);
	cJSON_AddNumberToObject(d, "mtu", s->mtu);
	if (old_mtu)
		cJSON_AddNumberToObject(d, "old_mtu", old_mtu);
	ht_json_add_bytes(d, "driver", s->drv.driver, sizeof(s->drv.driver));
	ht_json_add_bytes(d, "driver_version", s->drv.version, sizeof(s->drv.version));
	ht_json_add_bytes(d, "firmware_version", s->drv.fw_version, sizeof(s->drv.fw_version));
	cJSON_AddStringToObject(d, "action", action);
	cJSON_AddBoolToObject(d, "start", start);
	return ht_emit(env, d, NULL, nd.snapshot ? "manual" : "auto", ROW_FMT, s->name, s->ifindex,
		       table_status(action, status, old_mtu, s->mtu, shown, sizeof(shown)), s->mtu,
		       mac[0] ? mac : "-", start ? "true" : "false");
}

/* One RTM_NEWLINK/RTM_DELLINK: compare with what we knew and report the difference. */
static int link_changed(struct ht_env *env, struct rtnl_link *link, bool removed)
{
	struct netdev_state *s = find_state(rtnl_link_get_ifindex(link));
	unsigned int flags = rtnl_link_get_flags(link), mtu = rtnl_link_get_mtu(link);
	unsigned int changed, old_mtu = 0;
	const char *name = rtnl_link_get_name(link) ?: "";
	char status[128];
	int err = 0;

	if (removed) {
		if (!s)
			return 0;
		if (wanted(s->name, s->flags))
			err = report(env, s, link, "remove", "", 0, false);
		del_state(s);
		return err;
	}
	if (!s) {
		/* a new device, or one moved into this namespace */
		s = add_state(link);
		if (!s)
			return -ENOMEM;
		if (!wanted(s->name, flags))
			return 0;
		fmt_status(IFF_UP | IFF_LOWER_UP, flags, status, sizeof(status));
		return report(env, s, link, "add", status, 0, false);
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	changed = (s->flags ^ flags) & (IFF_UP | IFF_LOWER_UP);
	if (s->mtu != mtu)
		old_mtu = s->mtu;
	s->flags = flags;
	s->mtu = mtu;
	if ((!changed && !old_mtu) || !wanted(s->name, flags))
		return 0;
	if (changed & IFF_UP && !s->drv.driver[0])
		ht_ethtool_drvinfo(s->name, &s->drv);
	fmt_status(changed, flags, status, sizeof(status));
	return report(env, s, link, "change", status, old_mtu, false);
}

static void parse_link(struct nl_object *obj, void *arg)
{
	struct ht_env *env = arg;
	int type = nl_object_get_msgtype(obj);

	if (nd.err || (type != RTM_NEWLINK && type != RTM_DELLINK))
		return;
	nd.err = link_changed(env, (struct rtnl_link *)obj, type == RTM_DELLINK);
}

static int on_message(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, parse_link, arg);
	return nd.err ? NL_STOP : NL_OK;
}

static int on_readable(struct ht_env *env, void *ctx)
{
	struct nl_sock *sk = ctx;
	int err = nl_recvmsgs_default(sk);

	if (nd.err)
		return nd.err;
	if (err == -NLE_AGAIN || err >= 0)
		return 0;
	if (err == -NLE_NOMEM || err == -NLE_MSG_OVERFLOW) {
		/* socket overrun: notifications were dropped by the kernel */
		env->lost++;
		ht_warn(env, "rtnetlink overrun: some link notifications were lost");
		return 0;
	}
	ht_err(env, "reading rtnetlink: %s", nl_geterror(err));
	return -EIO;
}

/*
 * The tool holds the namespace it watches (its sockets are in it), so the kernel never
 * destroys it under us: what ends it for the user is its name going away (ip netns del, the
 * process of /proc/PID/ns/net exiting). Then no event can come: say so and stop.
 */
static int check_netns(struct ht_env *env, void *ctx)
{
	struct stat st;

	(void)ctx;
	if (!stat(nd.netns.path, &st) && st.st_dev == nd.netns_st.st_dev &&
	    st.st_ino == nd.netns_st.st_ino)
		return 0;
	ht_warn(env, "--netns %s: %s no longer names the namespace (deleted); stopping",
		nd.netns.spec, nd.netns.path);
	nd.netns_gone = true;
	return -ECANCELED;
}

/* ---- start ---- */

/* The devices as they are now: state for all, a start=true line for the wanted ones. */
static int baseline(struct ht_env *env, struct nl_cache *cache)
{
	int err = 0;

	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		struct netdev_state *s = find_state(rtnl_link_get_ifindex(link));
		char status[128];

		if (!s)
			s = add_state(link);
		if (!s)
			return -ENOMEM;
		if (!wanted(s->name, s->flags))
			continue;
		/* the current admin and carrier state, up or down */
		fmt_status(IFF_UP | IFF_LOWER_UP, s->flags, status, sizeof(status));
		err = report(env, s, link, nd.snapshot ? "snapshot" : "start", status, 0, true);
		if (err)
			break;
	}
	return err;
}

static void warn_missing_devs(struct ht_env *env, struct nl_cache *cache)
{
	for (int i = 0; i < nd.ndevs; i++) {
		struct rtnl_link *link = rtnl_link_get_by_name(cache, nd.devs[i]);

		if (link)
			rtnl_link_put(link);
		else
			ht_warn(env,
				"--dev %s: no such device%s%s (yet): reporting it when it "
				"appears",
				nd.devs[i], nd.netns.spec ? " in netns " : "", nd.netns.spec ?: "");
	}
}

static struct nl_sock *open_socket(struct ht_env *env, bool events)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		ht_err(env, "out of memory for a netlink socket");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err && events) {
		nl_socket_disable_seq_check(sk);
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, env);
		err = nl_socket_add_membership(sk, RTNLGRP_LINK);
		if (!err)
			err = nl_socket_set_nonblocking(sk);
		if (!err)
			nl_socket_set_buffer_size(sk, 1 << 20, 0);
	}
	if (err) {
		ht_err(env, "cannot open rtnetlink (RTNLGRP_LINK): %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static struct {
	struct nl_sock *sk, *dump;
	struct nl_cache *cache;
} link;

/* ---- --metrics: packet-loss counters per device (rtnetlink IFLA_STATS64) ---- */

/* two series per device in huatuo_bamai_netdev_up: the devices past this are left out */
#define METRIC_MAX_DEVS (HT_METRICS_MAX_SERIES / 2)
#define METRIC_CARRIER_CHANGES "huatuo_bamai_netdev_carrier_changes_total"
#define METRIC_UP "huatuo_bamai_netdev_up"

static const struct {
	const char *name;
	rtnl_link_stat_id_t id;
	const char *help;
} nic_counters[] = {
	{ "huatuo_bamai_netdev_rx_dropped_total", RTNL_LINK_RX_DROPPED,
	  "Received packets dropped by the driver or the stack before any protocol (rx_dropped)" },
	{ "huatuo_bamai_netdev_tx_dropped_total", RTNL_LINK_TX_DROPPED,
	  "Packets dropped on transmit: no buffer, queue or peer down (tx_dropped)" },
	{ "huatuo_bamai_netdev_rx_missed_errors_total", RTNL_LINK_RX_MISSED_ERR,
	  "Packets the NIC missed because its receive ring was full (rx_missed_errors)" },
	{ "huatuo_bamai_netdev_rx_fifo_errors_total", RTNL_LINK_RX_FIFO_ERR,
	  "Receive FIFO overruns in the NIC (rx_fifo_errors)" },
	{ "huatuo_bamai_netdev_rx_crc_errors_total", RTNL_LINK_RX_CRC_ERR,
	  "Frames received with a bad CRC: cabling, optics, ports (rx_crc_errors)" },
	{ "huatuo_bamai_netdev_rx_errors_total", RTNL_LINK_RX_ERRORS,
	  "Bad packets received, all causes (rx_errors)" },
	{ "huatuo_bamai_netdev_tx_errors_total", RTNL_LINK_TX_ERRORS,
	  "Packets the device failed to transmit, all causes (tx_errors)" },
};

static bool told_too_many; /* the devices past METRIC_MAX_DEVS were named once */

static int metric_families(struct ht_metrics *m)
{
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(nic_counters) && !err; i++)
		err = ht_metrics_family(m, nic_counters[i].name, "counter", nic_counters[i].help);
	err = err   ?:
		      ht_metrics_family(m, METRIC_CARRIER_CHANGES, "counter",
					"Carrier up and down transitions since the device was "
					"created (IFLA_CARRIER_CHANGES)");
	return err   ?:
		       ht_metrics_family(m, METRIC_UP, "gauge",
					 "1 if the device is up: link=\"admin\" set up by the "
					 "administrator (IFF_UP), link=\"carrier\" with a carrier "
					 "(IFF_LOWER_UP)");
}

static int metric_device(struct ht_metrics *m, struct rtnl_link *l, const char *driver)
{
	const char *name = rtnl_link_get_name(l) ?: "";
	const char *labels[] = { "device", name, "driver", driver, NULL, NULL, NULL };
	unsigned int flags = rtnl_link_get_flags(l);
	uint32_t changes;
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(nic_counters) && !err; i++)
		err = ht_metrics_set(m, nic_counters[i].name, labels,
				     rtnl_link_get_stat(l, nic_counters[i].id));
	if (!err && !rtnl_link_get_carrier_changes(l, &changes))
		err = ht_metrics_set(m, METRIC_CARRIER_CHANGES, labels, changes);
	labels[4] = "link";
	labels[5] = "admin";
	err = err ?: ht_metrics_set(m, METRIC_UP, labels, !!(flags & IFF_UP));
	labels[5] = "carrier";
	return err ?: ht_metrics_set(m, METRIC_UP, labels, !!(flags & IFF_LOWER_UP));
}

/* Before each --metrics rewrite: the counters of the devices there are now. */
static int collect_counters(struct ht_env *env, struct ht_metrics *m)
{
	struct nl_cache *cache;
	int err, ndevs = 0, skipped = 0;

	err = rtnl_link_alloc_cache(link.dump, AF_UNSPEC, &cache);
	if (err) {
		ht_err(env, "cannot list network devices: %s", nl_geterror(err));
		return -EIO;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nic_counters); i++)
		ht_metrics_reset(m, nic_counters[i].name);
	ht_metrics_reset(m, METRIC_CARRIER_CHANGES);
	ht_metrics_reset(m, METRIC_UP);
	err = 0;
	for (struct nl_object *o = nl_cache_get_first(cache); o && !err; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const struct netdev_state *s = find_state(rtnl_link_get_ifindex(l));
		struct ht_drvinfo drv = { 0 };

		if (!wanted(rtnl_link_get_name(l) ?: "", rtnl_link_get_flags(l)))
			continue;
		if (++ndevs > METRIC_MAX_DEVS) {
			skipped++;
			continue;
		}
		if (s && s->drv.driver[0])
			drv = s->drv;
		else
			ht_ethtool_drvinfo(rtnl_link_get_name(l) ?: "", &drv);
		err = metric_device(m, l, drv.driver);
	}
	nl_cache_free(cache);
	if (err) {
		ht_err(env, "--metrics: cannot keep the device counters: %s", strerror(-err));
		return err;
	}
	if (skipped && !told_too_many) {
		told_too_many = true;
		ht_warn(env,
			"--metrics: %d devices, only the first %d are written (use --dev to choose)",
			ndevs, METRIC_MAX_DEVS);
	}
	return 0;
}

static int prepare(struct ht_env *env)
{
	env->once = nd.snapshot; /* no banner: it reports and exits */
	if (ht_check_net_privilege(env))
		return 1;
	if (!nd.netns.spec)
		return 0;
	if (ht_netns_enter(env, nd.netns.spec, nd.netns.path))
		return 1;
	if (stat(nd.netns.path, &nd.netns_st)) {
		ht_err(env, "--netns %s: %s went away as it was entered: %s", nd.netns.spec,
		       nd.netns.path, strerror(errno));
		return 1;
	}
	return 0;
}

/* subscribe first, then read the baseline: nothing falls in between */
static int setup(struct ht_env *env)
{
	int err;

	link.sk = open_socket(env, true);
	link.dump = link.sk ? open_socket(env, false) : NULL;
	if (!link.dump)
		return 1;
	err = rtnl_link_alloc_cache(link.dump, AF_UNSPEC, &link.cache);
	if (err) {
		ht_err(env, "cannot list network devices: %s", nl_geterror(err));
		return 1;
	}
	if (env->metrics && metric_families(env->metrics)) {
		ht_err(env, "out of memory for --metrics");
		return 1;
	}
	ht_add_hook(env, "link", HT_PROBE_NONE, "rtnetlink RTNLGRP_LINK");
	if (env->metrics)
		ht_add_hook(env, "stats", HT_PROBE_NONE, "rtnetlink RTM_GETLINK IFLA_STATS64");
	return 0;
}

static int start(struct ht_env *env)
{
	warn_missing_devs(env, link.cache);
	return 0;
}

static int run(struct ht_env *env)
{
	int err;

	if (nd.snapshot && !env->json)
		printf("%-8s " HEADER_FMT "\n", "TIME", HEADER_COLS);
	err = baseline(env, link.cache);
	nl_cache_free(link.cache);
	link.cache = NULL;
	if (!env->metrics) { /* else it asks for the counters every --interval */
		nl_socket_free(link.dump);
		link.dump = NULL;
	}
	if (!err && !nd.snapshot)
		err = ht_run_fd(env, nl_socket_get_fd(link.sk), on_readable, link.sk,
				nd.netns.spec ? check_netns : NULL, NETNS_CHECK_NS);
	return nd.netns_gone ? 0 : err;
}

static void cleanup(void)
{
	nl_cache_free(link.cache);
	nl_socket_free(link.dump);
	nl_socket_free(link.sk);
	free(nd.state);
}

static const struct ht_tool tool = {
	.tracer_name = "netdev_events",
	.what = "network device link changes",
	.doc = doc,
	.options = options,
	.prepare = prepare,
	.setup = setup,
	.start = start,
	.header = { HEADER_FMT, { HEADER_COLS } },
	.run = run,
	.cleanup = cleanup,
	.metrics = { .labels = { "action" }, .collect = collect_counters },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
