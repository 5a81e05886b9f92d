// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the /proc/net/bonding/<bond> text parser on arbitrary bytes. */
#include <stdlib.h>
#include <string.h>

#include "bonding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ht_bond_info info;
	char buf[160];

	if (ht_bonding_parse((const char *)data, size, &info))
		return 0;
	if (info.nslaves > HT_BOND_MAX_SLAVES || info.nslaves > info.slaves_total)
		abort();
	for (int i = 0; i < info.nslaves; i++) {
		const struct ht_bond_slave *s = &info.slaves[i];

		if (strnlen(s->name, sizeof(s->name)) == sizeof(s->name))
			abort(); /* every string stays NUL-terminated */
		ht_lacp_state_string((unsigned int)s->actor_port_state, buf, sizeof(buf));
		if (ht_bonding_slave(&info, s->name) == NULL)
			abort();
	}
	return 0;
}
