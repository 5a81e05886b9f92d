// SPDX-License-Identifier: GPL-2.0
/*
 * Linux bonding parsers: /proc/net/bonding/<bond> text (bond_procfs.c) and bond-slave
 * rtnetlink attributes. Pure: no I/O, no allocation, bounded by the length given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "bonding.h"

const char *const ht_lacp_state_names[8] = {
	"activity",   "timeout",      "aggregation", "synchronization",
	"collecting", "distributing", "defaulted",   "expired",
};

/* bond_mode_name(), drivers/net/bonding/bond_main.c */
static const char *const mode_names[] = {
	"load balancing (round-robin)",
	"fault-tolerance (active-backup)",
	"load balancing (xor)",
	"fault-tolerance (broadcast)",
	"IEEE 802.3ad Dynamic link aggregation",
	"transmit load balancing",
	"adaptive load balancing",
};

const char *ht_bond_mode_name(int mode_id)
{
	if (mode_id < 0 || mode_id >= (int)(sizeof(mode_names) / sizeof(mode_names[0])))
		return "unknown";
	return mode_names[mode_id];
}

const char *ht_bond_link_status_name(unsigned int mii_status)
{
	static const char *const names[] = { "up", "going down", "down", "going back" };

	return mii_status < 4 ? names[mii_status] : "unknown";
}

const char *ht_bond_slave_state_name(unsigned int state)
{
	return state == 0 ? "active" : state == 1 ? "backup" : "unknown";
}

const char *ht_bond_churn_name(unsigned int churn)
{
	static const char *const names[] = { "monitoring", "none", "churned" };

	return churn < 3 ? names[churn] : "unknown";
}

const char *ht_lacp_state_string(unsigned int state, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < 8; i++) {
		size_t n = strlen(ht_lacp_state_names[i]);

		if (!(state & (1U << i)))
			continue;
		if (off + n + (off ? 1 : 0) >= len)
			break;
		if (off)
			buf[off++] = ',';
		memcpy(buf + off, ht_lacp_state_names[i], n);
		off += n;
		buf[off] = '\0';
	}
	return buf;
}

/* ---- /proc/net/bonding/<bond> ---- */

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A decimal int, possibly followed by a unit (" Mbps"); false if none. */
static bool parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < -2147483647L || v > 2147483647L || (*end && *end != ' '))
		return false;
	*out = (int)v;
	return true;
}

enum sub { SUB_NONE, SUB_ACTIVE_AGG, SUB_ACTOR, SUB_PARTNER };

static void init_slave(struct ht_bond_slave *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	copy_str(s->name, sizeof(s->name), name);
	s->speed_mbps = -1;
	s->link_failure_count = -1;
	s->queue_id = -1;
	s->aggregator_id = -1;
	s->actor_churned_count = -1;
	s->partner_churned_count = -1;
	s->actor_port_key = -1;
	s->actor_port_number = -1;
	s->actor_port_state = -1;
	s->partner_oper_key = -1;
	s->partner_port_number = -1;
	s->partner_port_state = -1;
}

static void master_line(struct ht_bond_info *b, enum sub sub, const char *key, const char *val)
{
	if (sub == SUB_ACTIVE_AGG) {
		if (!strcmp(key, "Aggregator ID"))
			parse_int(val, &b->active_aggregator_id);
		else if (!strcmp(key, "Partner Mac Address"))
			copy_str(b->partner_mac, sizeof(b->partner_mac), val);
		return;
	}
	if (!strcmp(key, "Ethernet Channel Bonding Driver")) {
		copy_str(b->version, sizeof(b->version), val);
	} else if (!strcmp(key, "Bonding Mode")) {
		copy_str(b->mode, sizeof(b->mode), val);
		for (int i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++) {
			if (!strncmp(val, mode_names[i], strlen(mode_names[i]))) {
				b->mode_id = i;
				copy_str(b->mode, sizeof(b->mode), mode_names[i]);
			}
		}
	} else if (!strcmp(key, "MII Status")) {
		copy_str(b->mii_status, sizeof(b->mii_status), val);
	} else if (!strcmp(key, "Currently Active Slave")) {
		copy_str(b->active_slave, sizeof(b->active_slave), strcmp(val, "None") ? val : "");
	} else if (!strcmp(key, "LACP rate")) {
		copy_str(b->lacp_rate, sizeof(b->lacp_rate), val);
	}
}

static void slave_line(struct ht_bond_slave *s, enum sub sub, const char *key, const char *val)
{
	if (sub == SUB_ACTOR || sub == SUB_PARTNER) {
		bool actor = sub == SUB_ACTOR;

		if (!strcmp(key, "port state"))
			parse_int(val, actor ? &s->actor_port_state : &s->partner_port_state);
		else if (!strcmp(key, "port number"))
			parse_int(val, actor ? &s->actor_port_number : &s->partner_port_number);
		else if (actor && !strcmp(key, "port key"))
			parse_int(val, &s->actor_port_key);
		else if (!actor && !strcmp(key, "oper key"))
			parse_int(val, &s->partner_oper_key);
		else if (!actor && !strcmp(key, "system mac address"))
			copy_str(s->partner_system_mac, sizeof(s->partner_system_mac), val);
		return;
	}
	if (!strcmp(key, "MII Status")) {
		copy_str(s->mii_status, sizeof(s->mii_status), val);
	} else if (!strcmp(key, "Speed")) {
		if (!parse_int(val, &s->speed_mbps))
			s->speed_mbps = -1;
	} else if (!strcmp(key, "Duplex")) {
		copy_str(s->duplex, sizeof(s->duplex), val);
	} else if (!strcmp(key, "Link Failure Count")) {
		int v;

		if (parse_int(val, &v))
			s->link_failure_count = (uint32_t)v;
		else
			s->link_failure_count = strtoll(val, NULL, 10) & 0xffffffff;
	} else if (!strcmp(key, "Permanent HW addr")) {
		copy_str(s->perm_hwaddr, sizeof(s->perm_hwaddr), val);
	} else if (!strcmp(key, "Slave queue ID")) {
		parse_int(val, &s->queue_id);
	} else if (!strcmp(key, "Aggregator ID")) {
		if (!parse_int(val, &s->aggregator_id))
			s->aggregator_id = -1; /* N/A */
	} else if (!strcmp(key, "Actor Churn State")) {
		copy_str(s->actor_churn_state, sizeof(s->actor_churn_state), val);
	} else if (!strcmp(key, "Partner Churn State")) {
		copy_str(s->partner_churn_state, sizeof(s->partner_churn_state), val);
	} else if (!strcmp(key, "Actor Churned Count")) {
		parse_int(val, &s->actor_churned_count);
	} else if (!strcmp(key, "Partner Churned Count")) {
		parse_int(val, &s->partner_churned_count);
	}
}

int ht_bonding_parse(const char *text, size_t len, struct ht_bond_info *out)
{
	struct ht_bond_slave *slave = NULL;
	bool in_slave = false, have_mode = false;
	enum sub sub = SUB_NONE;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	out->mode_id = -1;
	out->active_aggregator_id = -1;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[256], *key, *val, *colon, *end;
		bool indented;

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = nl ? (size_t)(nl - text) + 1 : len;

		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		indented = line[0] == ' ' || line[0] == '\t';
		key = line + strspn(line, " \t");
		if (!*key)
			continue;
		if (!indented) {
			sub = SUB_NONE;
			if (!strcmp(key, "Active Aggregator Info:") && !in_slave) {
				sub = SUB_ACTIVE_AGG;
				continue;
			}
			if (!strcmp(key, "details actor lacp pdu:")) {
				sub = SUB_ACTOR;
				continue;
			}
			if (!strcmp(key, "details partner lacp pdu:")) {
				sub = SUB_PARTNER;
				continue;
			}
		} else if (sub == SUB_NONE) {
			continue;
		}
		colon = strchr(key, ':');
		if (!colon)
			continue;
		*colon = '\0';
		val = colon + 1 + strspn(colon + 1, " \t");

		if (!indented && !strcmp(key, "Slave Interface")) {
			in_slave = true;
			out->slaves_total++;
			slave = NULL;
			if (out->nslaves < HT_BOND_MAX_SLAVES) {
				slave = &out->slaves[out->nslaves++];
				init_slave(slave, val);
			}
			continue;
		}
		if (!indented && !strcmp(key, "Bonding Mode"))
			have_mode = true;
		if (in_slave) {
			if (slave)
				slave_line(slave, sub, key, val);
		} else {
			master_line(out, sub, key, val);
		}
	}
	return have_mode ? 0 : -EINVAL;
}

const struct ht_bond_slave *ht_bonding_slave(const struct ht_bond_info *info, const char *name)
{
	for (int i = 0; i < info->nslaves; i++)
		if (!strcmp(info->slaves[i].name, name))
			return &info->slaves[i];
	return NULL;
}

/* ---- rtnetlink bond-slave attributes ---- */

/* A fixed-size attribute (u8, u16, u32) into @v of @size bytes; false when it is shorter. */
static bool attr_copy(const struct rtattr *a, void *v, size_t size)
{
	if (RTA_PAYLOAD(a) < size)
		return false;
	memcpy(v, RTA_DATA(a), size);
	return true;
}
#define attr_get(a, v) attr_copy((a), (v), sizeof(*(v)))

static void attr_str(const struct rtattr *a, char *dst, size_t len)
{
	size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));

	if (n >= len)
		n = len - 1;
	memcpy(dst, RTA_DATA(a), n);
	dst[n] = '\0';
}

static bool attr_is(const struct rtattr *a, const char *s)
{
	size_t n = strlen(s);

	return RTA_PAYLOAD(a) >= n && !memcmp(RTA_DATA(a), s, n) &&
	       (RTA_PAYLOAD(a) == n || ((const char *)RTA_DATA(a))[n] == '\0');
}

#define ATTR_TYPE(a) ((a)->rta_type & NLA_TYPE_MASK)

static void slave_data(const struct rtattr *nest, struct ht_bond_slave_nl *o)
{
	int rem = (int)RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, rem); a = RTA_NEXT(a, rem)) {
		switch (ATTR_TYPE(a)) {
		case IFLA_BOND_SLAVE_STATE:
			o->has_state = attr_get(a, &o->state);
			break;
		case IFLA_BOND_SLAVE_MII_STATUS:
			o->has_mii_status = attr_get(a, &o->mii_status);
			break;
		case IFLA_BOND_SLAVE_LINK_FAILURE_COUNT:
			o->has_link_failure_count = attr_get(a, &o->link_failure_count);
			break;
		case IFLA_BOND_SLAVE_PERM_HWADDR:
			o->perm_hwaddr_len = RTA_PAYLOAD(a) < sizeof(o->perm_hwaddr) ?
						     (uint8_t)RTA_PAYLOAD(a) :
						     sizeof(o->perm_hwaddr);
			memcpy(o->perm_hwaddr, RTA_DATA(a), o->perm_hwaddr_len);
			break;
		case IFLA_BOND_SLAVE_QUEUE_ID:
			o->has_queue_id = attr_get(a, &o->queue_id);
			break;
		case IFLA_BOND_SLAVE_AD_AGGREGATOR_ID:
			o->has_aggregator_id = attr_get(a, &o->aggregator_id);
			break;
		case IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE:
			o->has_actor_state = attr_get(a, &o->actor_oper_port_state);
			break;
		case IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE:
			/* the kernel puts a u16; a u8 from older/other senders is accepted too */
			if (RTA_PAYLOAD(a) >= 2) {
				o->has_partner_state = attr_get(a, &o->partner_oper_port_state);
			} else {
				uint8_t v = 0;

				o->has_partner_state = attr_get(a, &v);
				o->partner_oper_port_state = v;
			}
			break;
		case IFLA_BOND_SLAVE_AD_CHURN_ACTOR_STATE:
			o->has_churn_actor = attr_get(a, &o->churn_actor_state);
			break;
		case IFLA_BOND_SLAVE_AD_CHURN_PARTNER_STATE:
			o->has_churn_partner = attr_get(a, &o->churn_partner_state);
			break;
		default:
			break;
		}
	}
}

static void link_info(const struct rtattr *nest, struct ht_bond_slave_nl *o)
{
	int rem = (int)RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, rem); a = RTA_NEXT(a, rem)) {
		switch (ATTR_TYPE(a)) {
		case IFLA_INFO_KIND:
			o->is_bond = attr_is(a, "bond");
			break;
		case IFLA_INFO_SLAVE_KIND:
			o->is_bond_slave = attr_is(a, "bond");
			break;
		case IFLA_INFO_SLAVE_DATA:
			slave_data(a, o);
			break;
		default:
			break;
		}
	}
}

int ht_bond_slave_from_nlmsg(const struct nlmsghdr *nlh, size_t len, struct ht_bond_slave_nl *out)
{
	const struct ifinfomsg *ifi;
	const struct rtattr *a;
	int rem;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return -EINVAL;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return 0;
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return -EINVAL;
	ifi = NLMSG_DATA(nlh);
	out->msg_type = nlh->nlmsg_type;
	out->ifindex = ifi->ifi_index;
	rem = (int)(nlh->nlmsg_len - NLMSG_SPACE(sizeof(*ifi)));
	if (rem < 0)
		return 1; /* NLMSG_SPACE rounds up: an unaligned tail carries no attribute */
	for (a = IFLA_RTA(ifi); RTA_OK(a, rem); a = RTA_NEXT(a, rem)) {
		switch (ATTR_TYPE(a)) {
		case IFLA_IFNAME:
			attr_str(a, out->ifname, sizeof(out->ifname));
			break;
		case IFLA_MASTER: {
			uint32_t m;

			if (attr_get(a, &m))
				out->master = (int)m;
			break;
		}
		case IFLA_LINKINFO:
			link_info(a, out);
			break;
		default:
			break;
		}
	}
	return 1;
}
