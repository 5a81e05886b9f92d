// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: arbitrary bytes as an rtnetlink message for the bond-slave attribute parser that
 * huatuo-bondlacp runs on every RTM_NEWLINK. The bytes go to an aligned copy, as a netlink
 * receive buffer is.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "bonding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_bond_slave_nl out;
	void *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ret = ht_bond_slave_from_nlmsg(buf, size, &out);
	if (ret < -22 || ret > 1)
		abort();
	if (strnlen(out.ifname, sizeof(out.ifname)) == sizeof(out.ifname) ||
	    out.perm_hwaddr_len > sizeof(out.perm_hwaddr))
		abort();
	free(buf);
	return 0;
}
