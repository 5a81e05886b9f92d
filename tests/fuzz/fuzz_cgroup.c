// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: cgroup path -> container identity; ids found are always 64 lowercase hex. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct ht_container ct;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ht_container_from_path(s, &ct)) {
		if (strlen(ct.id) != 64)
			abort();
		for (int i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)ct.id[i]) || isupper((unsigned char)ct.id[i]))
				abort();
	}
	free(s);
	return 0;
}
