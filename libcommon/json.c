// SPDX-License-Identifier: GPL-2.0
/*
 * JSON and text safety: kernel bytes made valid UTF-8 or printable, exact 64-bit numbers in
 * cJSON trees, and the line writer that prints an NDJSON line without cJSON's buffer growth
 * (json.h; the envelope around it is output.c's).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"
#include "json.h"

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
size_t ht_printable_text(const char *in, size_t len, char *out, size_t out_len, bool lines)
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
	ht_printable_text(in, len, out, out_len, false);
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

bool ht_lb_reserve(struct line_buf *lb, size_t more)
{
	if (lb->len + more <= lb->cap)
		return true;
	if (ht_grow(&lb->p, &lb->cap, lb->len + more, 1, 16384)) {
		lb->failed = true;
		return false;
	}
	return true;
}

void ht_lb_raw(struct line_buf *lb, const char *s, size_t n)
{
	if (!ht_lb_reserve(lb, n))
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
void ht_lb_string(struct line_buf *lb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	/* cJSON's two-character escapes; the other controls are \u00XX */
	static const char short_escape['\\' + 1] = {
		['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
		['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't'
	};
	size_t n = strlen(s);
	const char *end = s + n;

	if (!ht_lb_reserve(lb, n * 6 + 2))
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
		/* below 0x80 and escaped: a control, '"' or '\\' */
		o[0] = '\\';
		o[1] = short_escape[(unsigned char)*s];
		if (!o[1]) {
			o[1] = 'u';
			o[2] = '0';
			o[3] = '0';
			o[4] = hex[(unsigned char)*s >> 4];
			o[5] = hex[*s & 15];
			lb->len += 4;
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
		ht_lb_raw(lb, "null", 4);
		return;
	}
	/* integral and exact in 15 digits; cJSON writes -0 as "-0" */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		char *end = num + sizeof(num), *o;
		long long v = (long long)d;

		o = fmt_decimal(v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, end);
		if (v < 0)
			*--o = '-';
		ht_lb_raw(lb, o, (size_t)(end - o));
		return;
	}
	n = snprintf(num, sizeof(num), "%1.15g", d);
	if (strtod(num, NULL) != d)
		n = snprintf(num, sizeof(num), "%1.17g", d);
	ht_lb_raw(lb, num, (size_t)n);
}

#define JSON_MAX_DEPTH 64

/* A cJSON tree, printed as cJSON_PrintUnformatted prints it, without its buffer growth. */
void ht_lb_json(struct line_buf *lb, const cJSON *item, int depth)
{
	const cJSON *child;

	if (depth > JSON_MAX_DEPTH) {
		char *text = cJSON_PrintUnformatted(item);

		if (!text) {
			lb->failed = true;
			return;
		}
		ht_lb_raw(lb, text, strlen(text));
		cJSON_free(text);
		return;
	}
	switch (item->type & 0xff) {
	case cJSON_False:
		ht_lb_raw(lb, "false", 5);
		break;
	case cJSON_True:
		ht_lb_raw(lb, "true", 4);
		break;
	case cJSON_NULL:
		ht_lb_raw(lb, "null", 4);
		break;
	case cJSON_Number:
		lb_number(lb, item->valuedouble);
		break;
	case cJSON_Raw:
		if (item->valuestring)
			ht_lb_raw(lb, item->valuestring, strlen(item->valuestring));
		else
			lb->failed = true; /* cJSON refuses to print a Raw without text */
		break;
	case cJSON_String:
		ht_lb_string(lb, item->valuestring ? item->valuestring : "");
		break;
	case cJSON_Array:
	case cJSON_Object: {
		bool object = (item->type & 0xff) == cJSON_Object;

		ht_lb_raw(lb, object ? "{" : "[", 1);
		for (child = item->child; child; child = child->next) {
			if (object) {
				ht_lb_string(lb, child->string ? child->string : "");
				ht_lb_raw(lb, ":", 1);
			}
			ht_lb_json(lb, child, depth + 1);
			if (child->next)
				ht_lb_raw(lb, ",", 1);
		}
		ht_lb_raw(lb, object ? "}" : "]", 1);
		break;
	}
	default:
		lb->failed = true;
		break;
	}
}

/* ,"key":"value" (the first field has no leading comma) */
void ht_lb_field(struct line_buf *lb, const char *key, const char *value)
{
	ht_lb_raw(lb, lb->len > 1 ? ",\"" : "\"", lb->len > 1 ? 2 : 1);
	ht_lb_raw(lb, key, strlen(key));
	ht_lb_raw(lb, "\":", 2);
	ht_lb_string(lb, value);
}

void ht_lb_bytes_field(struct line_buf *lb, const char *key, const char *bytes, size_t max)
{
	char safe[3 * 256 + 1] = ""; /* all of it: the analyzer cannot follow the sanitizer */

	ht_utf8_sanitize(bytes, max < 256 ? max : 256, safe, sizeof(safe));
	ht_lb_field(lb, key, safe);
}
