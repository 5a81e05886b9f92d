// SPDX-License-Identifier: GPL-2.0
/* Parsers for /proc/<pid>/stack and /proc/<pid>/stat text (fuzzed in tests/fuzz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

char *ht_parse_proc_stack(const char *text, size_t len)
{
	size_t cap = len + 1, used = 0;
	char *out = malloc(cap);
	const char *p = text, *end = text + len;

	if (!out)
		return NULL;
	/* "[<0>] folio_wait_bit+0x14c/0x2a0" -> "folio_wait_bit+0x14c", one frame a line */
	while (p < end && *p) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *sym, *stop;
		size_t n;

		if (!eol)
			eol = end;
		sym = p;
		for (const char *q = p; q + 1 < eol; q++)
			if (q[0] == ']' && q[1] == ' ') {
				sym = q + 2;
				break;
			}
		stop = memchr(sym, '/', (size_t)(eol - sym));
		n = (size_t)((stop ? stop : eol) - sym);
		n = strnlen(sym, n);
		if (n) {
			if (used)
				out[used++] = '\n';
			memcpy(out + used, sym, n);
			used += n;
		}
		p = eol + 1;
	}
	out[used] = '\0';
	return out;
}

int ht_parse_proc_stat(const char *text, char *state, char *comm, size_t comm_len)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');

	/* "123 (comm with ) and spaces) D 1 ..." : comm is between the first '(' and last ')' */
	if (!open || !close || close < open || close[1] != ' ' || !close[2])
		return -1;
	*state = close[2];
	if (comm)
		ht_utf8_sanitize(open + 1, (size_t)(close - open - 1), comm, comm_len);
	return 0;
}
