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
#include <sys/stat.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "huatuo.h"
#include "metrics.h"
#include "netlink.h"

#define MAX_DEVS 64
#define INTERVAL_DEFAULT_NS (15 * NSEC_PER_SEC)
#define INTERVAL_MAX_NS (24 * 3600 * NSEC_PER_SEC)

enum {
	OPT_DEV = 0x100,
	OPT_NETNS,
	OPT_METRICS,
	OPT_INTERVAL,
};

struct pfc_ctx {
	const char *devs[MAX_DEVS];
	int ndevs;
	const char *netns;
	char netns_path[4096];
	const char *metrics_path;
	bool interval_set;
	uint64_t interval_ns;
	struct nl_sock *sk;
	struct ht_metrics *metrics;
	bool told_no_dcb;    /* the "no DCB on ..." line was printed */
	bool metrics_failed; /* warned once about a failed rewrite */
};

static struct pfc_ctx pfc = { .interval_ns = INTERVAL_DEFAULT_NS };

static const char doc[] =
	"Print the Priority Flow Control counters (PFC pause frames sent and received per "
	"priority) of every device with DCB, as Prometheus text or JSON lines.\n"
	"\v"
	"Examples:\n"
	"  huatuo-pfc                        # exposition of every DCB device, once\n"
	"  huatuo-pfc --dev eth0 -j | jq .   # one JSON object for eth0\n"
	"  huatuo-pfc --metrics /var/lib/node_exporter/textfile/pfc.prom --interval 30s\n"
	"  huatuo-pfc --netns blue -v        # devices of 'ip netns add blue', say which lack DCB\n";

static const struct argp_option options[] = {
	{ "dev", OPT_DEV, "NAME", 0,
	  "Only this device (repeatable; default every device but loopback, and exit 0 even if "
	  "none has DCB; with --dev, exit 1 when none of them has DCB)",
	  0 },
	{ "netns", OPT_NETNS, "NAME|PATH", 0,
	  "Devices of another network namespace: a name from 'ip netns add' or a path such as "
	  "/proc/PID/ns/net",
	  0 },
	{ "metrics", OPT_METRICS, "FILE", 0,
	  "Rewrite FILE atomically every --interval until stopped, instead of printing once", 0 },
	{ "interval", OPT_INTERVAL, "DUR", 0,
	  "How often --metrics is rewritten (default 15s; bare number = seconds)", 0 },
	{ 0 },
};

static void check_metrics_path(struct argp_state *state, const char *arg)
{
	char dir[4096];
	struct stat st;
	char *slash;

	if (!*arg)
		ht_usage_error(state, "invalid --metrics '': expected a file name");
	snprintf(dir, sizeof(dir), "%s", arg);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		ht_usage_error(state, "invalid --metrics '%s': directory %s does not exist", arg,
			       dir);
	if (!stat(arg, &st) && S_ISDIR(st.st_mode))
		ht_usage_error(state, "invalid --metrics '%s': is a directory", arg);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_DEV:
		ht_opt_ifname(state, "dev", arg);
		if (pfc.ndevs == MAX_DEVS)
			ht_usage_error(state, "invalid --dev '%s': at most %d devices", arg,
				       MAX_DEVS);
		pfc.devs[pfc.ndevs++] = arg;
		break;
	case OPT_NETNS:
		if (ht_netns_path(arg, pfc.netns_path, sizeof(pfc.netns_path)))
			ht_usage_error(state, "invalid --netns '%s': %s does not exist", arg,
				       *arg ? pfc.netns_path : "''");
		pfc.netns = arg;
		break;
	case OPT_METRICS:
		check_metrics_path(state, arg);
		pfc.metrics_path = arg;
		break;
	case OPT_INTERVAL:
		pfc.interval_ns = ht_opt_duration(state, "interval", arg, NSEC_PER_SEC,
						  NSEC_PER_SEC, INTERVAL_MAX_NS);
		pfc.interval_set = true;
		break;
	case ARGP_KEY_END:
		if (pfc.interval_set && !pfc.metrics_path)
			ht_usage_error(state, "invalid --interval: only meaningful with --metrics");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { .options = options, .parser = parse_opt, .doc = doc };

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
	r->with_pfc++;
	if (ht_pfc_metrics_set(pfc.metrics, &p))
		return -ENOMEM;
	if (!env->json || (env->count && env->events >= env->count))
		return 0;
	return report_json(env, &p);
}

static int collect(struct ht_env *env, struct round *r)
{
	struct nl_cache *cache;
	int err = 0;

	memset(r, 0, sizeof(*r));
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

static int write_metrics(struct ht_env *env)
{
	int err = ht_metrics_write(pfc.metrics);

	if (err && !pfc.metrics_failed)
		ht_warn(env, "cannot rewrite --metrics %s: %s (will keep trying)", pfc.metrics_path,
			ht_metrics_why(pfc.metrics));
	pfc.metrics_failed = err != 0;
	return err;
}

static int tick(struct ht_env *env, void *ctx)
{
	struct round r;
	int err;

	(void)ctx;
	err = collect(env, &r);
	if (err)
		return err;
	tell_without(env, &r);
	write_metrics(env);
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
	if (pfc.netns && ht_netns_enter(env, pfc.netns, pfc.netns_path))
		return 1;
	env->once = !pfc.metrics_path; /* prints the counters once */
	return 0;
}

static int setup(struct ht_env *env, void *skel)
{
	struct round r;

	(void)skel;
	pfc.metrics = ht_metrics_new(pfc.metrics_path ?: "-");
	if (!pfc.metrics || ht_pfc_metrics_families(pfc.metrics)) {
		ht_err(env, "out of memory for the PFC counters");
		return 1;
	}
	if (open_socket(env))
		return 1;
	if (pfc.metrics_path && !env->check && ht_metrics_check(pfc.metrics)) {
		ht_err(env, "cannot write --metrics %s: %s", pfc.metrics_path,
		       ht_metrics_why(pfc.metrics));
		return 1;
	}
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

static int run(struct ht_env *env, void *skel)
{
	struct round r;
	int err;

	(void)skel;
	err = collect(env, &r);
	if (err)
		return err;
	tell_without(env, &r);
	if (!r.with_pfc && pfc.ndevs) {
		ht_err(env, "none of the --dev devices has DCB PFC counters");
		env->exit_code = 1;
		return 0;
	}
	if (!pfc.metrics_path) {
		if (!env->json)
			ht_metrics_print(pfc.metrics, stdout);
		return 0;
	}
	err = ht_metrics_write(pfc.metrics);
	if (err) {
		ht_err(env, "cannot write --metrics %s: %s", pfc.metrics_path,
		       ht_metrics_why(pfc.metrics));
		env->exit_code = 1;
		return 0;
	}
	return ht_run_fd(env, -1, NULL, NULL, tick, pfc.interval_ns);
}

static void cleanup(struct ht_env *env, void *skel)
{
	(void)env, (void)skel;
	nl_socket_free(pfc.sk);
	ht_metrics_free(pfc.metrics);
}

int main(int argc, char **argv)
{
	struct ht_env env = { .tool = "huatuo-pfc",
			      .tracer_name = "netdev_dcb_pfc",
			      .what = "PFC counters" };
	static const struct ht_tool tool = {
		.argp = &argp,
		.prepare = prepare,
		.setup = setup,
		.run = run,
		.cleanup = cleanup,
	};

	return ht_main(&env, &tool, argc, argv);
}
