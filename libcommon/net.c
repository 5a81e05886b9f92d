// SPDX-License-Identifier: GPL-2.0
/* Network helpers the packet tracers share: netns specs, addresses, TCP names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/stat.h>

#include "huatuo.h"

int ht_netns_inode(const char *spec, uint32_t *inum)
{
	char path[4096];
	struct stat st;
	uint64_t v;

	if (!spec || !*spec)
		return -EINVAL;
	if (!ht_parse_u64(spec, 1, UINT32_MAX, &v)) {
		*inum = (uint32_t)v;
		return 0;
	}
	if (strchr(spec, '/'))
		snprintf(path, sizeof(path), "%s", spec);
	else if (snprintf(path, sizeof(path), "/run/netns/%s", spec) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st))
		return -errno;
	*inum = (uint32_t)st.st_ino;
	return 0;
}

int ht_parse_addr(const char *s, uint8_t addr[16], uint8_t *family)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

const char *ht_fmt_addr(const uint8_t addr[16], uint8_t family, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	if (family == 4)
		inet_ntop(AF_INET, addr, buf, (socklen_t)len);
	else if (family == 6)
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	return buf;
}

const char *ht_tcp_state_name(unsigned int state)
{
	/* include/net/tcp_states.h */
	static const char *const names[] = {
		"",	     "ESTABLISHED", "SYN_SENT",	    "SYN_RECV",	      "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT",   "CLOSE",	    "CLOSE_WAIT",     "LAST_ACK",
		"LISTEN",    "CLOSING",	    "NEW_SYN_RECV", "BOUND_INACTIVE",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

const char *ht_tcp_flags(uint8_t flags, char *buf, size_t len)
{
	static const char *const names[] = {
		"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"
	};
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(flags & (1u << i)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
				      names[i]);
		if (n >= len)
			break;
	}
	return buf;
}

const char *ht_ip_proto_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	default:
		return NULL;
	}
}

const char *ht_opt_ifname(struct argp_state *state, const char *opt, const char *arg)
{
	if (!*arg || strlen(arg) >= IFNAMSIZ || strchr(arg, '/') || strpbrk(arg, " \t\n:"))
		ht_usage_error(state,
			       "invalid --%s '%s': expected a device name of 1 to %d characters",
			       opt, arg, IFNAMSIZ - 1);
	return arg;
}
