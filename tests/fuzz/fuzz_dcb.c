// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the RTM_GETDCB (DCB_CMD_IEEE_GET) reply parser and the PFC metrics on any bytes. */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"
#include "netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the message */
	uint8_t *msg = malloc(size ? size : 1);
	struct ht_dcb_pfc out;
	struct ht_metrics *m;
	int err;

	if (!msg)
		return 0;
	memcpy(msg, data, size);
	err = ht_dcb_parse_ieee(msg, size, &out);
	free(msg);
	if (err > 0 || err < -4095)
		abort(); /* 0 or a negative errno */
	if (memchr(out.ifname, '\0', sizeof(out.ifname)) == NULL)
		abort(); /* always a C string */
	if (out.has_pfc && !out.has_ieee)
		abort();
	if (err || !out.has_pfc)
		return 0;
	m = ht_metrics_new("/nonexistent/fuzz.prom");
	if (m && !ht_pfc_metrics_families(m))
		ht_pfc_metrics_set(m, &out);
	ht_metrics_free(m);
	return 0;
}
