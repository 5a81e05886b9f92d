/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux bonding: the /proc/net/bonding/<bond> text (drivers/net/bonding/bond_procfs.c) and the
 * rtnetlink bond-slave attributes (IFLA_INFO_SLAVE_DATA, IFLA_BOND_SLAVE_*), both as pure
 * parsers: bytes in, struct out.
 */
#ifndef HT_BONDING_H
#define HT_BONDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

#define HT_BOND_NAME_LEN 16 /* IFNAMSIZ */
#define HT_BOND_MAX_SLAVES 32

/* 802.3ad port state bits (IEEE 802.1AX, bond_3ad.h AD_STATE_*). */
#define HT_LACP_ACTIVITY 0x01
#define HT_LACP_TIMEOUT 0x02
#define HT_LACP_AGGREGATION 0x04
#define HT_LACP_SYNCHRONIZATION 0x08
#define HT_LACP_COLLECTING 0x10
#define HT_LACP_DISTRIBUTING 0x20
#define HT_LACP_DEFAULTED 0x40
#define HT_LACP_EXPIRED 0x80

/* One "Slave Interface:" section. Numbers are -1 when the text does not have them. */
struct ht_bond_slave {
	char name[HT_BOND_NAME_LEN];
	char mii_status[16]; /* up, down, going down, going back */
	int speed_mbps;	     /* -1: Unknown */
	char duplex[8];	     /* full, half, Unknown */
	int64_t link_failure_count;
	char perm_hwaddr[64];
	int queue_id;
	int aggregator_id;	    /* -1: N/A or not 802.3ad */
	char actor_churn_state[16]; /* monitoring, none, churned */
	char partner_churn_state[16];
	int actor_churned_count;
	int partner_churned_count;
	int actor_port_key;
	int actor_port_number;
	int actor_port_state; /* "details actor lacp pdu" port state, -1 if absent */
	char partner_system_mac[24];
	int partner_oper_key;
	int partner_port_number;
	int partner_port_state;
};

struct ht_bond_info {
	char version[80];    /* "v6.1.0-18-amd64" from the driver line */
	char mode[64];	     /* "IEEE 802.3ad Dynamic link aggregation" */
	int mode_id;	     /* BOND_MODE_*: 0 balance-rr ... 4 802.3ad ..., -1 unknown */
	char mii_status[16]; /* the bond's own */
	char active_slave[HT_BOND_NAME_LEN]; /* "Currently Active Slave", "" if none */
	char lacp_rate[8];		     /* slow, fast */
	int active_aggregator_id;	     /* "Active Aggregator Info", -1 if none */
	char partner_mac[24];		     /* of the active aggregator */
	int nslaves;			     /* sections parsed (at most HT_BOND_MAX_SLAVES) */
	int slaves_total;		     /* sections in the text */
	struct ht_bond_slave slaves[HT_BOND_MAX_SLAVES];
};

/* BOND_MODE_* (include/uapi/linux/if_bonding.h) and the kernel's names for them. */
const char *ht_bond_mode_name(int mode_id);
/*
 * Parse a /proc/net/bonding/<bond> text of @len bytes (need not be NUL-terminated). Returns 0,
 * or -EINVAL when it is not a bonding text (no "Bonding Mode:" line).
 */
int ht_bonding_parse(const char *text, size_t len, struct ht_bond_info *out);
/* The section of slave @name, or NULL. */
const struct ht_bond_slave *ht_bonding_slave(const struct ht_bond_info *info, const char *name);
/* "activity,aggregation,synchronization" from port state bits ("" for 0). Returns @buf. */
const char *ht_lacp_state_string(unsigned int state, char *buf, size_t len);
/* The names, in bit order: activity, timeout, aggregation, ... expired. */
extern const char *const ht_lacp_state_names[8];

/* Bond slave state from one RTM_NEWLINK/RTM_DELLINK message. */
struct ht_bond_slave_nl {
	uint16_t msg_type; /* RTM_NEWLINK or RTM_DELLINK */
	int ifindex;
	int master; /* IFLA_MASTER, 0 if none */
	char ifname[HT_BOND_NAME_LEN];
	bool is_bond;	    /* IFLA_INFO_KIND "bond": the message is about a bond */
	bool is_bond_slave; /* IFLA_INFO_SLAVE_KIND "bond" */
	/* the IFLA_BOND_SLAVE_* attributes present, and their values */
	bool has_state, has_mii_status, has_link_failure_count, has_queue_id;
	bool has_aggregator_id, has_actor_state, has_partner_state;
	bool has_churn_actor, has_churn_partner;
	uint8_t state;	    /* 0 active, 1 backup */
	uint8_t mii_status; /* 0 up, 1 going down, 2 down, 3 going back */
	uint32_t link_failure_count;
	uint16_t queue_id;
	uint16_t aggregator_id;
	uint8_t actor_oper_port_state;
	uint16_t partner_oper_port_state;
	uint8_t churn_actor_state; /* 0 monitoring, 1 none, 2 churned */
	uint8_t churn_partner_state;
	uint8_t perm_hwaddr_len;
	uint8_t perm_hwaddr[32];
};

/*
 * Extract bond-slave state from a netlink message of @len bytes (bounded by @len, whatever
 * nlmsg_len claims). Returns 1 for an RTM_NEWLINK/RTM_DELLINK link message (fields filled
 * from what it carries), 0 for another message type, -EINVAL when malformed.
 */
int ht_bond_slave_from_nlmsg(const struct nlmsghdr *nlh, size_t len, struct ht_bond_slave_nl *out);
/* "up", "going down", "down", "going back" (bond_slave_link_status()); "unknown". */
const char *ht_bond_link_status_name(unsigned int mii_status);
/* "active", "backup"; "unknown". */
const char *ht_bond_slave_state_name(unsigned int state);
/* "monitoring", "none", "churned"; "unknown". */
const char *ht_bond_churn_name(unsigned int churn);

#endif /* HT_BONDING_H */
