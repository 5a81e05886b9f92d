// SPDX-License-Identifier: GPL-2.0
/* A growing text buffer for reports built piece by piece (huatuo-capture's files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

/* Room for @more bytes and the NUL; false (and truncated from then on) when there is none. */
static bool grow(struct ht_strbuf *b, size_t more)
{
	if (b->truncated)
		return false;
	if (more >= SIZE_MAX - b->len || ht_grow(&b->p, &b->cap, b->len + more + 1, 1, 4096)) {
		b->truncated = true;
		return false;
	}
	return true;
}

void ht_sb_add(struct ht_strbuf *b, const void *data, size_t len)
{
	if (!grow(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void ht_sb_printf(struct ht_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ht_sb_free(struct ht_strbuf *b)
{
	free(b->p);
	*b = (struct ht_strbuf){ 0 };
}
