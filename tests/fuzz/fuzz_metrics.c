// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: label values (device names from the kernel or a container's netns) and HELP
 * text made of any bytes must give a valid Prometheus text exposition: valid UTF-8, every
 * line "# HELP", "# TYPE" or "name{k="v",...} value", label values escaped as the format
 * says (only \\, \" and \n), and each value, unescaped, the sanitized input or a prefix of
 * it; every series also carries the constant labels host and region. Input: up to four
 * strings separated by NUL bytes (three label values, the HELP text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"
#include "metrics.h"

static bool valid_utf8(const char *s, size_t len)
{
	char *again = malloc(len * 3 + 1);
	bool ok;

	if (!again)
		abort();
	ok = ht_utf8_sanitize(s, len, again, len * 3 + 1) == len && !memcmp(again, s, len);
	free(again);
	return ok;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* One sample line; each label value unescaped into @vals (up to 3). */
static void check_sample(const char *p, const char *end, char vals[3][4096], int *nvals)
{
	if (!name_char(*p, true))
		abort();
	while (p < end && name_char(*p, false))
		p++;
	if (p < end && *p == '{') {
		do {
			char *v = *nvals < 3 ? vals[*nvals] : NULL;
			size_t n = 0;

			p++;
			if (!name_char(*p, true))
				abort();
			while (p < end && name_char(*p, false))
				p++;
			if (end - p < 2 || p[0] != '=' || p[1] != '"')
				abort();
			for (p += 2; p < end && *p != '"'; p++) {
				char c = *p;

				if (c == '\n')
					abort();
				if (c == '\\') {
					if (++p == end)
						abort();
					c = *p == 'n' ? '\n' : *p;
					if (*p != 'n' && *p != '\\' && *p != '"')
						abort(); /* no other escape in a label value */
				}
				if (v && n < 4095)
					v[n++] = c;
			}
			if (p == end)
				abort();
			if (v)
				v[n] = '\0';
			(*nvals)++;
			p++; /* the closing quote */
		} while (p < end && *p == ',');
		if (p == end || *p++ != '}')
			abort();
	}
	if (p == end || *p++ != ' ' || p == end)
		abort();
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *part[4] = { "", "", "", "" }, *text = NULL;
	char vals[3][4096], clean[3][4096 * 3 + 1];
	struct ht_metrics *m;
	uint64_t got = 0;
	size_t len = 0;
	FILE *f;
	int n = 0;

	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	for (size_t i = 0, start = 0; i <= size && n < 4; i++) {
		if (i == size || !in[i]) {
			part[n++] = in + start;
			start = i + 1;
		}
	}
	m = ht_metrics_new("-");
	{
		/* host and region on every series, as every tool has them */
		const char *constant[] = { "host", part[0], "region", part[1], NULL };

		if (!m || ht_metrics_const_labels(m, constant))
			abort();
	}
	if (ht_metrics_family(m, "fuzz_events_total", "counter", part[3]) ||
	    ht_metrics_family(m, "fuzz_total", "gauge", "plain"))
		abort();
	{
		const char *labels[] = { "dev", part[0], "event", part[1], "type", part[2], NULL };

		if (ht_metrics_add(m, "fuzz_events_total", labels, 2) ||
		    ht_metrics_add(m, "fuzz_events_total", labels, 3) ||
		    ht_metrics_set(m, "fuzz_total", NULL, 7) ||
		    ht_metrics_get(m, "fuzz_events_total", labels, &got) || got != 5)
			abort();
	}
	f = open_memstream(&text, &len);
	if (!f)
		abort();
	ht_metrics_print(m, f);
	if (fclose(f) || !len || text[len - 1] != '\n' || !valid_utf8(text, len))
		abort();
	for (size_t i = 0; i < 3; i++)
		ht_utf8_sanitize(part[i], strlen(part[i]), clean[i], sizeof(clean[i]));
	for (char *line = text; line < text + len;) {
		char *end = memchr(line, '\n', (size_t)(text + len - line));
		int nvals = 0;

		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			line = end + 1;
			continue;
		}
		check_sample(line, end, vals, &nvals);
		if (!strncmp(line, "fuzz_total", 10) && nvals != 2)
			abort(); /* host and region only */
		if (!strncmp(line, "fuzz_events_total", 17)) {
			if (nvals != 5)
				abort();
			/* lossless: the value is the sanitized input, or its beginning when too long */
			for (int i = 0; i < 3; i++)
				if (strncmp(clean[i], vals[i], strlen(vals[i])))
					abort();
		}
		line = end + 1;
	}
	free(text);
	ht_metrics_free(m);
	free(in);
	return 0;
}
