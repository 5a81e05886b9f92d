// SPDX-License-Identifier: GPL-2.0
/*
 * A tool's own options: declared in its struct ht_option table, parsed here, so that a
 * duration, a count or a device name is checked and refused the same way in every tool.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"
#include "netlink.h"

#define KEY_BASE 0x100 /* above every short option letter */
#define MAX_OPTIONS 32

static const struct ht_tool *g_tool;
static int g_noptions;

static void store_uint(void *dest, uint64_t size, uint64_t v)
{
	switch (size) {
	case sizeof(uint8_t):
		*(uint8_t *)dest = (uint8_t)v;
		break;
	case sizeof(uint16_t):
		*(uint16_t *)dest = (uint16_t)v;
		break;
	case sizeof(uint32_t):
		*(uint32_t *)dest = (uint32_t)v;
		break;
	default:
		*(uint64_t *)dest = v;
	}
}

static void parse_one(const struct ht_option *o, const char *arg, struct argp_state *state)
{
	struct ht_netns_arg *ns;
	int err;

	switch (o->kind) {
	case HT_ARG_FLAG:
		*(bool *)o->dest = true;
		break;
	case HT_ARG_DURATION:
		*(uint64_t *)o->dest =
			ht_opt_duration(state, o->name, arg, o->unit, o->min, o->max);
		break;
	case HT_ARG_UINT:
		store_uint(o->dest, o->unit, ht_opt_u64(state, o->name, arg, o->min, o->max));
		break;
	case HT_ARG_IFNAME:
		*(const char **)o->dest = ht_opt_ifname(state, o->name, arg);
		break;
	case HT_ARG_IFNAMES:
		ht_opt_ifname(state, o->name, arg);
		if ((uint64_t)*o->count >= o->max)
			ht_usage_error(state, "invalid --%s '%s': at most %d devices", o->name, arg,
				       (int)o->max);
		((const char **)o->dest)[(*o->count)++] = arg;
		break;
	case HT_ARG_NETNS:
		err = ht_netns_inode(arg, o->dest);
		if (err)
			ht_usage_error(state,
				       "invalid --%s '%s': %s (a name in /run/netns, a path such "
				       "as /proc/PID/ns/net, or an inode number)",
				       o->name, arg, strerror(-err));
		break;
	case HT_ARG_NETNS_PATH:
		ns = o->dest;
		if (ht_netns_path(arg, ns->path, sizeof(ns->path)))
			ht_usage_error(state, "invalid --%s '%s': %s does not exist", o->name, arg,
				       *arg ? ns->path : "''");
		ns->spec = arg;
		break;
	case HT_ARG_CALL:
		o->parse(state, o, arg);
		break;
	}
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	if (key >= KEY_BASE && key < KEY_BASE + g_noptions) {
		parse_one(&g_tool->options[key - KEY_BASE], arg, state);
		return 0;
	}
	if (key == ARGP_KEY_END && g_tool->options_done)
		g_tool->options_done(state, state->input);
	return ARGP_ERR_UNKNOWN;
}

const struct argp *ht_tool_argp(const struct ht_tool *tool)
{
	static struct argp_option table[MAX_OPTIONS + 1];
	static struct argp argp = { .parser = parse_opt };
	int n = 0;

	g_tool = tool;
	for (const struct ht_option *o = tool->options; o && o->name; o++, n++) {
		if (n == MAX_OPTIONS) {
			fprintf(stderr, "%s: internal error: more than %d options\n",
				program_invocation_short_name, MAX_OPTIONS);
			exit(1);
		}
		table[n] = (struct argp_option){
			.name = o->name, .key = KEY_BASE + (int)n, .arg = o->arg, .doc = o->doc
		};
	}
	g_noptions = n;
	memset(&table[n], 0, sizeof(table[n]));
	/* glibc's argp help leaks the entries it makes of an empty table: none, then */
	argp.options = n ? table : NULL;
	argp.doc = tool->doc;
	return &argp;
}
