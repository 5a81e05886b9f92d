// SPDX-License-Identifier: GPL-2.0
/* Look up a few names in /proc/kallsyms in one streaming pass (ksyms_scan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms_scan.h"

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

int ht_kallsyms_scan(const char *path, const char *const *names, uint64_t *addrs, size_t n,
		     bool first_only, bool *hidden)
{
	bool any = false, nonzero = false;
	char line[512];
	int found = 0;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		addrs[i] = 0;
	*hidden = false;
	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f)
		return -errno;
	while ((!first_only || !found) && fgets(line, sizeof(line), f)) {
		char *p = line, *name;
		unsigned long long addr;
		size_t len;

		errno = 0;
		addr = strtoull(p, &p, 16);
		if (errno || p == line || *p != ' ' || !is_text(p[1]) || p[2] != ' ')
			continue;
		name = p + 3;
		len = strcspn(name, " \t\n");
		if (!len)
			continue;
		any = true;
		if (addr)
			nonzero = true;
		for (size_t i = 0; i < n; i++) {
			if (!addrs[i] && addr && strlen(names[i]) == len &&
			    !memcmp(names[i], name, len)) {
				addrs[i] = addr;
				found++;
			}
		}
	}
	fclose(f);
	*hidden = any && !nonzero;
	return found;
}
