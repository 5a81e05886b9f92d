/* SPDX-License-Identifier: GPL-2.0 */
/* huatuo-bondlacp: bond slaves tracked from rtnetlink messages (bondlacp_track.c). */
#ifndef HT_BONDLACP_TRACK_H
#define HT_BONDLACP_TRACK_H

#include <stdbool.h>

#include <netlink/handlers.h>

#include "bonding.h"
#include "huatuo.h"

#define BOND_MAX_SLAVES 256
#define BOND_CONTENT_MAX (256 * 1024)

struct bond_slave {
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
	struct bond_slave slaves[BOND_MAX_SLAVES];
	char *content;		  /* BOND_CONTENT_MAX bytes for a bond's text */
	const char *proc_bonding; /* the bonds' text files: /proc/net/bonding */
	char *(*ifname)(unsigned int ifindex, char *name); /* the master's name: if_indextoname */
};

/* NL_CB_VALID callback, @arg a struct bond_ctx */
int bond_on_msg(struct nl_msg *msg, void *arg);

#endif /* HT_BONDLACP_TRACK_H */
