// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition files for node_exporter's textfile collector: a small set of
 * counter/gauge families kept in memory and rewritten atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so that a scrape never sees half a file.
 * The directory is opened once, at the first write, and the file replaced through it as
 * safedir.c says: a link planted as the file, or a directory others can write (unless
 * sticky), is refused.
 *
 * Label values come from the kernel (device names, which a container names in its own
 * network namespace): they are made valid UTF-8 and escaped as the text format says
 * (backslash, double quote, newline), and a value that does not fit is cut at a character.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "huatuo.h"
#include "metrics.h"

struct ht_series {
	char *labels; /* rendered "{k=\"v\",...}" or "" */
	uint64_t value;
};

struct ht_family {
	char *name;
	char *type;
	char *help;
	struct ht_series *series;
	size_t nseries;
};

struct ht_metrics {
	char *path;
	struct ht_family *families;
	size_t nfamilies;
	struct ht_dir dir; /* the file's directory, from the first write on */
	const char *name;  /* the file's name in it */
};

#define LABEL_VALUE_MAX 1024  /* input bytes of one label value */
#define LABEL_VALUE_SHOWN 256 /* bytes of one escaped value: every label of a series fits */

struct ht_metrics *ht_metrics_new(const char *path)
{
	struct ht_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->path = strdup(path);
	if (!m->path) {
		free(m);
		return NULL;
	}
	m->dir.fd = -1;
	return m;
}

void ht_metrics_free(struct ht_metrics *m)
{
	if (!m)
		return;
	for (size_t f = 0; f < m->nfamilies; f++) {
		struct ht_family *fam = &m->families[f];

		for (size_t s = 0; s < fam->nseries; s++)
			free(fam->series[s].labels);
		free(fam->series);
		free(fam->name);
		free(fam->type);
		free(fam->help);
	}
	free(m->families);
	free(m->path);
	ht_dir_close(&m->dir);
	free(m);
}

static struct ht_family *find_family(struct ht_metrics *m, const char *name)
{
	for (size_t f = 0; f < m->nfamilies; f++)
		if (!strcmp(m->families[f].name, name))
			return &m->families[f];
	return NULL;
}

int ht_metrics_family(struct ht_metrics *m, const char *name, const char *type, const char *help)
{
	struct ht_family *fams, *fam;

	if (find_family(m, name))
		return 0;
	fams = realloc(m->families, (m->nfamilies + 1) * sizeof(*fams));
	if (!fams)
		return -ENOMEM;
	m->families = fams;
	fam = &fams[m->nfamilies];
	memset(fam, 0, sizeof(*fam));
	fam->name = strdup(name);
	fam->type = strdup(type);
	fam->help = strdup(help);
	if (!fam->name || !fam->type || !fam->help) {
		free(fam->name);
		free(fam->type);
		free(fam->help);
		return -ENOMEM;
	}
	m->nfamilies++;
	return 0;
}

/*
 * Append @s to @buf as a label value: valid UTF-8, backslash, double quote and newline
 * escaped; what does not fit before @limit (NUL included) is left out, a whole character or
 * escape at a time. Returns the new length.
 */
static size_t escape_label(char *buf, size_t limit, size_t used, const char *s)
{
	char clean[LABEL_VALUE_MAX * 3 + 1];
	size_t n = ht_utf8_sanitize(s, strnlen(s, LABEL_VALUE_MAX), clean, sizeof(clean));

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)clean[i];
		const char *rep = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
		/* a whole character: its lead byte says how long it is (valid UTF-8 here) */
		size_t len = rep ? 2 : c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (used + len + 1 > limit)
			break;
		memcpy(buf + used, rep ? rep : clean + i, len);
		used += len;
		i += rep ? 1 : len;
	}
	buf[used] = '\0';
	return used;
}

size_t ht_metrics_labels(char *buf, size_t len, const char *const *labels)
{
	size_t used = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		size_t klen = strlen(labels[i]), limit;

		/* {key=" now, and room for the closing "} and the NUL whatever the value */
		if (used + 1 + klen + 2 + 3 > len)
			break;
		buf[used++] = i ? ',' : '{';
		memcpy(buf + used, labels[i], klen);
		used += klen;
		memcpy(buf + used, "=\"", 2);
		used += 2;
		limit = used + LABEL_VALUE_SHOWN + 1;
		used = escape_label(buf, limit < len - 2 ? limit : len - 2, used, labels[i + 1]);
		buf[used++] = '"';
	}
	if (used) {
		buf[used++] = '}';
		buf[used] = '\0';
	}
	return used;
}

static struct ht_series *find_series(struct ht_family *fam, const char *labels, bool create)
{
	struct ht_series *ser;

	for (size_t s = 0; s < fam->nseries; s++)
		if (!strcmp(fam->series[s].labels, labels))
			return &fam->series[s];
	if (!create)
		return NULL;
	ser = realloc(fam->series, (fam->nseries + 1) * sizeof(*ser));
	if (!ser)
		return NULL;
	fam->series = ser;
	ser = &ser[fam->nseries];
	ser->labels = strdup(labels);
	ser->value = 0;
	if (!ser->labels)
		return NULL;
	fam->nseries++;
	return ser;
}

static int update(struct ht_metrics *m, const char *name, const char *const *labels, uint64_t v,
		  bool add)
{
	struct ht_family *fam = find_family(m, name);
	struct ht_series *ser;
	char rendered[1024];

	if (!fam)
		return -ENOENT;
	ht_metrics_labels(rendered, sizeof(rendered), labels);
	ser = find_series(fam, rendered, true);
	if (!ser)
		return -ENOMEM;
	ser->value = add ? ser->value + v : v;
	return 0;
}

int ht_metrics_add(struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t delta)
{
	return update(m, name, labels, delta, true);
}

int ht_metrics_set(struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t value)
{
	return update(m, name, labels, value, false);
}

int ht_metrics_get(const struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t *value)
{
	struct ht_family *fam = find_family((struct ht_metrics *)m, name);
	struct ht_series *ser;
	char rendered[1024];

	if (!fam)
		return -ENOENT;
	ht_metrics_labels(rendered, sizeof(rendered), labels);
	ser = find_series(fam, rendered, false);
	if (!ser)
		return -ENOENT;
	*value = ser->value;
	return 0;
}

/* HELP text: valid UTF-8, backslash and newline escaped. */
static void put_help(FILE *f, const char *s)
{
	char clean[1024 * 3 + 1];

	ht_utf8_sanitize(s, strnlen(s, 1024), clean, sizeof(clean));
	for (const char *p = clean; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

void ht_metrics_print(const struct ht_metrics *m, FILE *f)
{
	for (size_t i = 0; i < m->nfamilies; i++) {
		const struct ht_family *fam = &m->families[i];

		fprintf(f, "# HELP %s ", fam->name);
		put_help(f, fam->help);
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type);
		for (size_t s = 0; s < fam->nseries; s++)
			fprintf(f, "%s%s %llu\n", fam->name, fam->series[s].labels,
				(unsigned long long)fam->series[s].value);
	}
}

/* The directory, opened once: split "dir/name" ("name" alone is in the working directory). */
static int open_dir(struct ht_metrics *m)
{
	char *slash = strrchr(m->path, '/');
	char dir[4096];
	int err;

	if (m->dir.fd >= 0)
		return 0;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == m->path ? 1 : (int)(slash - m->path),
			 m->path);
	m->name = slash ? slash + 1 : m->path;
	err = ht_dir_open(&m->dir, dir, false);
	if (err)
		ht_dir_close(&m->dir);
	return err;
}

int ht_metrics_check(struct ht_metrics *m)
{
	return open_dir(m) ?: ht_dir_check_file(&m->dir, m->name);
}

int ht_metrics_write(struct ht_metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err = open_dir(m);

	if (err)
		return err;
	f = open_memstream(&text, &len);
	if (!f) {
		err = -errno;
		snprintf(m->dir.why, sizeof(m->dir.why), "%s", strerror(errno));
		return err;
	}
	ht_metrics_print(m, f);
	if (fclose(f)) {
		err = -errno;
		snprintf(m->dir.why, sizeof(m->dir.why), "%s", strerror(errno));
	} else {
		/* 0644: node_exporter reads it as its own user; counters only, no names of tasks */
		err = ht_dir_replace(&m->dir, m->name, text, len, 0644);
	}
	free(text);
	return err;
}

const char *ht_metrics_why(const struct ht_metrics *m)
{
	return m->dir.why;
}
