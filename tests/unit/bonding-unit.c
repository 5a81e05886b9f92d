// SPDX-License-Identifier: GPL-2.0
/*
 * Drives libcommon/bonding.c from tests/unit/bonding.bats:
 *   bonding-unit proc FILE          parse a /proc/net/bonding text, print what was understood
 *   bonding-unit lacp STATE         decode 802.3ad port state bits
 *   bonding-unit nl KEY=VAL...      build an RTM_NEWLINK message, parse it back
 *       keys: type index name master kind slave_kind state mii agg actor partner(u16)
 *             partner8(u8) churn_a churn_p trunc(bytes cut from the end) nlmsg_len
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "bonding.h"
#include "huatuo.h"

static int proc(const char *path)
{
	static char text[65536];
	static struct ht_bond_info b;
	char st[128];
	int n = ht_read_file(path, text, sizeof(text));

	if (n < 0 || ht_bonding_parse(text, (size_t)n, &b)) {
		printf("error\n");
		return 1;
	}
	printf("version=%s\nmode=%d %s\nmii=%s\nactive_slave=%s\nlacp_rate=%s\n", b.version,
	       b.mode_id, b.mode, b.mii_status, b.active_slave, b.lacp_rate);
	printf("active_aggregator=%d partner_mac=%s\nslaves=%d/%d\n", b.active_aggregator_id,
	       b.partner_mac, b.nslaves, b.slaves_total);
	for (int i = 0; i < b.nslaves; i++) {
		const struct ht_bond_slave *s = &b.slaves[i];

		printf("slave %s mii=%s speed=%d duplex=%s failures=%lld hw=%s queue=%d agg=%d",
		       s->name, s->mii_status, s->speed_mbps, s->duplex,
		       (long long)s->link_failure_count, s->perm_hwaddr, s->queue_id,
		       s->aggregator_id);
		printf(" churn=%s/%s churned=%d/%d",
		       s->actor_churn_state[0] ? s->actor_churn_state : "-",
		       s->partner_churn_state[0] ? s->partner_churn_state : "-",
		       s->actor_churned_count, s->partner_churned_count);
		printf(" actor=%d(%s) key=%d port=%d", s->actor_port_state,
		       s->actor_port_state >= 0 ?
			       ht_lacp_state_string(s->actor_port_state, st, sizeof(st)) :
			       "",
		       s->actor_port_key, s->actor_port_number);
		printf(" partner=%d(%s) key=%d port=%d mac=%s\n", s->partner_port_state,
		       s->partner_port_state >= 0 ?
			       ht_lacp_state_string(s->partner_port_state, st, sizeof(st)) :
			       "",
		       s->partner_oper_key, s->partner_port_number, s->partner_system_mac);
	}
	return 0;
}

struct msg {
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	};
	size_t len;
};

static struct rtattr *put(struct msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(m->buf + NLMSG_ALIGN(m->len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (data)
		memcpy(RTA_DATA(a), data, len);
	m->len = NLMSG_ALIGN(m->len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void end_nest(struct msg *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)(m->buf + m->len - (char *)nest);
}

static const char *arg(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static int nl(int argc, char **argv)
{
	static struct msg m;
	struct ht_bond_slave_nl o;
	struct ifinfomsg ifi = { 0 };
	struct rtattr *info, *data;
	const char *v;
	int ret;

	memset(&m, 0, sizeof(m));
	v = arg(argc, argv, "type");
	m.nlh.nlmsg_type = v ? (unsigned short)strtoul(v, NULL, 0) : RTM_NEWLINK;
	v = arg(argc, argv, "index");
	ifi.ifi_index = v ? atoi(v) : 7;
	memcpy(NLMSG_DATA(&m.nlh), &ifi, sizeof(ifi));
	m.len = NLMSG_LENGTH(sizeof(ifi));
	if ((v = arg(argc, argv, "name")))
		put(&m, IFLA_IFNAME, v, strlen(v) + 1);
	if ((v = arg(argc, argv, "master"))) {
		uint32_t x = (uint32_t)strtoul(v, NULL, 0);

		put(&m, IFLA_MASTER, &x, sizeof(x));
	}
	info = put(&m, IFLA_LINKINFO | NLA_F_NESTED, NULL, 0);
	if ((v = arg(argc, argv, "kind")))
		put(&m, IFLA_INFO_KIND, v, strlen(v) + 1);
	if ((v = arg(argc, argv, "slave_kind")))
		put(&m, IFLA_INFO_SLAVE_KIND, v, strlen(v) + 1);
	data = put(&m, IFLA_INFO_SLAVE_DATA | NLA_F_NESTED, NULL, 0);
	static const struct {
		const char *key;
		unsigned short type;
		int size;
	} attrs[] = {
		{ "state", IFLA_BOND_SLAVE_STATE, 1 },
		{ "mii", IFLA_BOND_SLAVE_MII_STATUS, 1 },
		{ "failures", IFLA_BOND_SLAVE_LINK_FAILURE_COUNT, 4 },
		{ "queue", IFLA_BOND_SLAVE_QUEUE_ID, 2 },
		{ "agg", IFLA_BOND_SLAVE_AD_AGGREGATOR_ID, 2 },
		{ "actor", IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE, 1 },
		{ "partner", IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE, 2 },
		{ "partner8", IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE, 1 },
		{ "churn_a", IFLA_BOND_SLAVE_AD_CHURN_ACTOR_STATE, 1 },
		{ "churn_p", IFLA_BOND_SLAVE_AD_CHURN_PARTNER_STATE, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		uint32_t x;
		uint16_t x16;
		uint8_t x8;

		if (!(v = arg(argc, argv, attrs[i].key)))
			continue;
		x = (uint32_t)strtoul(v, NULL, 0);
		x16 = (uint16_t)x;
		x8 = (uint8_t)x;
		put(&m, attrs[i].type,
		    attrs[i].size == 4 ? (void *)&x :
		    attrs[i].size == 2 ? (void *)&x16 :
					 (void *)&x8,
		    attrs[i].size);
	}
	end_nest(&m, data);
	end_nest(&m, info);
	m.nlh.nlmsg_len = (uint32_t)m.len;
	if ((v = arg(argc, argv, "nlmsg_len")))
		m.nlh.nlmsg_len = (uint32_t)strtoul(v, NULL, 0);
	if ((v = arg(argc, argv, "trunc")))
		m.len -= strtoul(v, NULL, 0);

	ret = ht_bond_slave_from_nlmsg(&m.nlh, m.len, &o);
	printf("ret=%d\n", ret);
	if (ret <= 0)
		return 0;
	printf("index=%d name=%s master=%d bond=%d slave=%d\n", o.ifindex, o.ifname, o.master,
	       o.is_bond, o.is_bond_slave);
	if (o.has_state)
		printf("state=%s\n", ht_bond_slave_state_name(o.state));
	if (o.has_mii_status)
		printf("mii=%s\n", ht_bond_link_status_name(o.mii_status));
	if (o.has_link_failure_count)
		printf("failures=%u\n", o.link_failure_count);
	if (o.has_queue_id)
		printf("queue=%u\n", o.queue_id);
	if (o.has_aggregator_id)
		printf("agg=%u\n", o.aggregator_id);
	if (o.has_actor_state)
		printf("actor=%u\n", o.actor_oper_port_state);
	if (o.has_partner_state)
		printf("partner=%u\n", o.partner_oper_port_state);
	if (o.has_churn_actor)
		printf("churn_a=%s\n", ht_bond_churn_name(o.churn_actor_state));
	if (o.has_churn_partner)
		printf("churn_p=%s\n", ht_bond_churn_name(o.churn_partner_state));
	return 0;
}

int main(int argc, char **argv)
{
	char buf[128];

	if (argc >= 3 && !strcmp(argv[1], "proc"))
		return proc(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "lacp")) {
		printf("%s\n",
		       ht_lacp_state_string((unsigned int)strtoul(argv[2], NULL, 0), buf,
					    argc > 3 ? strtoul(argv[3], NULL, 0) : sizeof(buf)));
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "nl"))
		return nl(argc - 2, argv + 2);
	fprintf(stderr, "usage: bonding-unit proc FILE | lacp STATE [BUFLEN] | nl KEY=VAL...\n");
	return 64;
}
