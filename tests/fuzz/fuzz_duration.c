// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: duration, size and integer parsers never crash and never accept junk. */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!ht_parse_duration(s, NSEC_PER_MSEC, &v) && !strchr("0123456789", s[0]))
		abort(); /* accepted something that does not start with a digit */
	ht_parse_size(s, &v);
	ht_parse_u64(s, 0, UINT64_MAX, &v);
	free(s);
	return 0;
}
