// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-bondlacp: report 802.3ad (LACP) state changes of bond slaves. rtnetlink tells which
 * slave changed (RTM_NEWLINK, IFLA_BOND_SLAVE_AD_* attributes); each event carries the bond's
 * whole /proc/net/bonding/<bond> text at that moment, as HUATUO stores it, plus parsed fields.
 * No BPF: the bonding module's functions are not tracepoints.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>

#include "bonding.h"
#include "huatuo.h"

#ifndef PROC_BONDING
#define PROC_BONDING "/proc/net/bonding"
#endif
#define MAX_SLAVES 256
#define CONTENT_MAX (256 * 1024)

static const char doc[] =
	"Report 802.3ad LACP state changes on bond slaves (actor/partner port state, aggregator, "
	"MII status, active/backup), with the bond's /proc/net/bonding text at that moment.\n"
	"\v"
	"Examples:\n"
	"  huatuo-bondlacp                   # table of LACP changes until Ctrl-C\n"
	"  huatuo-bondlacp -j | jq .tracer_data.content -r\n"
	"  huatuo-bondlacp -j -c 1 -d 10m    # wait up to 10 minutes for one change\n"
	"  huatuo-bondlacp --wait            # start before any bond exists\n";

struct slave {
	bool used;
	struct ht_bond_slave_nl last;
};

struct bond_ctx {
	bool wait;
	bool seen_bond; /* a bond link in the dump or later */
	bool initial;	/* in the initial dump: record, do not report */
	struct nl_sock *sk;
	struct ht_env *env;
	int err; /* first handler error (-EPIPE: reader gone) */
	struct slave slaves[MAX_SLAVES];
	char *content;
};

static struct bond_ctx bctx;

static const struct ht_option options[] = {
	HT_FLAG("wait", &bctx.wait,
		"Keep running when no bonding interface exists yet, and report bonds that appear"),
	{ 0 },
};

static bool proc_bonding_has_bonds(void)
{
	DIR *d = opendir(PROC_BONDING);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static struct slave *find_slave(struct bond_ctx *c, int ifindex, bool create)
{
	struct slave *free_slot = NULL;

	for (int i = 0; i < MAX_SLAVES; i++) {
		if (c->slaves[i].used && c->slaves[i].last.ifindex == ifindex)
			return &c->slaves[i];
		if (!c->slaves[i].used && !free_slot)
			free_slot = &c->slaves[i];
	}
	return create ? free_slot : NULL;
}

static void add_state(cJSON *d, const char *key, unsigned int state)
{
	char names_key[64];
	cJSON *arr = cJSON_CreateArray();

	cJSON_AddNumberToObject(d, key, state);
	for (int i = 0; i < 8; i++)
		if (state & (1U << i))
			cJSON_AddItemToArray(arr, cJSON_CreateString(ht_lacp_state_names[i]));
	snprintf(names_key, sizeof(names_key), "%s_flags", key);
	cJSON_AddItemToObject(d, names_key, arr);
}

/* Names of what differs between @a (before) and @b (now), comma-joined into @buf. */
static void changes(const struct ht_bond_slave_nl *a, const struct ht_bond_slave_nl *b, char *buf,
		    size_t len)
{
	const struct {
		const char *name;
		bool differs;
	} f[] = {
		{ "actor_oper_port_state",
		  a->has_actor_state != b->has_actor_state ||
			  a->actor_oper_port_state != b->actor_oper_port_state },
		{ "partner_oper_port_state",
		  a->has_partner_state != b->has_partner_state ||
			  a->partner_oper_port_state != b->partner_oper_port_state },
		{ "aggregator_id", a->has_aggregator_id != b->has_aggregator_id ||
					   a->aggregator_id != b->aggregator_id },
		{ "slave_state", a->has_state != b->has_state || a->state != b->state },
		{ "mii_status",
		  a->has_mii_status != b->has_mii_status || a->mii_status != b->mii_status },
		{ "master", a->master != b->master },
	};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (f[i].differs && off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", f[i].name);
}

/* HUATUO's content: the file path, a newline, the file text. */
static void add_content(cJSON *d, const char *path, const char *text, size_t len)
{
	size_t size = strlen(path) + 1 + len + 1;
	char *buf = malloc(size);
	int off;

	if (!buf) {
		cJSON_AddStringToObject(d, "content", "");
		return;
	}
	off = snprintf(buf, size, "%s\n", path);
	memcpy(buf + off, text, len);
	ht_json_add_bytes(d, "content", buf, (size_t)off + len);
	free(buf);
}

static void add_proc(cJSON *d, const char *bond, const char *slave, struct bond_ctx *c)
{
	static struct ht_bond_info info;
	const struct ht_bond_slave *s;
	char path[64 + HT_BOND_NAME_LEN];
	int n;

	snprintf(path, sizeof(path), PROC_BONDING "/%s", bond);
	n = ht_read_file(path, c->content, CONTENT_MAX);
	if (n < 0) {
		cJSON_AddStringToObject(d, "content", "");
		return;
	}
	add_content(d, path, c->content, (size_t)n);
	if (ht_bonding_parse(c->content, (size_t)n, &info))
		return;
	cJSON_AddStringToObject(d, "bond_mode", info.mode);
	cJSON_AddStringToObject(d, "bond_mii_status", info.mii_status);
	if (info.active_aggregator_id >= 0)
		cJSON_AddNumberToObject(d, "active_aggregator_id", info.active_aggregator_id);
	s = ht_bonding_slave(&info, slave);
	if (!s)
		return;
	if (s->actor_churn_state[0]) {
		cJSON_AddStringToObject(d, "actor_churn_state", s->actor_churn_state);
		cJSON_AddStringToObject(d, "partner_churn_state", s->partner_churn_state);
	}
	if (s->link_failure_count >= 0)
		ht_json_add_s64(d, "link_failure_count", s->link_failure_count);
	if (s->speed_mbps >= 0)
		cJSON_AddNumberToObject(d, "speed_mbps", s->speed_mbps);
	if (s->partner_system_mac[0])
		cJSON_AddStringToObject(d, "partner_system_mac", s->partner_system_mac);
}

static int report(struct bond_ctx *c, const struct ht_bond_slave_nl *prev,
		  const struct ht_bond_slave_nl *now)
{
	char bond[IF_NAMESIZE + 1] = "", changed[160], actor[8] = "-", partner[8] = "-",
				agg[8] = "-";
	cJSON *d = cJSON_CreateObject();

	if (!if_indextoname((unsigned int)now->master, bond))
		snprintf(bond, sizeof(bond), "%s", "");
	changes(prev, now, changed, sizeof(changed));
	cJSON_AddStringToObject(d, "bond", bond);
	ht_json_add_bytes(d, "slave", now->ifname, sizeof(now->ifname));
	cJSON_AddNumberToObject(d, "ifindex", now->ifindex);
	cJSON_AddNumberToObject(d, "master_ifindex", now->master);
	if (now->has_actor_state) {
		add_state(d, "actor_oper_port_state", now->actor_oper_port_state);
		snprintf(actor, sizeof(actor), "%u", now->actor_oper_port_state);
	}
	if (now->has_partner_state) {
		add_state(d, "partner_oper_port_state", now->partner_oper_port_state);
		snprintf(partner, sizeof(partner), "%u", now->partner_oper_port_state);
	}
	if (now->has_aggregator_id) {
		cJSON_AddNumberToObject(d, "aggregator_id", now->aggregator_id);
		snprintf(agg, sizeof(agg), "%u", now->aggregator_id);
	}
	if (now->has_mii_status)
		cJSON_AddStringToObject(d, "mii_status", ht_bond_link_status_name(now->mii_status));
	if (now->has_state)
		cJSON_AddStringToObject(d, "slave_state", ht_bond_slave_state_name(now->state));
	cJSON_AddStringToObject(d, "changed", changed);
	if (prev->has_actor_state)
		cJSON_AddNumberToObject(d, "prev_actor_oper_port_state",
					prev->actor_oper_port_state);
	if (prev->has_partner_state)
		cJSON_AddNumberToObject(d, "prev_partner_oper_port_state",
					prev->partner_oper_port_state);
	if (prev->has_aggregator_id)
		cJSON_AddNumberToObject(d, "prev_aggregator_id", prev->aggregator_id);
	add_proc(d, bond, now->ifname, c);
	return ht_emit(c->env, d, NULL, "auto", "%-16s %-16s %-10s %5s %7s %7s %s",
		       bond[0] ? bond : "-", now->ifname[0] ? now->ifname : "-",
		       now->has_mii_status ? ht_bond_link_status_name(now->mii_status) : "-", agg,
		       actor, partner, changed);
}

static bool same_state(const struct ht_bond_slave_nl *a, const struct ht_bond_slave_nl *b)
{
	char buf[160];

	changes(a, b, buf, sizeof(buf));
	return !buf[0];
}

/* One rtnetlink message: track bond slaves, report when one's state changes. */
static int on_msg(struct nl_msg *msg, void *arg)
{
	struct bond_ctx *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ht_bond_slave_nl now;
	struct slave *s;
	int err;

	if (ht_bond_slave_from_nlmsg(nlh, nlh->nlmsg_len, &now) != 1)
		return NL_OK;
	if (now.is_bond)
		c->seen_bond = true;
	s = find_slave(c, now.ifindex, false);
	if (now.msg_type == RTM_DELLINK || !now.is_bond_slave) {
		if (s)
			s->used = false;
		return NL_OK;
	}
	if (!s) {
		/* a new slave: its state now is the baseline */
		s = find_slave(c, now.ifindex, true);
		if (!s) {
			ht_warn(c->env, "more than %d bond slaves: %s not tracked", MAX_SLAVES,
				now.ifname);
			return NL_OK;
		}
		s->used = true;
		s->last = now;
		return NL_OK;
	}
	if (!c->initial && !same_state(&s->last, &now)) {
		err = report(c, &s->last, &now);
		if (err && !c->err)
			c->err = err;
	}
	s->last = now;
	return c->err ? NL_STOP : NL_OK;
}

static int on_readable(struct ht_env *env, void *ctx)
{
	struct bond_ctx *c = ctx;
	int err;

	(void)env;
	err = nl_recvmsgs_default(c->sk);
	if (c->err)
		return c->err;
	if (err == -NLE_NOMEM) {
		/* ENOBUFS: the socket overran; changes in between are lost, say so */
		ht_warn(env, "rtnetlink receive buffer overrun: some link changes were missed");
		return 0;
	}
	if (err < 0 && err != -NLE_AGAIN && err != -NLE_INTR) {
		ht_err(env, "reading rtnetlink: %s", nl_geterror(err));
		return -EIO;
	}
	return 0;
}

/* Subscribe to link changes and learn the current slaves from a dump. */
static int open_rtnetlink(struct bond_ctx *c)
{
	int err;

	c->sk = nl_socket_alloc();
	if (!c->sk)
		return -NLE_NOMEM;
	nl_socket_disable_seq_check(c->sk);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, c);
	err = nl_connect(c->sk, NETLINK_ROUTE);
	if (!err)
		err = nl_socket_add_membership(c->sk, RTNLGRP_LINK);
	if (!err)
		err = nl_rtgen_request(c->sk, RTM_GETLINK, AF_UNSPEC, NLM_F_DUMP);
	c->initial = true;
	if (!err)
		err = nl_recvmsgs_default(c->sk);
	c->initial = false;
	if (!err)
		err = nl_socket_set_nonblocking(c->sk);
	return err < 0 ? err : 0;
}

static int prepare(struct ht_env *env)
{
	bctx.env = env;
	if (geteuid() != 0) {
		ht_err(env, "need root (CAP_NET_ADMIN) to read LACP details of bonds");
		return 1;
	}
	return 0;
}

static int setup(struct ht_env *env, void *skel)
{
	int err;

	(void)skel;
	bctx.content = malloc(CONTENT_MAX);
	err = bctx.content ? open_rtnetlink(&bctx) : -NLE_NOMEM;
	if (err) {
		ht_err(env, "cannot open rtnetlink: %s", nl_geterror(err));
		return 1;
	}
	ht_add_hook(env, "bond_slave_state", HT_PROBE_NONE, "rtnetlink RTNLGRP_LINK");
	ht_add_hook(env, "bond_text", HT_PROBE_NONE, PROC_BONDING);
	if (!bctx.seen_bond && !proc_bonding_has_bonds() && (!bctx.wait || env->check)) {
		ht_err(env,
		       "no bonding interface: no bond link in this network namespace and "
		       "nothing in " PROC_BONDING "%s",
		       env->check ? "" : " (--wait to wait for one)");
		return 1;
	}
	return 0;
}

static int run(struct ht_env *env, void *skel)
{
	(void)skel;
	return ht_run_fd(env, nl_socket_get_fd(bctx.sk), on_readable, &bctx, NULL, 0);
}

static void cleanup(struct ht_env *env, void *skel)
{
	(void)env, (void)skel;
	nl_socket_free(bctx.sk);
	free(bctx.content);
}

static const struct ht_tool tool = {
	.name = "huatuo-bondlacp",
	.tracer_name = "netdev_bonding_lacp",
	.what = "bond LACP state changes",
	.doc = doc,
	.options = options,
	.prepare = prepare,
	.setup = setup,
	.header = { "%-16s %-16s %-10s %5s %7s %7s %s",
		    { "BOND", "SLAVE", "MII", "AGG", "ACTOR", "PARTNER", "CHANGED" } },
	.run = run,
	.cleanup = cleanup,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
