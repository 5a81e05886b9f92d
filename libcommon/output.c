// SPDX-License-Identifier: GPL-2.0
/* Output: the NDJSON envelope, table rows, JSON string safety, times and tracer ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"

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
		size_t n = utf8_seq_len(s + i, strnlen((const char *)s + i, len - i));
		const char *src = (const char *)s + i;
		size_t copy = n;

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

const char *ht_printable(const char *in, size_t len, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && in[i] && o + 1 < out_len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (out_len)
		out[o] = '\0';
	return out;
}

cJSON *ht_json_add_bytes(cJSON *obj, const char *key, const void *bytes, size_t max_len)
{
	char stackbuf[512] = "", *buf = stackbuf;
	size_t need = max_len * 3 + 1; /* every byte may become U+FFFD */
	cJSON *item;

	if (need > sizeof(stackbuf)) {
		buf = malloc(need);
		if (!buf)
			return NULL;
	}
	ht_utf8_sanitize(bytes, max_len, buf, need);
	item = cJSON_AddStringToObject(obj, key, buf);
	if (buf != stackbuf)
		free(buf);
	return item;
}

cJSON *ht_json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return cJSON_AddRawToObject(obj, key, num);
}

cJSON *ht_json_add_s64(cJSON *obj, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	return cJSON_AddRawToObject(obj, key, num);
}

cJSON *ht_json_add_hex(cJSON *obj, const char *key, uint64_t v)
{
	char hex[24] = "";

	if (v)
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)v);
	return cJSON_AddStringToObject(obj, key, hex);
}

void ht_fmt_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char date[32], zone[8];

	localtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, len, "%s.%03ld %s", date, ts->tv_nsec / 1000000, zone);
}

void ht_fmt_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char date[32], zone[24] = "Z";

	localtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (tm.tm_gmtoff) {
		long off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;

		snprintf(zone, sizeof(zone), "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
			 off / 3600, off % 3600 / 60);
	}
	snprintf(buf, len, "%s.%09ld%s", date, ts->tv_nsec, zone);
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
	static uint32_t counter, host;
	static bool init;
	unsigned char id[12];
	uint32_t t = (uint32_t)time(NULL), c;
	uint32_t pid = (uint32_t)getpid();
	unsigned int bits = 0, acc = 0;
	int o = 0;

	if (!init) {
		struct timespec ts;
		const char *h = ht_hostname();

		clock_gettime(CLOCK_MONOTONIC, &ts);
		host = 2166136261u; /* FNV-1a of the hostname */
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

static void add_container_fields(cJSON *root, const struct ht_container *ct)
{
	if (!ct || !ct->id[0])
		return;
	cJSON_AddStringToObject(root, "container_id", ct->id);
	if (ct->hostname[0])
		ht_json_add_bytes(root, "container_hostname", ct->hostname, sizeof(ct->hostname));
	if (ct->host_namespace[0])
		cJSON_AddStringToObject(root, "container_host_namespace", ct->host_namespace);
	if (ct->type[0])
		cJSON_AddStringToObject(root, "container_type", ct->type);
	if (ct->qos[0])
		cJSON_AddStringToObject(root, "container_qos", ct->qos);
}

char *ht_envelope(const struct ht_env *env, cJSON *data, const struct ht_container *ct,
		  const char *tracer_type)
{
	char uploaded[48], when[48], id[21];
	struct timespec now;
	cJSON *root = cJSON_CreateObject();
	char *line;

	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	ht_fmt_rfc3339(&now, uploaded, sizeof(uploaded));
	ht_fmt_time(&now, when, sizeof(when));
	ht_tracer_id(id);
	ht_json_add_bytes(root, "hostname", ht_hostname(), 256);
	ht_json_add_bytes(root, "region", env->region ? env->region : "", 256);
	cJSON_AddStringToObject(root, "uploaded_time", uploaded);
	cJSON_AddStringToObject(root, "time", when);
	cJSON_AddStringToObject(root, "tracer_name", env->tracer_name);
	cJSON_AddStringToObject(root, "tracer_id", id);
	cJSON_AddStringToObject(root, "tracer_time", when);
	cJSON_AddStringToObject(root, "tracer_type", tracer_type ? tracer_type : "auto");
	add_container_fields(root, ct);
	if (data)
		cJSON_AddItemReferenceToObject(root, "tracer_data", data);
	line = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return line;
}

/* One complete line to stdout; -EPIPE when the reader is gone. */
static int write_stdout(struct ht_env *env, const char *s, size_t len)
{
	if (fwrite(s, 1, len, stdout) != len || fflush(stdout)) {
		int err = errno ? errno : EIO;

		if (err == EPIPE)
			return -EPIPE;
		ht_err(env, "writing to stdout failed: %s", strerror(err));
		return -err;
	}
	return 0;
}

int ht_emit_text(struct ht_env *env, cJSON *data, const struct ht_container *ct,
		 const char *tracer_type, const char *text)
{
	char *line = NULL;
	int err = 0;

	if (env->count && env->events >= env->count)
		goto out; /* --count reached within one batch */
	if (env->json || env->store) {
		line = ht_envelope(env, data, ct, tracer_type);
		if (!line) {
			ht_err(env, "out of memory building a JSON line");
			err = -ENOMEM;
			goto out;
		}
	}
	if (env->store) {
		err = ht_store_append(env->store, line, strlen(line));
		if (err) {
			ht_err(env, "writing to %s/%s failed: %s; stopping", env->output_dir,
			       env->tracer_name, strerror(-err));
			goto out;
		}
	}
	if (env->json) {
		size_t n = strlen(line);

		line[n] = '\n'; /* cJSON allocated n + 1 bytes: reuse the NUL for the newline */
		err = write_stdout(env, line, n + 1);
	} else if (text) {
		err = write_stdout(env, text, strlen(text));
	}
	if (!err)
		env->events++;
out:
	free(line);
	cJSON_Delete(data);
	return err;
}

int ht_emit(struct ht_env *env, cJSON *data, const struct ht_container *ct, const char *tracer_type,
	    const char *row_fmt, ...)
{
	char row[4096], stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	int n;

	if (env->json)
		return ht_emit_text(env, data, ct, tracer_type, NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	n = snprintf(row, sizeof(row), "%-8s ", stamp);
	va_start(ap, row_fmt);
	n += vsnprintf(row + n, sizeof(row) - (size_t)n - 1, row_fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(row) - 2)
		n = (int)sizeof(row) - 2;
	row[n++] = '\n';
	row[n] = '\0';
	return ht_emit_text(env, data, ct, tracer_type, row);
}

int ht_start(struct ht_env *env, const char *header_fmt, ...)
{
	char err[256];
	va_list ap;

	if (env->output_dir) {
		env->store = ht_store_open(env->output_dir, env->tracer_name, env->output_max_bytes,
					   env->output_keep, err, sizeof(err));
		if (!env->store) {
			ht_err(env, "cannot use --output %s: %s", env->output_dir, err);
			return 1;
		}
	}
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
		printf("%-8s %s\n", "TIME", header);
		fflush(stdout);
	}
	return 0;
}
