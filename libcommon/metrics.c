// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition files for node_exporter's textfile collector: counter and gauge
 * families kept in memory and rewritten atomically (temporary file in the same directory,
 * fsync, rename, fsync of the directory), so that a scrape never sees half a file. The
 * directory is opened once, at the first write, and the file replaced through it as
 * safedir.c says: a link planted as the file, or a directory others can write (unless
 * sticky), is refused.
 *
 * Label values come from the kernel and from users (device names, which a container names in
 * its own network namespace, BTF enum names, RAS device strings): they are made valid UTF-8
 * and escaped as the text format says (backslash, double quote, newline), and a value that
 * does not fit is cut at a character.
 *
 * And --metrics, the same for every tool: huatuo_bamai_<tracer_name>_events_total counted
 * where events are reported (ht_emit), _lost_total, the tool's own families (netdev's NIC
 * counters, ras's hardware error total, pfc's pause frames), written at start, every
 * --interval from the run loop, and at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "huatuo.h"
#include "metrics.h"
#include "tool.h"

#define LABEL_VALUE_MAX 1024  /* input bytes of one label value */
#define LABEL_VALUE_SHOWN 256 /* bytes of one escaped value: every label of a series fits */
#define LABELS_MAX 4096	      /* a rendered label set */

struct ht_series {
	char *labels; /* rendered k="v",... without braces; "" for none */
	uint32_t hash;
	uint64_t value;
};

struct ht_family {
	char *name;
	char *type;
	char *help;
	struct ht_series *series;
	size_t nseries, cap;
};

struct ht_metrics {
	char *path;
	char *const_labels; /* rendered host="...",region="..." */
	struct ht_family *families;
	size_t nfamilies;
	struct ht_dir dir; /* the file's directory, from the first write on */
	const char *name;  /* the file's name in it */
};

struct ht_metrics *ht_metrics_new(const char *path)
{
	struct ht_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->path = strdup(path);
	m->const_labels = strdup("");
	if (!m->path || !m->const_labels) {
		free(m->path);
		free(m->const_labels);
		free(m);
		return NULL;
	}
	m->dir.fd = -1;
	return m;
}

static void free_series(struct ht_family *fam)
{
	for (size_t s = 0; s < fam->nseries; s++)
		free(fam->series[s].labels);
	fam->nseries = 0;
}

void ht_metrics_free(struct ht_metrics *m)
{
	if (!m)
		return;
	for (size_t f = 0; f < m->nfamilies; f++) {
		struct ht_family *fam = &m->families[f];

		free_series(fam);
		free(fam->series);
		free(fam->name);
		free(fam->type);
		free(fam->help);
	}
	free(m->families);
	free(m->const_labels);
	free(m->path);
	ht_dir_close(&m->dir);
	free(m);
}

static struct ht_family *find_family(const struct ht_metrics *m, const char *name)
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

/* ---- label sets ---- */

/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself) */
static bool valid_label_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9') || !strncmp(s, "__", 2))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
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

/*
 * @labels rendered as k="v",k="v" (no braces) into @buf, or with every value
 * HT_METRICS_OTHER (@other). The length, or -EINVAL for a bad label name.
 */
static int render_labels(char *buf, size_t len, const char *const *labels, bool other)
{
	const char *copy[2 * HT_METRIC_LABELS_MAX + 5];
	char braced[LABELS_MAX];
	size_t n;
	int i;

	for (i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		if (!valid_label_name(labels[i]) || i + 2 >= (int)ARRAY_SIZE(copy))
			return -EINVAL;
		copy[i] = labels[i];
		copy[i + 1] = other ? HT_METRICS_OTHER : labels[i + 1];
	}
	copy[i] = NULL;
	n = ht_metrics_labels(braced, sizeof(braced), copy);
	if (n < 2) { /* no labels */
		buf[0] = '\0';
		return 0;
	}
	n -= 2;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, braced + 1, n);
	buf[n] = '\0';
	return (int)n;
}

int ht_metrics_const_labels(struct ht_metrics *m, const char *const *labels)
{
	char buf[LABELS_MAX];
	int n = render_labels(buf, sizeof(buf), labels, false);
	char *copy;

	if (n < 0)
		return n;
	copy = strdup(buf);
	if (!copy)
		return -ENOMEM;
	free(m->const_labels);
	m->const_labels = copy;
	return 0;
}

/* FNV-1a */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct ht_series *find_series(const struct ht_family *fam, const char *labels, uint32_t hash)
{
	for (size_t s = 0; s < fam->nseries; s++)
		if (fam->series[s].hash == hash && !strcmp(fam->series[s].labels, labels))
			return &fam->series[s];
	return NULL;
}

static struct ht_series *add_series(struct ht_family *fam, const char *labels, uint32_t hash)
{
	struct ht_series *ser;

	if (ht_grow(&fam->series, &fam->cap, fam->nseries + 1, sizeof(*fam->series), 8))
		return NULL;
	ser = &fam->series[fam->nseries];
	ser->labels = strdup(labels);
	if (!ser->labels)
		return NULL;
	ser->hash = hash;
	ser->value = 0;
	fam->nseries++;
	return ser;
}

/* The series of @labels in @fam, created if @create; past the cap, the "other" one. */
static int lookup(struct ht_family *fam, const char *const *labels, bool create, bool overflow_ok,
		  struct ht_series **out)
{
	char rendered[LABELS_MAX];
	int n = render_labels(rendered, sizeof(rendered), labels, false), rc = 0;
	uint32_t hash;

	if (n < 0)
		return n;
	hash = hash_str(rendered);
	*out = find_series(fam, rendered, hash);
	if (*out || !create)
		return *out ? 0 : -ENOENT;
	if (fam->nseries >= HT_METRICS_MAX_SERIES) {
		if (!overflow_ok)
			return -E2BIG;
		n = render_labels(rendered, sizeof(rendered), labels, true);
		if (n < 0)
			return n;
		hash = hash_str(rendered);
		*out = find_series(fam, rendered, hash);
		rc = HT_METRICS_OVERFLOW;
		if (*out)
			return rc;
	}
	*out = add_series(fam, rendered, hash);
	return *out ? rc : -ENOMEM;
}

/* Add @v to the series of @labels (past the cap, to the "other" one), or set it to @v. */
static int update(struct ht_metrics *m, const char *name, const char *const *labels, uint64_t v,
		  bool add)
{
	struct ht_family *fam = find_family(m, name);
	struct ht_series *ser;
	int rc;

	if (!fam)
		return -ENOENT;
	rc = lookup(fam, labels, true, add, &ser); /* HT_METRICS_OVERFLOW only if @add */
	if (rc < 0)
		return rc;
	ser->value = add ? ser->value + v : v;
	return rc;
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
	struct ht_family *fam = find_family(m, name);
	struct ht_series *ser;
	int rc;

	if (!fam)
		return -ENOENT;
	rc = lookup(fam, labels, false, false, &ser);
	if (rc < 0)
		return rc;
	*value = ser->value;
	return 0;
}

int ht_metrics_reset(struct ht_metrics *m, const char *name)
{
	struct ht_family *fam = find_family(m, name);

	if (!fam)
		return -ENOENT;
	free_series(fam);
	return 0;
}

/* ---- the exposition ---- */

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
	const char *cl = m->const_labels;

	for (size_t i = 0; i < m->nfamilies; i++) {
		const struct ht_family *fam = &m->families[i];

		fprintf(f, "# HELP %s ", fam->name);
		put_help(f, fam->help);
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type);
		for (size_t s = 0; s < fam->nseries; s++) {
			const char *l = fam->series[s].labels;

			if (*l || *cl)
				fprintf(f, "%s{%s%s%s} %llu\n", fam->name, l, *l && *cl ? "," : "",
					cl, (unsigned long long)fam->series[s].value);
			else
				fprintf(f, "%s %llu\n", fam->name,
					(unsigned long long)fam->series[s].value);
		}
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

/* ---- --metrics in every tool ---- */

#define INTERVAL_DEFAULT_NS (15 * NSEC_PER_SEC)

static struct {
	char events[128], lost[128], suppressed[128];
	const char *const *labels; /* the tool's metrics.labels */
	int (*collect)(struct ht_env *env, struct ht_metrics *m);
	bool suppressed_family;
	bool warned_overflow, warned_count, failing;
	bool written; /* a write was tried: the start's checks are done */
} mx;

uint64_t ht_metrics_interval_ns(const struct ht_env *env)
{
	return env->interval_set ? env->interval_ns : INTERVAL_DEFAULT_NS;
}

struct ht_metrics *ht_metrics_for(const struct ht_env *env, const char *path)
{
	const char *host_region[] = { "host", ht_hostname(), "region", env->region, NULL };
	struct ht_metrics *m = ht_metrics_new(path);

	if (m && ht_metrics_const_labels(m, host_region)) {
		ht_metrics_free(m);
		return NULL;
	}
	return m;
}

int ht_metrics_setup(struct ht_env *env, const struct ht_tool *tool)
{
	struct ht_metrics *m;
	int err = 0;

	if (!env->metrics_path)
		return 0;
	m = ht_metrics_for(env, env->metrics_path);
	if (!m) {
		ht_err(env, "out of memory for --metrics");
		return 1;
	}
	mx.labels = tool->metrics.labels;
	mx.collect = tool->metrics.collect;
	mx.suppressed_family = tool->metrics.suppressed && !tool->metrics.counters_only;
	snprintf(mx.events, sizeof(mx.events), "huatuo_bamai_%s_events_total", env->tracer_name);
	snprintf(mx.lost, sizeof(mx.lost), "huatuo_bamai_%s_lost_total", env->tracer_name);
	snprintf(mx.suppressed, sizeof(mx.suppressed), "huatuo_bamai_%s_suppressed_total",
		 env->tracer_name);
	if (!tool->metrics.counters_only) {
		char help[256];

		snprintf(help, sizeof(help), "Events %s reported since it started", env->tool);
		err = ht_metrics_family(m, mx.events, "counter", help);
		snprintf(help, sizeof(help),
			 "Events %s lost in the kernel (buffer full, or a run of its program "
			 "skipped because a BPF program was already running on that CPU)",
			 env->tool);
		err = err ?: ht_metrics_family(m, mx.lost, "counter", help);
		err = err ?: ht_metrics_set(m, mx.lost, NULL, 0);
	}
	if (!err && mx.suppressed_family) {
		char help[256];

		snprintf(help, sizeof(help),
			 "Events %s saw but did not report because of its --rate limit", env->tool);
		err = ht_metrics_family(m, mx.suppressed, "counter", help);
		err = err ?: ht_metrics_set(m, mx.suppressed, NULL, 0);
	}
	if (err) {
		ht_metrics_free(m);
		ht_err(env, "out of memory for --metrics");
		return 1;
	}
	env->metrics = m;
	return 0;
}

void ht_metrics_count(struct ht_env *env, const cJSON *data, uint64_t n)
{
	const char *labels[2 * HT_METRIC_LABELS_MAX + 1];
	char num[HT_METRIC_LABELS_MAX][32];
	int k = 0, rc;

	if (!env->metrics)
		return;
	for (int i = 0; mx.labels && i < HT_METRIC_LABELS_MAX && mx.labels[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, mx.labels[i]);

		labels[k++] = mx.labels[i];
		if ((cJSON_IsString(v) || cJSON_IsRaw(v)) && v->valuestring) {
			labels[k++] = v->valuestring;
		} else if (cJSON_IsNumber(v)) {
			snprintf(num[i], sizeof(num[i]), "%.15g", v->valuedouble);
			labels[k++] = num[i];
		} else if (cJSON_IsBool(v)) {
			labels[k++] = cJSON_IsTrue(v) ? "true" : "false";
		} else {
			labels[k++] = "";
		}
	}
	labels[k] = NULL;
	rc = ht_metrics_add(env->metrics, mx.events, labels, n);
	if (rc == HT_METRICS_OVERFLOW && !mx.warned_overflow) {
		mx.warned_overflow = true;
		ht_warn(env,
			"--metrics: more than %d label sets in %s; the next ones are counted under "
			"\"" HT_METRICS_OTHER "\"",
			HT_METRICS_MAX_SERIES, mx.events);
	} else if (rc < 0 && !mx.warned_count) {
		mx.warned_count = true;
		ht_warn(env, "--metrics: cannot count an event in %s: %s", mx.events,
			strerror(-rc));
	}
}

int ht_metrics_update(struct ht_env *env, bool must)
{
	struct ht_metrics *m = env->metrics;
	int err;

	if (!m)
		return 0;
	/* refused at start with one line, before a collect says anything */
	if (!mx.written && ht_metrics_check(m)) {
		ht_err(env, "cannot write --metrics %s: %s", env->metrics_path, ht_metrics_why(m));
		return 1;
	}
	if (mx.collect) {
		err = mx.collect(env, m);
		if (err)
			return must ? 1 : err;
	}
	if (find_family(m, mx.lost))
		ht_metrics_set(m, mx.lost, NULL, env->lost + env->skipped);
	if (mx.suppressed_family)
		ht_metrics_set(m, mx.suppressed, NULL, env->suppressed);
	err = ht_metrics_write(m);
	mx.written = true;
	if (err && must) {
		ht_err(env, "cannot write --metrics %s: %s", env->metrics_path, ht_metrics_why(m));
		return 1;
	}
	if (err && !mx.failing)
		ht_warn(env, "cannot rewrite --metrics %s: %s (will keep trying)",
			env->metrics_path, ht_metrics_why(m));
	else if (!err && mx.failing)
		ht_info(env, "--metrics %s written again", env->metrics_path);
	mx.failing = err != 0;
	return 0;
}

void ht_metrics_close(struct ht_env *env)
{
	ht_metrics_free(env->metrics);
	env->metrics = NULL;
}
