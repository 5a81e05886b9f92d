// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition files for node_exporter's textfile collector: a small set of
 * counter/gauge families kept in memory and rewritten atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so that a scrape never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

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

/* Append @s to @buf escaped as a label value: backslash, double quote and newline. */
static size_t escape_label(char *buf, size_t len, size_t used, const char *s)
{
	for (; *s; s++) {
		const char *rep = NULL;
		size_t n;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		n = rep ? 2 : 1;

		if (used + n + 1 > len)
			break;
		if (rep)
			memcpy(buf + used, rep, 2);
		else
			buf[used] = *s;
		used += n;
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
	if (!labels || !labels[0])
		return 0;
	for (int i = 0; labels[i] && labels[i + 1]; i += 2) {
		used += (size_t)snprintf(buf + used, len - used, "%s%s=\"", i ? "," : "{",
					 labels[i]);
		if (used >= len)
			return len - 1;
		used = escape_label(buf, len, used, labels[i + 1]);
		used += (size_t)snprintf(buf + used, len - used, "\"");
		if (used >= len)
			return len - 1;
	}
	used += (size_t)snprintf(buf + used, len - used, "}");
	return used < len ? used : len - 1;
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

/* HELP text escaping: backslash and newline. */
static void put_help(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
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

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, err = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	/* some file systems cannot sync a directory: the rename is done anyway */
	if (fsync(fd) && errno != EINVAL)
		err = -errno;
	close(fd);
	return err;
}

int ht_metrics_write(const struct ht_metrics *m)
{
	char *copy, tmp[4096];
	int fd, err = 0;
	FILE *f;

	copy = strdup(m->path);
	if (!copy)
		return -ENOMEM;
	/* same directory (rename stays atomic), and not *.prom so the collector skips it */
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(copy), basename(m->path));
	free(copy);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	ht_metrics_print(m, f);
	if (fflush(f) || ferror(f))
		err = -(errno ? errno : EIO);
	else if (fchmod(fd, 0644) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, m->path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return fsync_dir(m->path);
}
