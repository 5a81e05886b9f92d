// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-bondlacp's change tracking: the last state of every bond slave rtnetlink told about,
 * and the report of what changed, with the bond's /proc/net/bonding text at that moment.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include "bondlacp_track.h"
#include "huatuo.h"

static struct bond_slave *find_slave(struct bond_ctx *c, int ifindex, bool create)
{
	struct bond_slave *free_slot = NULL;

	for (int i = 0; i < BOND_MAX_SLAVES; i++) {
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

	snprintf(path, sizeof(path), "%s/%s", c->proc_bonding, bond);
	n = ht_read_file(path, c->content, BOND_CONTENT_MAX);
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

	if (!c->ifname((unsigned int)now->master, bond))
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
int bond_on_msg(struct nl_msg *msg, void *arg)
{
	struct bond_ctx *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ht_bond_slave_nl now;
	struct bond_slave *s;
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
			ht_warn(c->env, "more than %d bond slaves: %s not tracked", BOND_MAX_SLAVES,
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
