// SPDX-License-Identifier: GPL-2.0
/* A growing text buffer for reports built piece by piece (huatuo-capture's files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

static bool grow(struct ht_strbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->truncated)
		return false;
	while (cap - b->len < more + 1) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if (cap == b->cap)
		return true;
	p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->truncated = true;
	return false;
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
