// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: huatuo-capture's reading of what the tools print. Any bytes on a pipe come out
 * of ht_lines_read() as whole lines only (each chunk ends with '\n', nothing over the line
 * limit, the unterminated rest dropped); any lines make a summary whose text is printable,
 * one item per line, whatever the names in them.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"

struct seen {
	struct ht_evsummary *s;
	size_t bytes;
	size_t max;
};

static int on_lines(void *ctx, const char *text, size_t len)
{
	struct seen *seen = ctx;

	if (!len || text[len - 1] != '\n')
		abort();
	seen->bytes += len;
	for (const char *p = text, *end; p < text + len; p = end + 1) {
		end = memchr(p, '\n', (size_t)(text + len - p));
		if ((size_t)(end - p) > seen->max)
			abort();
		ht_evsummary_line(seen->s, p, (size_t)(end - p));
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_lines lines = { .max = 512 };
	struct seen seen = { .max = 512 };
	struct ht_strbuf text = { 0 };
	int fds[2], rc;

	if (size > 60000 || pipe2(fds, O_NONBLOCK))
		return 0;
	seen.s = ht_evsummary_new();
	ht_evsummary_tracer(seen.s, "oom");
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	do
		rc = ht_lines_read(&lines, fds[0], on_lines, &seen);
	while (rc == 0);
	if (rc != 1 || seen.bytes > size)
		abort();
	close(fds[0]);
	ht_lines_free(&lines);

	ht_evsummary_losses(seen.s, "oom", 1, 2, true);
	ht_evsummary_text(seen.s, &text);
	for (size_t i = 0; i < text.len; i++)
		if (((unsigned char)text.p[i] < 0x20 && text.p[i] != '\n') || text.p[i] == 0x7f)
			abort();
	ht_sb_free(&text);
	ht_evsummary_free(seen.s);
	return 0;
}
