// SPDX-License-Identifier: GPL-2.0
/* /proc/kallsyms line by line, and a few names looked up in one streaming pass (ksyms_scan.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksyms_scan.h"

/* A line is at most ~600 bytes (KSYM_NAME_LEN 512, MODULE_NAME_LEN 56). */
#define READ_BUF 8192

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One line without its '\n' into @l; false if it is not a text symbol. */
static bool parse_line(const char *p, const char *end, struct ht_kallsyms_line *l)
{
	const char *start = p;
	uint64_t addr = 0;
	char type;
	int d;

	while (p < end && p - start < 16 && (d = hex_digit(*p)) >= 0) {
		addr = addr << 4 | (uint64_t)d;
		p++;
	}
	if (p == start || p == end || !is_blank(*p))
		return false;
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return false;
	type = *p++;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return false;
	if (p == end || !is_blank(*p))
		return false;
	while (p < end && is_blank(*p))
		p++;
	l->addr = addr;
	l->name = p;
	while (p < end && !is_blank(*p))
		p++;
	l->name_len = (size_t)(p - l->name);
	if (!l->name_len)
		return false;
	while (p < end && is_blank(*p))
		p++;
	l->module = NULL;
	l->module_len = 0;
	if (p < end && *p == '[') {
		const char *close = memchr(p + 1, ']', (size_t)(end - p - 1));

		l->module = p + 1;
		l->module_len = (size_t)((close ? close : end) - l->module);
		if (!l->module_len)
			l->module = NULL;
	}
	return true;
}

int ht_kallsyms_each(const char *path, bool (*fn)(const struct ht_kallsyms_line *l, void *ctx),
		     void *ctx)
{
	char buf[READ_BUF];
	size_t have = 0;
	bool skipping = false, more = true;
	int fd = open(path ? path : "/proc/kallsyms", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (more) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - have);
		char *p = buf, *end, *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		have += (size_t)got;
		end = buf + have;
		if (!got) {
			more = false;
			if (have && !skipping && have < sizeof(buf))
				*end++ = '\n'; /* a last line without one */
		}
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			struct ht_kallsyms_line l;

			if (!skipping && parse_line(p, nl, &l) && !fn(&l, ctx)) {
				close(fd);
				return 0;
			}
			skipping = false;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have == sizeof(buf)) { /* no line fits: skip to the next one */
			skipping = true;
			have = 0;
		} else if (!more) {
			break;
		}
		memmove(buf, p, have);
	}
	close(fd);
	return 0;
}

struct scan {
	const char *const *names;
	uint64_t *addrs;
	size_t n;
	bool first_only, any, nonzero;
	int found;
};

static bool scan_line(const struct ht_kallsyms_line *l, void *ctx)
{
	struct scan *s = ctx;

	s->any = true;
	if (!l->addr)
		return true;
	s->nonzero = true;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->addrs[i] && strlen(s->names[i]) == l->name_len &&
		    !memcmp(s->names[i], l->name, l->name_len)) {
			s->addrs[i] = l->addr;
			s->found++;
		}
	}
	return !s->first_only || !s->found;
}

int ht_kallsyms_scan(const char *path, const char *const *names, uint64_t *addrs, size_t n,
		     bool first_only, bool *hidden)
{
	struct scan s = { names, addrs, n, first_only, false, false, 0 };
	int err;

	for (size_t i = 0; i < n; i++)
		addrs[i] = 0;
	*hidden = false;
	err = ht_kallsyms_each(path, scan_line, &s);
	if (err)
		return err;
	*hidden = s.any && !s.nonzero;
	return s.found;
}
