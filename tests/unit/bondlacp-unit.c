// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-bondlacp's change tracking driven by synthetic RTM_NEWLINK/RTM_DELLINK messages (this
 * kernel has no bonding driver). Each argument is one message:
 *   new:IFINDEX:NAME:MASTER:ACTOR:PARTNER:AGG:MII:STATE    a bond slave (- = attribute absent)
 *   plain:IFINDEX:NAME                                     a link that is no bond slave
 *   del:IFINDEX:NAME                                       the link is gone
 * Events are printed as JSON lines, as the tool does with -j. Run from the top directory.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "bondlacp_track.h"
#include "huatuo.h"

/* the master's name: 1000 is the bond rtbond0 */
static char *test_if_indextoname(unsigned int ifindex, char *name)
{
	if (ifindex != 1000)
		return NULL;
	snprintf(name, IF_NAMESIZE, "%s", "rtbond0");
	return name;
}

static void put_opt(struct nl_msg *m, int type, const char *v, int size)
{
	if (!v || !strcmp(v, "-"))
		return;
	if (size == 1)
		nla_put_u8(m, type, (uint8_t)strtoul(v, NULL, 0));
	else
		nla_put_u16(m, type, (uint16_t)strtoul(v, NULL, 0));
}

static struct nl_msg *build(char *spec)
{
	char *f[9] = { 0 };
	struct ifinfomsg ifi = { 0 };
	struct nl_msg *m;
	struct nlattr *info, *data;
	int n = 0;

	for (char *tok = strtok(spec, ":"); tok && n < 9; tok = strtok(NULL, ":"))
		f[n++] = tok;
	if (n < 3)
		return NULL;
	m = nlmsg_alloc_simple(!strcmp(f[0], "del") ? RTM_DELLINK : RTM_NEWLINK, 0);
	if (!m)
		return NULL;
	ifi.ifi_index = atoi(f[1]);
	nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	nla_put_string(m, IFLA_IFNAME, f[2]);
	if (strcmp(f[0], "new"))
		return m;
	if (n < 9 || !f[3]) {
		nlmsg_free(m);
		return NULL;
	}
	nla_put_u32(m, IFLA_MASTER, (uint32_t)atoi(f[3]));
	info = nla_nest_start(m, IFLA_LINKINFO);
	nla_put_string(m, IFLA_INFO_SLAVE_KIND, "bond");
	data = nla_nest_start(m, IFLA_INFO_SLAVE_DATA);
	put_opt(m, IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE, f[4], 1);
	put_opt(m, IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE, f[5], 2);
	put_opt(m, IFLA_BOND_SLAVE_AD_AGGREGATOR_ID, f[6], 2);
	put_opt(m, IFLA_BOND_SLAVE_MII_STATUS, f[7], 1);
	put_opt(m, IFLA_BOND_SLAVE_STATE, f[8], 1);
	nla_nest_end(m, data);
	nla_nest_end(m, info);
	return m;
}

int main(int argc, char **argv)
{
	static struct ht_env env = { .tool = "huatuo-bondlacp",
				     .tracer_name = "netdev_bonding_lacp",
				     .json = true };
	/* the fixtures stand in for /proc/net/bonding (rtbond0: a link to 8023ad-slave-down.txt) */
	static struct bond_ctx bctx = { .env = &env,
					.proc_bonding = "tests/unit/fixtures/bonding",
					.ifname = test_if_indextoname };

	bctx.content = malloc(BOND_CONTENT_MAX);
	for (int i = 1; i < argc; i++) {
		struct nl_msg *m = build(argv[i]);

		if (!m) {
			fprintf(stderr, "bad message spec %s\n", argv[i]);
			return 64;
		}
		bond_on_msg(m, &bctx);
		nlmsg_free(m);
	}
	free(bctx.content);
	printf("events=%llu\n", (unsigned long long)env.events);
	return 0;
}
