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
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>

#include "bondlacp_track.h"
#include "bonding.h"
#include "huatuo.h"

#define PROC_BONDING "/proc/net/bonding"

static const char doc[] =
	"Report 802.3ad LACP state changes on bond slaves (actor/partner port state, aggregator, "
	"MII status, active/backup), with the bond's /proc/net/bonding text at that moment.\n"
	"\v"
	"Examples:\n"
	"  huatuo-bondlacp                   # table of LACP changes until Ctrl-C\n"
	"  huatuo-bondlacp -j | jq .tracer_data.content -r\n"
	"  huatuo-bondlacp -j -c 1 -d 10m    # wait up to 10 minutes for one change\n"
	"  huatuo-bondlacp --wait            # start before any bond exists\n";

static struct bond_ctx bctx = { .proc_bonding = PROC_BONDING, .ifname = if_indextoname };

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
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, bond_on_msg, c);
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

static int setup(struct ht_env *env)
{
	int err;

	bctx.content = malloc(BOND_CONTENT_MAX);
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

static int run(struct ht_env *env)
{
	return ht_run_fd(env, nl_socket_get_fd(bctx.sk), on_readable, &bctx, NULL, 0);
}

static void cleanup(void)
{
	nl_socket_free(bctx.sk);
	free(bctx.content);
}

static const struct ht_tool tool = {
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
