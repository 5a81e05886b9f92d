// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-pfc: Priority Flow Control counters of every DCB-capable device (pause frames sent
 * and received per priority, from DCB netlink), as Prometheus text for node_exporter's
 * textfile collector, or as JSON lines.
 */
#include <errno.h>
#include <linux/dcbnl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "huatuo.h"
#include "metrics.h"
#include "netlink.h"

#define MAX_DEVS 64

struct pfc_ctx {
	const char *devs[MAX_DEVS];
	int ndevs;
	struct ht_netns_arg netns;
	struct nl_sock *sk;
	struct ht_metrics *metrics; /* env->metrics, or the exposition printed once */
	struct ht_metrics *once;
	bool told_no_dcb; /* the "no DCB on ..." line was printed */
	int with_pfc;	  /* devices with PFC counters in the last round */
};

static struct pfc_ctx pfc;

static const char doc[] =
	"Print the Priority Flow Control counters (PFC pause frames sent and received per "
	"priority) of every device with DCB, as Prometheus text or JSON lines.\n"
	"\v"
	"Examples:\n"
	"  huatuo-pfc                        # exposition of every DCB device, once\n"
	"  huatuo-pfc --dev eth0 -j | jq .   # one JSON object for eth0\n"
	"  huatuo-pfc --metrics /var/lib/node_exporter/textfile/pfc.prom --interval 30s\n"
	"  huatuo-pfc --netns blue -v        # devices of 'ip netns add blue', say which lack DCB\n";

static const struct ht_option options[] = {
	HT_IFNAMES("dev", "NAME", pfc.devs, &pfc.ndevs,
		   "Only this device (repeatable; default every device but loopback, and exit 0 "
		   "even if none has DCB; with --dev, exit 1 when none of them has DCB)"),
	HT_NETNS_PATH("netns", "NAME|PATH", &pfc.netns,
		      "Devices of another network namespace: a name from 'ip netns add' or a path "
		      "such as /proc/PID/ns/net"),
	{ 0 },
};

/* ---- DCB ---- */

/* Ask the kernel for @ifname's IEEE DCB state: 0 (see @out) or -errno (-EOPNOTSUPP: no DCB). */
static int query_pfc(const char *ifname, struct ht_dcb_pfc *out)
{
	struct dcbmsg dcb = { .dcb_family = AF_UNSPEC, .cmd = DCB_CMD_IEEE_GET };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETDCB, NLM_F_REQUEST);
	struct sockaddr_nl peer;
	unsigned char *buf = NULL;
	int n;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &dcb, sizeof(dcb), NLMSG_ALIGNTO) ||
	    nla_put_string(msg, DCB_ATTR_IFNAME, ifname)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	n = nl_send_auto(pfc.sk, msg);
	nlmsg_free(msg);
	if (n < 0)
		return -EIO;
	n = nl_recv(pfc.sk, &peer, &buf, NULL);
	if (n <= 0) {
		free(buf);
		return -EIO;
	}
	n = ht_dcb_parse_ieee(buf, (size_t)n, out);
	free(buf);
	if (!n && !out->has_pfc)
		return -ENODATA; /* DCB, but the driver reports no PFC */
	if (!n)
		snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	return n;
}

static const char *no_dcb_reason(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return "no DCB support";
	case -ENODEV:
		return "no such device";
	case -ENODATA:
		return "DCB without PFC";
	case -E2BIG:
		return "past the 62 devices a file holds";
	default:
		return strerror(-err);
	}
}

/* ---- one collection round ---- */

struct round {
	int with_pfc;
	char without[1024]; /* "veth0 (no DCB support), ..." */
	size_t used;
};

static void note_without(struct round *r, const char *name, int err)
{
	if (r->used < sizeof(r->without))
		r->used += (size_t)snprintf(r->without + r->used, sizeof(r->without) - r->used,
					    "%s%s (%s)", r->used ? ", " : "", name,
					    no_dcb_reason(err));
}

static int report_json(struct ht_env *env, const struct ht_dcb_pfc *p)
{
	cJSON *d = cJSON_CreateObject(), *rx, *tx;

	if (!d)
		return -ENOMEM;
	cJSON_AddStringToObject(d, "device", p->ifname);
	cJSON_AddNumberToObject(d, "pfc_cap", p->pfc_cap);
	cJSON_AddNumberToObject(d, "pfc_en", p->pfc_en);
	rx = cJSON_AddArrayToObject(d, "received_total");
	tx = cJSON_AddArrayToObject(d, "send_total");
	for (int i = 0; i < HT_PFC_PRIOS; i++) {
		char num[24];

		/* exact 64-bit counters: as strings would break sums in jq, use numbers */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)p->indications[i]);
		cJSON_AddItemToArray(rx, cJSON_CreateRaw(num));
		snprintf(num, sizeof(num), "%llu", (unsigned long long)p->requests[i]);
		cJSON_AddItemToArray(tx, cJSON_CreateRaw(num));
	}
	return ht_emit(env, d, NULL, "manual", "%s", p->ifname);
}

static int collect_one(struct ht_env *env, const char *name, struct round *r)
{
	struct ht_dcb_pfc p;
	int err = query_pfc(name, &p);

	if (err == -ENOMEM)
		return err;
	if (err) {
		note_without(r, name, err);
		return 0;
	}
	err = ht_pfc_metrics_set(pfc.metrics, &p);
	if (err == -E2BIG) { /* past the series cap: named with the devices without DCB */
		note_without(r, name, err);
		return 0;
	}
	if (err)
		return err;
	r->with_pfc++;
	if (!env->json || (env->count && env->events >= env->count))
		return 0;
	return report_json(env, &p);
}

static int collect(struct ht_env *env, struct round *r)
{
	struct nl_cache *cache;
	int err = 0;

	memset(r, 0, sizeof(*r));
	/* the devices of this round only: one that went away leaves the exposition */
	ht_metrics_reset(pfc.metrics, HT_PFC_METRIC_RX);
	ht_metrics_reset(pfc.metrics, HT_PFC_METRIC_TX);
	if (pfc.ndevs) {
		for (int i = 0; i < pfc.ndevs && !err; i++)
			err = collect_one(env, pfc.devs[i], r);
		return err;
	}
	err = rtnl_link_alloc_cache(pfc.sk, AF_UNSPEC, &cache);
	if (err) {
		ht_err(env, "cannot list network devices: %s", nl_geterror(err));
		return -EIO;
	}
	err = 0;
	for (struct nl_object *o = nl_cache_get_first(cache); o && !err; o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;

		if (!(rtnl_link_get_flags(link) & IFF_LOOPBACK))
			err = collect_one(env, rtnl_link_get_name(link), r);
	}
	nl_cache_free(cache);
	return err;
}

/* Say once (every round with -v) which devices have no DCB. */
static void tell_without(struct ht_env *env, const struct round *r)
{
	if (!r->used || (pfc.told_no_dcb && !env->verbose))
		return;
	pfc.told_no_dcb = true;
	ht_warn(env, "no PFC counters for %s", r->without);
}

/* One round, for the exposition printed once or before each --metrics rewrite. */
static int refresh(struct ht_env *env, struct ht_metrics *m)
{
	struct round r;
	int err;

	(void)m;
	err = collect(env, &r);
	if (err == -ENOMEM)
		ht_err(env, "out of memory for the PFC counters");
	if (err)
		return err;
	tell_without(env, &r);
	pfc.with_pfc = r.with_pfc;
	return 0;
}

static int open_socket(struct ht_env *env)
{
	int err;

	pfc.sk = nl_socket_alloc();
	if (!pfc.sk) {
		ht_err(env, "out of memory for a netlink socket");
		return 1;
	}
	err = nl_connect(pfc.sk, NETLINK_ROUTE);
	if (err) {
		ht_err(env, "cannot open rtnetlink: %s", nl_geterror(err));
		return 1;
	}
	/* requests and replies strictly alternate on this socket, with no notifications */
	nl_socket_disable_seq_check(pfc.sk);
	return 0;
}

static int prepare(struct ht_env *env)
{
	if (ht_check_net_privilege(env))
		return 1;
	if (pfc.netns.spec && ht_netns_enter(env, pfc.netns.spec, pfc.netns.path))
		return 1;
	env->once = !env->metrics; /* prints the counters once */
	return 0;
}

static int setup(struct ht_env *env)
{
	struct round r;

	pfc.metrics = env->metrics ?: (pfc.once = ht_metrics_for(env, "-"));
	if (!pfc.metrics || ht_pfc_metrics_families(pfc.metrics)) {
		ht_err(env, "out of memory for the PFC counters");
		return 1;
	}
	if (open_socket(env))
		return 1;
	if (!env->check)
		return 0;
	if (collect(env, &r))
		return 1;
	if (!r.with_pfc) {
		ht_err(env, "no device with DCB PFC here: %s",
		       r.used ? r.without : "no network device");
		return 1;
	}
	ht_add_hook(env, "pfc", HT_PROBE_NONE, "rtnetlink RTM_GETDCB DCB_CMD_IEEE_GET");
	return 0;
}

/* --metrics: the first round ran at start (ht_main), the next ones every --interval */
static int run(struct ht_env *env)
{
	int err;

	if (!env->metrics) {
		err = refresh(env, pfc.metrics);
		if (err)
			return err;
	}
	if (!pfc.with_pfc && pfc.ndevs) {
		ht_err(env, "none of the --dev devices has DCB PFC counters");
		env->exit_code = 1;
		return 0;
	}
	if (env->metrics)
		return ht_run_fd(env, -1, NULL, NULL, NULL, 0);
	if (!env->json)
		ht_metrics_print(pfc.metrics, stdout);
	return 0;
}

static void cleanup(void)
{
	nl_socket_free(pfc.sk);
	ht_metrics_free(pfc.once);
}

static const struct ht_tool tool = {
	.tracer_name = "netdev_dcb_pfc",
	.what = "PFC counters",
	.doc = doc,
	.opt_docs =
		(const struct ht_opt_doc[]){
			{ "metrics",
			  "Rewrite FILE atomically every --interval until stopped, instead of "
			  "printing once" },
			{ NULL } },
	.options = options,
	.prepare = prepare,
	.setup = setup,
	.run = run,
	.cleanup = cleanup,
	.metrics = { .collect = refresh, .counters_only = true },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
