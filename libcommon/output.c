// SPDX-License-Identifier: GPL-2.0
/* Output: the NDJSON envelope, table rows, the -o store, times and tracer ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"
#include "json.h"
#include "tool.h"

/*
 * The date part of a timestamp only changes once a second; at an event storm formatting it
 * (localtime_r + strftime) per event was measurable, so each thread keeps the last second's.
 */
struct date_cache {
	time_t sec;
	bool valid;
	char date_space[32]; /* "2026-03-05 18:28:39" */
	char date_t[32];     /* "2026-03-05T18:28:39" */
	char zone_hhmm[16];  /* "+0800" */
	char zone_rfc[16];   /* "+08:00" or "Z" */
};

static const struct date_cache *date_for(time_t sec)
{
	static __thread struct date_cache dc;
	struct tm tm;
	long off;

	if (dc.valid && dc.sec == sec)
		return &dc;
	localtime_r(&sec, &tm);
	strftime(dc.date_space, sizeof(dc.date_space), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(dc.date_t, sizeof(dc.date_t), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(dc.zone_hhmm, sizeof(dc.zone_hhmm), "%z", &tm);
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	if (tm.tm_gmtoff)
		snprintf(dc.zone_rfc, sizeof(dc.zone_rfc), "%c%02ld:%02ld",
			 tm.tm_gmtoff < 0 ? '-' : '+', (off / 3600) % 100, off % 3600 / 60);
	else
		snprintf(dc.zone_rfc, sizeof(dc.zone_rfc), "Z");
	dc.sec = sec;
	dc.valid = true;
	return &dc;
}

void ht_fmt_time(const struct timespec *ts, char *buf, size_t len)
{
	const struct date_cache *dc = date_for(ts->tv_sec);

	ht_snprintf(buf, len, "%s.%03ld %s", dc->date_space, ts->tv_nsec / 1000000, dc->zone_hhmm);
}

void ht_fmt_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	const struct date_cache *dc = date_for(ts->tv_sec);

	ht_snprintf(buf, len, "%s.%09ld%s", dc->date_t, ts->tv_nsec, dc->zone_rfc);
}

void ht_mono_to_wall(uint64_t mono_ns, struct timespec *out)
{
	struct timespec real, mono;
	int64_t wall_ns;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	wall_ns = (int64_t)real.tv_sec * (int64_t)NSEC_PER_SEC + real.tv_nsec -
		  ((int64_t)mono.tv_sec * (int64_t)NSEC_PER_SEC + mono.tv_nsec) + (int64_t)mono_ns;
	out->tv_sec = wall_ns / (int64_t)NSEC_PER_SEC;
	out->tv_nsec = wall_ns % (int64_t)NSEC_PER_SEC;
}

/* xid layout: 4 bytes time, 3 bytes host, 2 bytes pid, 3 bytes counter; base32hex. */
void ht_tracer_id(char out[21])
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	static uint32_t counter, host, pid;
	static bool init;
	unsigned char id[12];
	uint32_t t = (uint32_t)time(NULL), c;
	unsigned int bits = 0, acc = 0;
	int o = 0;

	if (!init) {
		struct timespec ts;
		const char *h = ht_hostname();

		clock_gettime(CLOCK_MONOTONIC, &ts);
		pid = (uint32_t)getpid(); /* not cached by glibc: a syscall per event otherwise */
		host = 2166136261u;	  /* FNV-1a of the hostname */
		for (; *h; h++)
			host = (host ^ (unsigned char)*h) * 16777619u;
		counter = (uint32_t)ts.tv_nsec ^ (pid << 8);
		init = true;
	}
	c = ++counter;
	id[0] = t >> 24, id[1] = t >> 16, id[2] = t >> 8, id[3] = t;
	id[4] = host >> 16, id[5] = host >> 8, id[6] = host;
	id[7] = pid >> 8, id[8] = pid;
	id[9] = c >> 16, id[10] = c >> 8, id[11] = c;
	for (int i = 0; i < 12; i++) {
		acc = (acc << 8) | id[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

/* The envelope of DESIGN.md as one line, without the newline, in @lb. 0 or -ENOMEM. */
static int build_envelope(struct line_buf *lb, const struct ht_env *env, cJSON *data,
			  const struct ht_container *ct, const char *tracer_type)
{
	char uploaded[64], when[64], id[21];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	ht_fmt_rfc3339(&now, uploaded, sizeof(uploaded));
	ht_fmt_time(&now, when, sizeof(when));
	ht_tracer_id(id);
	lb->len = 0;
	lb->failed = false;
	ht_lb_raw(lb, "{", 1);
	ht_lb_bytes_field(lb, "hostname", ht_hostname(), 256);
	ht_lb_bytes_field(lb, "region", env->region ? env->region : "", 256);
	ht_lb_field(lb, "uploaded_time", uploaded);
	ht_lb_field(lb, "time", when);
	ht_lb_field(lb, "tracer_name", env->tracer_name);
	ht_lb_field(lb, "tracer_id", id);
	ht_lb_field(lb, "tracer_time", when);
	ht_lb_field(lb, "tracer_type", tracer_type ? tracer_type : "auto");
	if (ct && ct->id[0]) {
		/* names and labels are the runtime's (user-controlled): valid UTF-8, escaped */
		const struct {
			const char *key, *value;
			size_t size;
		} keys[] = {
			{ "container_hostname", ct->hostname, sizeof(ct->hostname) },
			{ "container_host_namespace", ct->host_namespace,
			  sizeof(ct->host_namespace) },
			{ "container_type", ct->type, sizeof(ct->type) },
			{ "container_qos", ct->qos, sizeof(ct->qos) },
			{ "container_name", ct->name, sizeof(ct->name) },
			{ "container_pod_name", ct->pod_name, sizeof(ct->pod_name) },
		};

		ht_lb_bytes_field(lb, "container_id", ct->id, sizeof(ct->id));
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (keys[i].value[0])
				ht_lb_bytes_field(lb, keys[i].key, keys[i].value, keys[i].size);
	}
	if (data) {
		ht_lb_raw(lb, ",\"tracer_data\":", 15);
		ht_lb_json(lb, data, 0);
	}
	if (lb->failed)
		return -ENOMEM;
	ht_lb_raw(lb, "}", 1);
	if (!ht_lb_reserve(lb, 2))
		return -ENOMEM;
	lb->p[lb->len] = '\0';
	return 0;
}

static struct line_buf line;

char *ht_envelope(const struct ht_env *env, cJSON *data, const struct ht_container *ct,
		  const char *tracer_type)
{
	if (build_envelope(&line, env, data, ct, tracer_type))
		return NULL;
	return strdup(line.p);
}

/*
 * stdout is fully buffered (ht_start) and flushed by ht_flush() after each poll round, so a
 * storm costs one write(2) per round rather than per event, and `| jq` still sees every
 * event as soon as the round is over.
 */
static int write_stdout(struct ht_env *env, const char *s, size_t len)
{
	if (fwrite(s, 1, len, stdout) != len) {
		int err = errno ? errno : EIO;

		if (err == EPIPE)
			return -EPIPE;
		ht_err(env, "writing to stdout failed: %s", strerror(err));
		return -err;
	}
	return 0;
}

static void store_failed(struct ht_env *env, int err)
{
	const char *why = ht_store_why(env->store);

	if (*why)
		ht_err(env, "cannot go on with --output %s: %s", env->output_dir, why);
	else
		ht_err(env, "writing to %s/%s failed: %s; stopping", env->output_dir,
		       env->tracer_name, strerror(-err));
}

int ht_flush(struct ht_env *env)
{
	int err = ht_store_flush(env->store);

	if (err) {
		store_failed(env, err);
		return err;
	}
	errno = 0;
	if (fflush(stdout)) {
		err = errno ? errno : EIO;
		if (err == EPIPE)
			return -EPIPE;
		ht_err(env, "writing to stdout failed: %s", strerror(err));
		return -err;
	}
	return 0;
}

/* ht_emit_text() with a @text already printable. */
static int emit(struct ht_env *env, cJSON *data, const struct ht_container *ct,
		const char *tracer_type, const char *text)
{
	int err = 0;

	if (env->count && env->events >= env->count)
		goto out; /* --count reached within one batch */
	if (env->json || env->store) {
		err = build_envelope(&line, env, data, ct, tracer_type);
		if (err) {
			ht_err(env, "out of memory building a JSON line");
			goto out;
		}
	}
	if (env->store) {
		err = ht_store_append(env->store, line.p, line.len);
		if (err) {
			store_failed(env, err);
			goto out;
		}
	}
	if (env->json) {
		line.p[line.len] = '\n'; /* build_envelope left room for it */
		err = write_stdout(env, line.p, line.len + 1);
	} else if (text) {
		err = write_stdout(env, text, strlen(text));
	}
	if (!err) {
		env->events++;
		/* --metrics: events the kernel raised, not snapshots a user asked for */
		if (env->metrics && !env->metrics_own_count && !strcmp(tracer_type, "auto"))
			ht_metrics_count(env, data, 1);
	}
out:
	cJSON_Delete(data);
	return err;
}

/*
 * A table's text is printable whatever names it holds: a newline or an escape sequence in
 * a command, cgroup or device name must not make a row of its own or reach the terminal.
 */
int ht_emit_text(struct ht_env *env, cJSON *data, const struct ht_container *ct,
		 const char *tracer_type, const char *text)
{
	size_t len = text && !env->json ? strlen(text) : 0;
	char *shown = NULL;
	int err;

	if (len) {
		shown = malloc(len + 1);
		if (!shown) {
			ht_err(env, "out of memory for a table row");
			cJSON_Delete(data);
			return -ENOMEM;
		}
		ht_printable_text(text, len, shown, len + 1, true);
	}
	err = emit(env, data, ct, tracer_type, shown ? shown : text);
	free(shown);
	return err;
}

/* The row, as one printable line whatever the values hold; the CONTAINER column if any. */
static size_t vfmt_row(const struct ht_env *env, const struct ht_container *ct, char *row,
		       size_t size, const char *row_fmt, va_list ap)
{
	char raw[4096], stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	vsnprintf(raw, sizeof(raw), row_fmt, ap);
	n = (size_t)snprintf(row, size, "%-8s ", stamp);
	if (env->opt_flags & HT_OPT_CONTAINER) {
		char label[HT_CONTAINER_LABEL];

		n += (size_t)snprintf(row + n, size - n, "%-*s ", HT_CONTAINER_COLUMN,
				      ht_container_label(ct, label, sizeof(label)));
	}
	/* one line: whatever the values hold, nothing but printable text */
	n += ht_printable_text(raw, sizeof(raw), row + n, size - n - 1, false);
	row[n++] = '\n';
	row[n] = '\0';
	return n;
}

size_t ht_fmt_row(const struct ht_env *env, const struct ht_container *ct, char *row, size_t size,
		  const char *row_fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, row_fmt);
	n = vfmt_row(env, ct, row, size, row_fmt, ap);
	va_end(ap);
	return n;
}

int ht_emit(struct ht_env *env, cJSON *data, const struct ht_container *ct, const char *tracer_type,
	    const char *row_fmt, ...)
{
	char row[4096];
	va_list ap;

	if (env->json)
		return emit(env, data, ct, tracer_type, NULL);
	va_start(ap, row_fmt);
	vfmt_row(env, ct, row, sizeof(row), row_fmt, ap);
	va_end(ap);
	return emit(env, data, ct, tracer_type, row);
}

int ht_start(struct ht_env *env, const char *header_fmt, ...)
{
	char err[1024];
	va_list ap;

	if (env->output_dir) {
		env->store = ht_store_open(env->output_dir, env->tracer_name, env->output_max_bytes,
					   env->output_keep, err, sizeof(err));
		if (!env->store) {
			ht_err(env, "cannot use --output %s: %s", env->output_dir, err);
			return 1;
		}
	}
	/* the first --metrics file exists once the banner says the tool runs */
	if (ht_metrics_update(env, true))
		return 1;
	if (env->once)
		return 0;
	if (env->duration_set && env->duration_ns)
		fprintf(stderr, "Tracing %s for %llus... Hit Ctrl-C to end.\n", env->what,
			(unsigned long long)(env->duration_ns / NSEC_PER_SEC));
	else if (!env->duration_set)
		fprintf(stderr, "Tracing %s... Hit Ctrl-C to end.\n", env->what);
	if (!env->json && header_fmt) {
		char header[1024];

		va_start(ap, header_fmt);
		vsnprintf(header, sizeof(header), header_fmt, ap);
		va_end(ap);
		if (env->opt_flags & HT_OPT_CONTAINER)
			printf("%-8s %-*s %s\n", "TIME", HT_CONTAINER_COLUMN, "CONTAINER", header);
		else
			printf("%-8s %s\n", "TIME", header);
		fflush(stdout);
	}
	return 0;
}
