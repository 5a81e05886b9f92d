// SPDX-License-Identifier: GPL-2.0
/*
 * ht_snprintf: snprintf for the conversions event text uses, without glibc's stdio machinery
 * (at 200k RAS events/s, vsnprintf was a fifth of huatuo-ras's CPU). Handles %s %c %d %i %u
 * %x %X %%, the flags '-' and '0', a decimal width and the hh/h/l/ll/z/j/t length modifiers.
 * A format with anything else (precision, '*', %p, %f...) is handed to vsnprintf whole, so
 * the output is always what snprintf would write; the return value is snprintf's as well.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "huatuo.h"

struct out {
	char *buf;
	size_t size, len; /* len counts what snprintf would write, beyond size too */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - 1 - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void pad(struct out *o, char c, size_t n)
{
	char chunk[32];

	memset(chunk, c, sizeof(chunk));
	for (; n > sizeof(chunk); n -= sizeof(chunk))
		put(o, chunk, sizeof(chunk));
	put(o, chunk, n);
}

/* @s of @n bytes in a field of @width: right-aligned unless @left, '0' pads after a sign */
static void field(struct out *o, const char *s, size_t n, size_t width, bool left, bool zero)
{
	size_t fill = width > n ? width - n : 0;

	if (left) {
		put(o, s, n);
		pad(o, ' ', fill);
		return;
	}
	if (zero && fill && n && *s == '-') {
		put(o, s, 1);
		pad(o, '0', fill);
		put(o, s + 1, n - 1);
		return;
	}
	pad(o, zero ? '0' : ' ', fill);
	put(o, s, n);
}

int ht_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };
	const char *p = fmt;
	va_list whole;
	int n;

	va_copy(whole, ap); /* for vsnprintf, should a conversion not be ours */
	while (*p) {
		const char *pct = strchr(p, '%');
		char num[24], *end = num + sizeof(num), *d;
		bool left = false, zero = false, neg = false;
		int longs = 0, shorts = 0;
		size_t width = 0;
		uint64_t v;

		if (!pct) {
			put(&o, p, strlen(p));
			break;
		}
		put(&o, p, (size_t)(pct - p));
		p = pct + 1;
		for (;; p++) {
			if (*p == '-')
				left = true;
			else if (*p == '0')
				zero = true;
			else
				break;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (size_t)(*p++ - '0');
		for (;; p++) {
			if (*p == 'l')
				longs++;
			else if (*p == 'h')
				shorts++;
			else if (*p == 'z' || *p == 'j' || *p == 't')
				longs = 2; /* size_t, intmax_t, ptrdiff_t: 64 bits here */
			else
				break;
		}
		switch (*p++) {
		case '%':
			put(&o, "%", 1);
			continue;
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (!s)
				s = "(null)";
			field(&o, s, strlen(s), width, left, false);
			continue;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			field(&o, num, 1, width, left, false);
			continue;
		case 'd':
		case 'i': {
			int64_t s = longs ? va_arg(ap, long long) : va_arg(ap, int);

			if (shorts)
				s = shorts > 1 ? (signed char)s : (short)s;
			neg = s < 0;
			v = neg ? 0 - (uint64_t)s : (uint64_t)s;
			d = end;
			do
				*--d = (char)('0' + v % 10);
			while (v /= 10);
			if (neg)
				*--d = '-';
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			const char *digits = p[-1] == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
			unsigned int base = p[-1] == 'u' ? 10 : 16;

			v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			if (shorts)
				v = shorts > 1 ? (unsigned char)v : (unsigned short)v;
			d = end;
			do
				*--d = digits[v % base];
			while (v /= base);
			break;
		}
		default: /* precision, '*', %p, %f...: all of it to vsnprintf */
			n = vsnprintf(buf, size, fmt, whole);
			va_end(whole);
			return n;
		}
		field(&o, d, (size_t)(end - d), width, left, zero && !left);
	}
	va_end(whole);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? -1 : (int)o.len;
}

int ht_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = ht_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

size_t ht_fmt_hex(uint64_t v, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[len++] = '0';
	buf[len++] = 'x';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}
