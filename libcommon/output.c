// SPDX-License-Identifier: GPL-2.0
/* Output: the NDJSON envelope, table rows, JSON string safety, times and tracer ids. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"
#include "tool.h"

/* Length of the valid UTF-8 sequence at @s (max @n bytes), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (s[0] == 0xed && s[1] >= 0xa0)
			return 0; /* UTF-16 surrogate */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (s[0] == 0xf4 && s[1] >= 0x90)
			return 0; /* beyond U+10FFFF */
		return 4;
	}
	return 0;
}

size_t ht_utf8_sanitize(const void *in, size_t len, char *out, size_t out_len)
{
	const unsigned char *s = in;
	size_t i = 0, o = 0;

	if (!out_len)
		return 0;
	while (i < len && s[i]) {
		size_t n, copy;
		const char *src;

		if (s[i] < 0x80) { /* ASCII, the common case */
			if (o + 1 >= out_len)
				break;
			out[o++] = (char)s[i++];
			continue;
		}
		/* a NUL is no continuation byte: the sequence check stops at the string's end */
		n = utf8_seq_len(s + i, len - i);
		src = (const char *)s + i;
		copy = n;

		if (!n) {
			src = "\xef\xbf\xbd"; /* U+FFFD, as Go's encoder does */
			copy = 3;
			n = 1;
		}
		if (o + copy >= out_len)
			break;
		memcpy(out + o, src, copy);
		o += copy;
		i += n;
	}
	out[o] = '\0';
	return o;
}

/*
 * Shown as it is in a terminal: @k bytes at @s (a valid UTF-8 sequence) that are not a C0 or
 * C1 control (an escape sequence starts with ESC or U+009B), DEL, or a character that moves
 * the text around (U+200E/F marks, U+2028/9 separators, U+202A..E and U+2066..9 bidi).
 */
static bool shown_as_is(const unsigned char *s, size_t k)
{
	if (k == 1)
		return s[0] >= 0x20 && s[0] != 0x7f;
	if (k == 2)
		return !(s[0] == 0xc2 && s[1] < 0xa0);
	if (k == 3 && s[0] == 0xe2 && s[1] == 0x80)
		return !(s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae));
	if (k == 3 && s[0] == 0xe2 && s[1] == 0x81)
		return !(s[2] >= 0xa6 && s[2] <= 0xa9);
	return true;
}

/*
 * Printable copy of up to @len bytes of @in (stops at NUL): what is not valid UTF-8 or not
 * shown as it is becomes '?', one per character or stray byte; with @lines, newlines and
 * tabs stay. Whole characters only. Returns the length.
 */
static size_t printable(const char *in, size_t len, char *out, size_t out_len, bool lines)
{
	size_t o = 0, i = 0;

	if (!out_len)
		return 0;
	while (i < len && in[i]) {
		const unsigned char *s = (const unsigned char *)in + i;
		size_t k = utf8_seq_len(s, len - i);
		bool keep = k && (shown_as_is(s, k) || (lines && (*s == '\n' || *s == '\t')));
		size_t w = keep ? k : 1;

		if (o + w >= out_len)
			break;
		if (keep)
			memcpy(out + o, s, k);
		else
			out[o] = '?';
		o += w;
		i += k ? k : 1;
	}
	out[o] = '\0';
	return o;
}

const char *ht_printable(const char *in, size_t len, char *out, size_t out_len)
{
	printable(in, len, out, out_len, false);
	return out;
}

cJSON *ht_json_add_bytes(cJSON *obj, const char *key, const void *bytes, size_t max_len)
{
	const unsigned char *in = bytes;
	char stackbuf[1024], *buf = stackbuf; /* no allocation up to 341 bytes of input */
	size_t n = strnlen(bytes, max_len), need = n * 3 + 1; /* a byte may become U+FFFD */
	cJSON *item;

	/* the common case, a NUL-terminated ASCII string, needs no copy */
	if (n < max_len) {
		size_t i = 0;

		while (i < n && in[i] < 0x80)
			i++;
		if (i == n)
			return cJSON_AddStringToObject(obj, key, bytes);
	}
	stackbuf[0] = '\0';
	if (need > sizeof(stackbuf)) {
		buf = malloc(need);
		if (!buf)
			return NULL;
	}
	ht_utf8_sanitize(bytes, n, buf, need);
	item = cJSON_AddStringToObject(obj, key, buf);
	if (buf != stackbuf)
		free(buf);
	return item;
}

/* Decimal digits of @v ending at @end (exclusive); returns the first digit. No printf. */
static char *fmt_decimal(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

cJSON *ht_json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char num[24];

	num[sizeof(num) - 1] = '\0';
	return cJSON_AddRawToObject(obj, key, fmt_decimal(v, num + sizeof(num) - 1));
}

cJSON *ht_json_add_s64(cJSON *obj, const char *key, int64_t v)
{
	char num[24], *p;

	num[sizeof(num) - 1] = '\0';
	p = fmt_decimal(v < 0 ? 0ULL - (uint64_t)v : (uint64_t)v, num + sizeof(num) - 1);
	if (v < 0)
		*--p = '-';
	return cJSON_AddRawToObject(obj, key, p);
}

cJSON *ht_json_add_hex(cJSON *obj, const char *key, uint64_t v)
{
	char hex[24] = "";

	if (v)
		ht_fmt_hex(v, hex);
	return cJSON_AddStringToObject(obj, key, hex);
}

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

/*
 * The line being built. It lives as long as the process and only grows, so a storm costs no
 * allocation per event for the envelope (tracer_data is still a cJSON tree from the tool).
 */
struct line_buf {
	char *p;
	size_t len, cap;
	bool failed; /* an allocation failed: the line is incomplete */
};

static bool lb_reserve(struct line_buf *lb, size_t more)
{
	size_t cap = lb->cap ? lb->cap : 16384;
	char *p;

	if (lb->len + more <= lb->cap)
		return true;
	while (cap < lb->len + more)
		cap *= 2;
	p = realloc(lb->p, cap);
	if (!p) {
		lb->failed = true;
		return false;
	}
	lb->p = p;
	lb->cap = cap;
	return true;
}

static void lb_raw(struct line_buf *lb, const char *s, size_t n)
{
	if (!lb_reserve(lb, n))
		return;
	memcpy(lb->p + lb->len, s, n);
	lb->len += n;
}

/*
 * Bytes a JSON string cannot hold as they are (controls, quote and backslash) or that start
 * a multi-byte character, which is checked.
 */
static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/*
 * The end of the stretch in [@s, @end) that needs no escaping, eight bytes a step while
 * eight remain: a word holds such a byte when one of its bytes is < 0x20, '"', '\\' or
 * >= 0x80.
 */
static const char *plain_run(const char *s, const char *end)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;

	while (end - s >= 8) {
		uint64_t w, q, b;

		memcpy(&w, s, sizeof(w));
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w) & highs)
			break;
		s += sizeof(w);
	}
	while (s < end && !needs_escape((unsigned char)*s))
		s++;
	return s;
}

/*
 * A JSON string, escaped as cJSON escapes it, and valid UTF-8 whatever @s holds (a tool may
 * pass a name straight from the kernel or a runtime): an invalid byte becomes U+FFFD, as
 * ht_utf8_sanitize() does.
 */
static void lb_string(struct line_buf *lb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s);
	const char *end = s + n;

	if (!lb_reserve(lb, n * 6 + 2))
		return;
	lb->p[lb->len++] = '"';
	while (s < end) {
		const char *run = s;
		char *o;

		/* copy the plain stretch in one go: most strings have nothing to escape */
		s = plain_run(s, end);
		memcpy(lb->p + lb->len, run, (size_t)(s - run));
		lb->len += (size_t)(s - run);
		if (s == end)
			break;
		o = lb->p + lb->len;
		if ((unsigned char)*s >= 0x80) {
			size_t k = utf8_seq_len((const unsigned char *)s, (size_t)(end - s));

			/* reserved: 6 bytes a byte, and U+FFFD takes 3 */
			memcpy(o, k ? s : "\xef\xbf\xbd", k ? k : 3);
			lb->len += k ? k : 3;
			s += k ? k : 1;
			continue;
		}
		o[0] = '\\';
		switch (*s) {
		case '"':
			o[1] = '"';
			break;
		case '\\':
			o[1] = '\\';
			break;
		case '\b':
			o[1] = 'b';
			break;
		case '\f':
			o[1] = 'f';
			break;
		case '\n':
			o[1] = 'n';
			break;
		case '\r':
			o[1] = 'r';
			break;
		case '\t':
			o[1] = 't';
			break;
		default:
			o[1] = 'u';
			o[2] = '0';
			o[3] = '0';
			o[4] = hex[(unsigned char)*s >> 4];
			o[5] = hex[*s & 15];
			lb->len += 4;
			break;
		}
		lb->len += 2;
		s++;
	}
	lb->p[lb->len++] = '"';
}

/*
 * A number as cJSON_Print writes it: integers as integers, other values with 15 significant
 * digits or 17 when 15 do not round-trip. cJSON gets there with sprintf + sscanf for every
 * number outside int range (netns inodes, TCP sequence numbers); integers are done here.
 */
static void lb_number(struct line_buf *lb, double d)
{
	char num[32];
	int n;

	if (isnan(d) || isinf(d)) {
		lb_raw(lb, "null", 4);
		return;
	}
	/* integral and exact in 15 digits; cJSON writes -0 as "-0" */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		char *end = num + sizeof(num), *o;
		long long v = (long long)d;

		o = fmt_decimal(v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, end);
		if (v < 0)
			*--o = '-';
		lb_raw(lb, o, (size_t)(end - o));
		return;
	}
	n = snprintf(num, sizeof(num), "%1.15g", d);
	if (strtod(num, NULL) != d)
		n = snprintf(num, sizeof(num), "%1.17g", d);
	lb_raw(lb, num, (size_t)n);
}

#define JSON_MAX_DEPTH 64

/* A cJSON tree, printed as cJSON_PrintUnformatted prints it, without its buffer growth. */
static void lb_json(struct line_buf *lb, const cJSON *item, int depth)
{
	const cJSON *child;

	if (depth > JSON_MAX_DEPTH) {
		char *text = cJSON_PrintUnformatted(item);

		if (!text) {
			lb->failed = true;
			return;
		}
		lb_raw(lb, text, strlen(text));
		cJSON_free(text);
		return;
	}
	switch (item->type & 0xff) {
	case cJSON_False:
		lb_raw(lb, "false", 5);
		break;
	case cJSON_True:
		lb_raw(lb, "true", 4);
		break;
	case cJSON_NULL:
		lb_raw(lb, "null", 4);
		break;
	case cJSON_Number:
		lb_number(lb, item->valuedouble);
		break;
	case cJSON_Raw:
		if (item->valuestring)
			lb_raw(lb, item->valuestring, strlen(item->valuestring));
		else
			lb->failed = true; /* cJSON refuses to print a Raw without text */
		break;
	case cJSON_String:
		lb_string(lb, item->valuestring ? item->valuestring : "");
		break;
	case cJSON_Array:
	case cJSON_Object: {
		bool object = (item->type & 0xff) == cJSON_Object;

		lb_raw(lb, object ? "{" : "[", 1);
		for (child = item->child; child; child = child->next) {
			if (object) {
				lb_string(lb, child->string ? child->string : "");
				lb_raw(lb, ":", 1);
			}
			lb_json(lb, child, depth + 1);
			if (child->next)
				lb_raw(lb, ",", 1);
		}
		lb_raw(lb, object ? "}" : "]", 1);
		break;
	}
	default:
		lb->failed = true;
		break;
	}
}

/* ,"key":"value" (the first field has no leading comma) */
static void lb_field(struct line_buf *lb, const char *key, const char *value)
{
	lb_raw(lb, lb->len > 1 ? ",\"" : "\"", lb->len > 1 ? 2 : 1);
	lb_raw(lb, key, strlen(key));
	lb_raw(lb, "\":", 2);
	lb_string(lb, value);
}

static void lb_bytes_field(struct line_buf *lb, const char *key, const char *bytes, size_t max)
{
	char safe[3 * 256 + 1];

	ht_utf8_sanitize(bytes, max < 256 ? max : 256, safe, sizeof(safe));
	lb_field(lb, key, safe);
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
	lb_raw(lb, "{", 1);
	lb_bytes_field(lb, "hostname", ht_hostname(), 256);
	lb_bytes_field(lb, "region", env->region ? env->region : "", 256);
	lb_field(lb, "uploaded_time", uploaded);
	lb_field(lb, "time", when);
	lb_field(lb, "tracer_name", env->tracer_name);
	lb_field(lb, "tracer_id", id);
	lb_field(lb, "tracer_time", when);
	lb_field(lb, "tracer_type", tracer_type ? tracer_type : "auto");
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

		lb_bytes_field(lb, "container_id", ct->id, sizeof(ct->id));
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (keys[i].value[0])
				lb_bytes_field(lb, keys[i].key, keys[i].value, keys[i].size);
	}
	if (data) {
		lb_raw(lb, ",\"tracer_data\":", 15);
		lb_json(lb, data, 0);
	}
	if (lb->failed)
		return -ENOMEM;
	lb_raw(lb, "}", 1);
	if (!lb_reserve(lb, 2))
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
		printable(text, len, shown, len + 1, true);
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
	n += printable(raw, sizeof(raw), row + n, size - n - 1, false);
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
